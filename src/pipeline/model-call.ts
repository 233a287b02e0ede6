import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { FastifyReply, FastifyRequest } from "fastify";
import { request } from "undici";
import { detectAgent } from "../attribution/agent.ts";
import { extractLabels } from "../attribution/labels.ts";
import { attributeSession } from "../attribution/session.ts";
import { type BodyMetering, type Dialect, errorFamilyOf } from "../dialects/dialect.ts";
import { renderError, renderStreamError } from "../dialects/errors.ts";
import { createStreamMeter, meterBody } from "../dialects/meters.ts";
import { GatewayError } from "../errors/catalog.ts";
import { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
import { emptyUsage, totalInputTokens, type Usage } from "../metering/usage.ts";
import { clientCredential, clientResponseHeaders, upstreamRequestHeaders } from "../passthrough/headers.ts";
import { upstreamErrorSummary, upstreamFailure } from "../passthrough/upstream-errors.ts";
import { UsageChunkFilter } from "../passthrough/usage-chunk-filter.ts";
import { authHeaders, upstreamUrl } from "../providers/endpoints.ts";
import type { Resolution } from "../providers/registry.ts";
import { uuidv7 } from "../store/ids.ts";
import type { RequestLogRecord } from "../store/log-record.ts";
import { type ParsedCall, parseModelCall, type RouteSpec } from "./ingress.ts";
import { formatUsd } from "./money.ts";
import { prepareBody } from "./prepare-body.ts";
import type { GatewayRuntime } from "./runtime.ts";

/** Per-request state threaded through the pipeline; becomes the log row at the end. */
interface CallState {
  record: RequestLogRecord;
  t0: number;
  provider: Resolution["provider"] | null;
  upstreamModel: string | null;
}

/** Handles one model call end to end: ingress → resolve → dispatch (passthrough) → stream/meter → settle. */
export async function handleModelCall(
  rt: GatewayRuntime,
  spec: RouteSpec,
  req: FastifyRequest,
  reply: FastifyReply,
  pathModel: string | null,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const state = newCallState(rt, spec, req);
  let parsed: ParsedCall;
  let resolution: Resolution;
  try {
    parsed = parseModelCall(spec, req.body as Buffer, pathModel);
    state.record.requestedModel = parsed.model;
    state.record.stream = parsed.stream;
    Object.assign(state.record, attributeSession(req.headers, parsed.fields));
    resolution = rt.registry.resolve(parsed.model, spec.dialect);
    state.provider = resolution.provider;
    state.upstreamModel = resolution.upstreamModel;
    state.record.provider = resolution.provider.name;
  } catch (err) {
    return failBeforeUpstream(rt, state, res, err);
  }

  const { provider } = resolution;
  const key = rt.registry.nextKey(provider);
  let auth: Record<string, string>;
  if (key) {
    auth = authHeaders(provider, key.secret);
    state.record.providerKeyId = key.id;
  } else {
    const own = clientCredential(req.headers);
    if (!own && !provider.keyOptional) {
      return failBeforeUpstream(
        rt,
        state,
        res,
        new GatewayError("TG_NO_PROVIDER_KEY", `Provider "${provider.name}" has no API key configured.`),
      );
    }
    auth = own ?? {};
    state.record.providerKeyId = own ? "client" : null;
  }

  const body = prepareBody(spec, req.body as Buffer, parsed, resolution.upstreamModel);
  const url = upstreamUrl(
    provider,
    spec.op,
    resolution.upstreamModel,
    upstreamSearch(req.url, spec.dialect),
    spec.apiVersion,
  );
  const abort = new AbortController();
  const onClientClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once("close", onClientClose);

  let upstream: Awaited<ReturnType<typeof request>>;
  try {
    upstream = await request(url, {
      method: "POST",
      headers: upstreamRequestHeaders(req.headers, provider.headers, auth),
      body: body.bytes,
      dispatcher: rt.upstream,
      signal: abort.signal,
    });
  } catch (err) {
    if (abort.signal.aborted) return settleClientGone(rt, state, req.body as Buffer);
    return failBeforeUpstream(rt, state, res, upstreamFailure(err, provider.name));
  }

  // Gemini's `:streamGenerateContent` without `?alt=sse` answers one JSON array: metered whole, like a body.
  const streamed =
    parsed.stream && upstream.statusCode < 300 && (spec.dialect !== "gemini" || isEventStream(upstream.headers));
  if (streamed) {
    return streamResponse(rt, state, spec.dialect, req.body as Buffer, upstream, res, abort, body.injectedUsage);
  }
  return bodyResponse(rt, state, spec, req.body as Buffer, upstream, res, abort);
}

function newCallState(rt: GatewayRuntime, spec: RouteSpec, req: FastifyRequest): CallState {
  const agent = detectAgent(req.headers, req.url);
  const ua = req.headers["user-agent"];
  const record: RequestLogRecord = {
    id: uuidv7(rt.clock),
    startedAt: rt.clock.now(),
    dialect: spec.dialect,
    endpoint: req.url.split("?", 1)[0] ?? req.url,
    stream: false,
    provider: null,
    providerKeyId: null,
    requestedModel: null,
    servedModel: null,
    status: 0,
    errorCode: null,
    errorMessage: null,
    latencyMs: 0,
    ttftMs: null,
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    costNanoUsd: null,
    priceVersion: null,
    usageEstimated: false,
    sessionId: null,
    agent: agent.name,
    agentVersion: agent.version,
    agentId: null,
    parentAgentId: null,
    turnId: null,
    workspace: null,
    labels: extractLabels(req.headers, rt.config.labels),
    clientIp: req.ip ?? null,
    userAgent: typeof ua === "string" ? ua.slice(0, 300) : null,
    virtualKeyId: null,
  };
  return { record, t0: performance.now(), provider: null, upstreamModel: null };
}

/** The client's query string for the upstream: kept (Anthropic `?beta=true`, Gemini `?alt=sse`) minus credentials. */
function upstreamSearch(url: string, dialect: Dialect): string {
  const q = url.indexOf("?");
  if (q < 0) return "";
  const params = new URLSearchParams(url.slice(q + 1));
  params.delete("key");
  if (dialect !== "gemini" && dialect !== "anthropic") return "";
  const s = params.toString();
  return s ? `?${s}` : "";
}

function isEventStream(headers: Record<string, string | string[] | undefined>): boolean {
  const ct = headers["content-type"];
  return typeof ct === "string" && ct.includes("text/event-stream");
}

function decodedBody(upstream: { body: Readable; headers: Record<string, string | string[] | undefined> }): Readable {
  const enc = upstream.headers["content-encoding"];
  switch (typeof enc === "string" ? enc.trim().toLowerCase() : "") {
    case "gzip":
    case "x-gzip":
      return upstream.body.pipe(createGunzip());
    case "deflate":
      return upstream.body.pipe(createInflate());
    case "br":
      return upstream.body.pipe(createBrotliDecompress());
    default:
      return upstream.body;
  }
}

async function bodyResponse(
  rt: GatewayRuntime,
  state: CallState,
  spec: RouteSpec,
  requestBody: Buffer,
  upstream: Awaited<ReturnType<typeof request>>,
  res: ServerResponse,
  abort: AbortController,
): Promise<void> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of decodedBody(upstream)) chunks.push(chunk as Buffer);
  } catch (err) {
    if (abort.signal.aborted) return settleClientGone(rt, state, requestBody);
    return failBeforeUpstream(rt, state, res, upstreamFailure(err, state.record.provider ?? "upstream"));
  }
  const buf = Buffer.concat(chunks);
  const status = upstream.statusCode;
  let metering: BodyMetering = { usage: emptyUsage(), servedModel: null, estimated: false };
  if (status < 300) {
    if (isCountOperation(spec)) {
      metering = { usage: emptyUsage(), servedModel: null, estimated: false };
    } else {
      try {
        metering = meterBody(spec.dialect, JSON.parse(buf.toString("utf8")));
      } catch {
        state.record.errorCode = "TG_UPSTREAM_BAD_RESPONSE";
        state.record.errorMessage = "The upstream's success response was not valid JSON; usage unknown.";
      }
    }
  } else {
    const summary = upstreamErrorSummary(status, buf);
    state.record.errorCode = summary.code;
    state.record.errorMessage = summary.message;
  }
  applyUsage(rt, state, metering.usage, metering.servedModel, metering.estimated);
  const headers = clientResponseHeaders(upstream.headers);
  headers["content-length"] = buf.length;
  headers["x-tollgate-request-id"] = state.record.id;
  headers["x-tollgate-cost-usd"] = state.record.costNanoUsd === null ? "unknown" : formatUsd(state.record.costNanoUsd);
  state.record.status = status;
  if (!res.destroyed) {
    res.writeHead(status, headers);
    res.end(buf);
  }
  finish(rt, state);
}

async function streamResponse(
  rt: GatewayRuntime,
  state: CallState,
  dialect: Dialect,
  requestBody: Buffer,
  upstream: Awaited<ReturnType<typeof request>>,
  res: ServerResponse,
  abort: AbortController,
  injectedUsage: boolean,
): Promise<void> {
  const meter = createStreamMeter(dialect);
  const filter = injectedUsage ? new UsageChunkFilter() : null;
  const headers = clientResponseHeaders(upstream.headers);
  headers["x-tollgate-request-id"] = state.record.id;
  state.record.status = upstream.statusCode;
  res.writeHead(upstream.statusCode, headers);
  res.flushHeaders();
  let failure: GatewayError | null = null;
  try {
    for await (const chunk of decodedBody(upstream)) {
      const bytes = chunk as Buffer;
      meter.push(bytes);
      if (state.record.ttftMs === null && meter.result().contentStarted) {
        state.record.ttftMs = Math.round(performance.now() - state.t0);
      }
      const out = filter ? filter.push(bytes) : bytes;
      if (out.length > 0 && !res.write(out)) await drained(res);
    }
    if (filter) {
      const rest = filter.end();
      if (rest.length > 0) res.write(rest);
    }
  } catch (err) {
    if (!abort.signal.aborted) failure = upstreamFailure(err, state.record.provider ?? "upstream");
  }
  meter.end();
  const m = meter.result();
  if (abort.signal.aborted) {
    state.record.errorCode = "TG_CLIENT_CLOSED";
    state.record.errorMessage = "The client disconnected before the stream ended; the upstream call was aborted.";
  } else if (failure) {
    state.record.errorCode = failure.code;
    state.record.errorMessage = failure.message;
    if (!res.destroyed) res.write(renderStreamError(errorFamilyOf(dialect), failure));
  } else if (m.error) {
    state.record.errorCode = m.error.type;
    state.record.errorMessage = m.error.message;
  } else if (!m.finished) {
    state.record.errorCode = "TG_UPSTREAM_STREAM_INCOMPLETE";
    state.record.errorMessage = "The upstream stream ended before its final event.";
  }
  const usage = { ...m.usage };
  const estimated = m.estimated || !m.finished;
  if (estimated && totalInputTokens(usage) === 0) usage.input = estimateInputTokensFromRequestBytes(requestBody.length);
  applyUsage(rt, state, usage, m.servedModel, estimated);
  if (!res.destroyed) res.end();
  finish(rt, state);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function isCountOperation(spec: RouteSpec): boolean {
  return spec.op === "count_tokens" || spec.op === "countTokens";
}

/** Usage and cost onto the record. Unknown price stays null (never $0) and is surfaced as a warning. */
function applyUsage(
  rt: GatewayRuntime,
  state: CallState,
  usage: Usage,
  servedModel: string | null,
  estimated: boolean,
): void {
  const r = state.record;
  r.servedModel = servedModel ?? state.upstreamModel;
  r.inputTokens = usage.input;
  r.cacheReadTokens = usage.cacheRead;
  r.cacheWrite5mTokens = usage.cacheWrite5m;
  r.cacheWrite1hTokens = usage.cacheWrite1h;
  r.outputTokens = usage.output;
  r.reasoningTokens = usage.reasoning;
  r.usageEstimated = estimated;
  const provider = state.provider;
  if (!provider) return;
  const model = r.servedModel ?? r.requestedModel ?? "";
  const quote = rt.prices.cost(provider.pricingId ?? provider.name, model, usage);
  r.costNanoUsd = quote.costNanoUsd;
  r.priceVersion = quote.priceVersion;
  for (const w of quote.warnings) rt.warn(w);
}

/** The client left before the upstream answered (or mid-body): nothing to send; log what is known. */
function settleClientGone(rt: GatewayRuntime, state: CallState, requestBody: Buffer): void {
  state.record.status = 499;
  state.record.errorCode = "TG_CLIENT_CLOSED";
  state.record.errorMessage = "The client disconnected before the response; the upstream call was aborted.";
  // The provider may have billed the prompt already: estimate it rather than record nothing.
  const usage = emptyUsage();
  usage.input = estimateInputTokensFromRequestBytes(requestBody.length);
  applyUsage(rt, state, usage, null, true);
  finish(rt, state);
}

/** Answers a model call with an error found before the pipeline ran (body too large, bad route …); logs a row. */
export async function rejectModelCall(
  rt: GatewayRuntime,
  spec: RouteSpec,
  req: FastifyRequest,
  reply: FastifyReply,
  err: GatewayError,
): Promise<void> {
  reply.hijack();
  failBeforeUpstream(rt, newCallState(rt, spec, req), reply.raw, err);
}

/** An error Tollgate answers itself, in the client's dialect, with a log row. */
function failBeforeUpstream(rt: GatewayRuntime, state: CallState, res: ServerResponse, err: unknown): void {
  const gerr = err instanceof GatewayError ? err : new GatewayError("TG_INTERNAL", "Internal error.");
  if (!(err instanceof GatewayError)) rt.warn(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  const out = renderError(errorFamilyOf(state.record.dialect), gerr);
  state.record.status = out.status;
  state.record.errorCode = gerr.code;
  state.record.errorMessage = gerr.message;
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(out.status, {
      ...out.headers,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(out.body),
      "x-tollgate-request-id": state.record.id,
    });
    res.end(out.body);
  } else if (!res.destroyed) {
    res.end();
  }
  finish(rt, state);
}

function finish(rt: GatewayRuntime, state: CallState): void {
  state.record.latencyMs = Math.round(performance.now() - state.t0);
  rt.logs.write(state.record);
}
