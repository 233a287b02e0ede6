import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Dialect, StreamMeter } from "../dialects/dialect.ts";
import { errorFamilyOf } from "../dialects/dialect.ts";
import { renderError } from "../dialects/errors.ts";
import { createStreamMeter, meterBody } from "../dialects/meters.ts";
import type { RenderableError } from "../dialects/shared/error-shape.ts";
import { SseFramer } from "../dialects/shared/sse-framer.ts";
import { type ErrorKind, GatewayError } from "../errors/catalog.ts";
import { streamCutError } from "../governance/budget-gate.ts";
import { holdsMarker, restoreLongStrings, type SetAside, setAsideLongStrings } from "../json/long-strings.ts";
import { totalInputTokens } from "../metering/usage.ts";
import { upstreamErrorSummary, upstreamFailure } from "../passthrough/upstream-errors.ts";
import type { Operation } from "../providers/endpoints.ts";
import type { CanonicalStreamEvent, ChatDialect, JsonObject, SseEvent, StreamMapper } from "../translate/canonical.ts";
import { clientTranslatorFor, type DialectTranslator, TranslationError, translatorFor } from "../translate/index.ts";
import { bytesOfView, hasByteEscape, isByteView, textOfView } from "./byte-view.ts";
import type { CallState } from "./call-state.ts";
import { formatUsd } from "./money.ts";
import type { Relay } from "./relay-body.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { applyUsage, failBeforeUpstream, finish, settleClientGone, settleStream } from "./settle.ts";

/** A request translated from the client's dialect into the provider's, ready to send. */
export interface TranslationPlan {
  client: DialectTranslator;
  target: DialectTranslator;
  /** The upstream body, serialised. */
  body: Buffer;
  stream: boolean;
  /** Upstream operation and query string in the target dialect. */
  op: Operation;
  search: string;
  /** The model name the client used (echoed in responses). */
  clientModel: string;
  /** A Chat Completions client asked for the final usage chunk. */
  includeUsage: boolean;
  warnings: string[];
  /** How the body was read: long strings set aside (json/long-strings.ts), all parsed as bytes, or as UTF-8. */
  readAs: "set-aside" | "byte-view" | "utf8";
  /** The id the client's reply carries instead of one derived from the provider's (a stored Responses reply). */
  responseId?: string;
  /** Called with the Response object a Responses client received, when the call succeeded (the response store). */
  keep?: (response: JsonObject) => void;
}

/**
 * Plans a translated call: the client's body → canonical → the target dialect's body. The body is parsed here, its
 * long text set aside and put back as bytes (json/long-strings.ts); `maxOutputTokens` is the budget's lowered cap, when admission set one. Throws a 400
 * GatewayError (TG_TRANSLATION / TG_INVALID_JSON) the client sees in its own dialect.
 */
export function planTranslation(input: {
  clientDialect: ChatDialect;
  targetDialect: ChatDialect;
  raw: Buffer;
  clientModel: string;
  upstreamModel: string;
  stream: boolean;
  maxOutputTokens: number | null;
  /** The provider's name (compatible servers' quirks). */
  provider: string;
  /** The gateway keeps the Responses state (pipeline/stored-responses.ts): `store` is honoured, not warned about. */
  serverState?: boolean;
  /** Parse every string instead of setting long ones aside (json/long-strings.ts): for tests comparing the two. */
  parseAllStrings?: boolean;
}): TranslationPlan {
  // Fast path: the body as one-byte text (byte-view.ts) with its long text set aside (long-strings.ts); then the
  // whole view parsed; UTF-8 when the view cannot carry the body exactly.
  if (!hasByteEscape(input.raw)) {
    const aside = input.parseAllStrings === true ? null : setAsideLongStrings(input.raw);
    const plan = aside === null ? null : translateSetAside(input, aside);
    if (plan !== null) return plan;
    const parsed = translate(input, input.raw.toString("latin1"), true);
    if (parsed !== null) return parsed;
  }
  return translate(input, input.raw.toString("utf8"), false) as TranslationPlan;
}

/** The translation of the body with its long strings set aside, or null when any step needs the parsed strings. */
function translateSetAside(input: Parameters<typeof planTranslation>[0], aside: SetAside): TranslationPlan | null {
  try {
    const plan = translate(input, aside.text, true, (serialised) => restoreLongStrings(serialised, input.raw, aside));
    return plan !== null && !plan.warnings.some(holdsMarker) ? plan : null;
  } catch {
    return null; // the parsed body gives the exact error
  }
}

function translate(
  input: Parameters<typeof planTranslation>[0],
  text: string,
  byteViewed: boolean,
  restore?: (serialised: string) => Buffer | null,
): TranslationPlan | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new GatewayError("TG_INVALID_JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  const client = clientTranslatorFor(input.clientDialect, json);
  const target = translatorFor(input.targetDialect);
  try {
    const canonical = client.requestToCanonical(input.serverState === true ? withoutStore(json) : json);
    const request = canonical.value;
    request.model = input.upstreamModel;
    request.stream = input.stream;
    if (input.maxOutputTokens !== null) {
      request.maxOutputTokens = Math.min(request.maxOutputTokens ?? input.maxOutputTokens, input.maxOutputTokens);
    }
    const upstream = target.canonicalToRequest(request, { provider: input.provider });
    const serialised = JSON.stringify(upstream.value);
    const body = byteViewed ? bytesOfSerialisedView(serialised, restore) : Buffer.from(serialised);
    if (body === null) return null;
    const warnings = [...canonical.warnings, ...upstream.warnings];
    return {
      client,
      target,
      body,
      stream: input.stream,
      op: upstreamOperation(input.targetDialect, input.stream),
      search: input.targetDialect === "gemini" && input.stream ? "?alt=sse" : "",
      clientModel: input.clientModel,
      includeUsage: asksUsage(json),
      warnings: byteViewed ? warnings.map(textOfView) : warnings,
      readAs: restore !== undefined ? "set-aside" : byteViewed ? "byte-view" : "utf8",
    };
  } catch (err) {
    if (err instanceof TranslationError) {
      throw new GatewayError("TG_TRANSLATION", byteViewed ? textOfView(err.message) : err.message);
    }
    throw err;
  }
}

/** Byte-view JSON as bytes, its set-aside strings put back; null when it cannot be written exactly. */
function bytesOfSerialisedView(serialised: string, restore?: (serialised: string) => Buffer | null): Buffer | null {
  if (restore === undefined) return bytesOfView(serialised);
  return isByteView(serialised) ? restore(serialised) : null;
}

function withoutStore(json: unknown): unknown {
  if (typeof json !== "object" || json === null || Array.isArray(json) || !("store" in json)) return json;
  const { store: _, ...rest } = json as Record<string, unknown>;
  return rest;
}

function asksUsage(json: unknown): boolean {
  if (typeof json !== "object" || json === null) return false;
  const options = (json as { stream_options?: unknown }).stream_options;
  return (
    typeof options === "object" && options !== null && (options as { include_usage?: unknown }).include_usage === true
  );
}

function upstreamOperation(dialect: ChatDialect, stream: boolean): Operation {
  switch (dialect) {
    case "anthropic":
      return "messages";
    case "openai-chat":
      return "chat";
    case "openai-responses":
      return "responses";
    case "gemini":
      return stream ? "streamGenerateContent" : "generateContent";
    case "bedrock-converse":
      return stream ? "converse-stream" : "converse";
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

/** Headers for the upstream request in the target dialect: the client's own headers belong to its dialect. */
export function translatedRequestHeaders(
  target: ChatDialect,
  stream: boolean,
  providerHeaders: Readonly<Record<string, string>>,
  auth: Record<string, string>,
  userAgent: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream
      ? target === "bedrock-converse"
        ? "application/vnd.amazon.eventstream"
        : "text/event-stream"
      : "application/json",
  };
  if (target === "anthropic") headers["anthropic-version"] = "2023-06-01";
  if (userAgent) headers["user-agent"] = userAgent;
  return { ...headers, ...providerHeaders, ...auth };
}

/** An upstream error reply, in the client's dialect, keeping its status. */
export function upstreamErrorFor(status: number, body: Buffer, provider: string): RenderableError {
  const summary = upstreamErrorSummary(status, body);
  return {
    code: summary.code,
    kind: kindOfStatus(status),
    status,
    message: `${provider}: ${summary.message}`,
    headers: {},
  };
}

function kindOfStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return "invalid_request";
  if (status === 401) return "authentication";
  if (status === 402) return "budget_exhausted";
  if (status === 403) return "permission";
  if (status === 404) return "not_found";
  if (status === 413) return "payload_too_large";
  if (status === 429) return "rate_limited";
  if (status === 503 || status === 529) return "upstream_unavailable";
  if (status === 504) return "upstream_timeout";
  return "upstream_error";
}

/**
 * A whole (non-streamed) translated reply, or any upstream error reply: collected, metered in the provider's
 * dialect (exact usage), translated to the client's dialect and sent.
 */
export class TranslatedBodyRelay implements Relay {
  readonly #chunks: Buffer[] = [];
  readonly rt: GatewayRuntime;
  readonly state: CallState;
  readonly plan: TranslationPlan;
  readonly res: ServerResponse;
  readonly upstream: { status: number; headers: IncomingHttpHeaders };
  readonly requestBytes: number;

  constructor(
    rt: GatewayRuntime,
    state: CallState,
    plan: TranslationPlan,
    res: ServerResponse,
    upstream: { status: number; headers: IncomingHttpHeaders },
    requestBytes: number,
  ) {
    this.rt = rt;
    this.state = state;
    this.plan = plan;
    this.res = res;
    this.upstream = upstream;
    this.requestBytes = requestBytes;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onEnd(): void {
    const { rt, state, plan, res } = this;
    const buf = Buffer.concat(this.#chunks);
    const record = state.record;
    const provider = record.provider ?? "upstream";
    if (this.upstream.status >= 300) {
      const err = upstreamErrorFor(this.upstream.status, buf, provider);
      record.status = err.status;
      record.errorCode = err.code;
      record.errorMessage = err.message;
      sendJson(res, renderError(errorFamilyOf(plan.client.dialect), err), record.id);
      finish(rt, state);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(buf.toString("utf8"));
    } catch {
      failBeforeUpstream(
        rt,
        state,
        res,
        new GatewayError("TG_UPSTREAM_BAD_RESPONSE", `${provider} answered with a body that is not JSON.`),
      );
      return;
    }
    const metering = meterBody(plan.target.dialect, body);
    applyUsage(rt, state, metering.usage, metering.servedModel, metering.estimated);
    let out: string;
    let reply: JsonObject;
    try {
      const canonical = plan.target.responseToCanonical(body);
      if (plan.responseId !== undefined) canonical.id = plan.responseId;
      else if (canonical.id === "") canonical.id = replyIdFor(plan.client.dialect, state.record.id);
      reply = plan.client.canonicalToResponse(canonical, plan.clientModel);
      out = JSON.stringify(reply);
    } catch (err) {
      failBeforeUpstream(
        rt,
        state,
        res,
        new GatewayError(
          "TG_UPSTREAM_BAD_RESPONSE",
          `${provider}'s answer could not be translated: ${(err as Error).message}`,
        ),
      );
      return;
    }
    record.status = 200;
    if (!res.destroyed) {
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(out),
        "x-tollgate-request-id": record.id,
        "x-tollgate-cost-usd": record.costNanoUsd === null ? "unknown" : formatUsd(record.costNanoUsd),
      });
      res.end(out);
    }
    finish(rt, state);
    if (!res.destroyed) plan.keep?.(reply);
  }

  onError(err: Error): void {
    failBeforeUpstream(this.rt, this.state, this.res, upstreamFailure(err, this.state.record.provider ?? "upstream"));
  }

  clientGone(): void {
    settleClientGone(this.rt, this.state, this.requestBytes);
  }
}

function sendJson(
  res: ServerResponse,
  out: { status: number; headers: Record<string, string>; body: string },
  id: string,
) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(out.status, {
    ...out.headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(out.body),
    "x-tollgate-request-id": id,
  });
  res.end(out.body);
}

/**
 * A translated stream: upstream SSE events → the provider dialect's reducer → canonical events → the client
 * dialect's reducer → SSE text. The provider's own meter watches the upstream bytes (exact usage, and the budget
 * hold's progress); a budget cut becomes a canonical error event, rendered in the client's dialect.
 */
export class TranslatedStreamRelay implements Relay {
  readonly #meter: StreamMeter;
  readonly #framer: SseFramer;
  readonly #fromUpstream: StreamMapper<unknown, SseEvent, CanonicalStreamEvent>;
  readonly #toClient: StreamMapper<unknown, CanonicalStreamEvent, string>;
  readonly rt: GatewayRuntime;
  readonly state: CallState;
  readonly plan: TranslationPlan;
  readonly res: ServerResponse;
  readonly options: { requestBytes: number; resume: () => void; stop: () => void };
  #upstreamState: unknown;
  #clientState: unknown;
  #out: string[] = [];
  #ended = false;
  /** The terminal Responses event's text (`response.completed` / `.incomplete`), kept for the response store. */
  #terminal: string | null = null;

  constructor(
    rt: GatewayRuntime,
    state: CallState,
    plan: TranslationPlan,
    res: ServerResponse,
    options: { requestBytes: number; resume: () => void; stop: () => void },
  ) {
    this.rt = rt;
    this.state = state;
    this.plan = plan;
    this.res = res;
    this.options = options;
    this.#meter = createStreamMeter(plan.target.dialect as Dialect);
    this.#fromUpstream = plan.target.streamToCanonical();
    this.#toClient = plan.client.canonicalToStream(plan.clientModel, { includeUsage: plan.includeUsage });
    this.#upstreamState = this.#fromUpstream.initial();
    this.#clientState = this.#toClient.initial();
    this.#framer = new SseFramer((event, data) => this.#onUpstreamEvent(event, data));
    state.record.status = 200;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-tollgate-request-id": state.record.id,
    });
    res.flushHeaders();
  }

  onData(chunk: Buffer): boolean {
    if (this.#ended) return true;
    this.#meter.push(chunk);
    const m = this.#meter.result();
    if (this.state.record.ttftMs === null && m.contentStarted) {
      this.state.record.ttftMs = Math.round(performance.now() - this.state.t0);
    }
    const hold = this.state.hold;
    if (hold !== null && hold.progress(m.usage, totalInputTokens(m.usage) > 0, m.estimated) === "cut") {
      this.options.stop();
      const err = streamCutError(hold, this.rt.clock.now());
      this.#emitClient({ type: "error", error: { type: "billing_error", message: err.message } });
      this.#flush();
      this.#settle(err, false);
      return true;
    }
    this.#framer.push(chunk);
    return this.#flush();
  }

  onEnd(): void {
    if (this.#ended) return;
    this.#meter.end();
    this.#framer.end();
    for (const event of this.#fromUpstream.finish(this.#upstreamState)) this.#emitClient(event);
    for (const text of this.#toClient.finish(this.#clientState)) this.#out.push(text);
    this.#flush();
    this.#settle(null, false);
  }

  onError(err: Error): void {
    if (this.#ended) return;
    const failure = upstreamFailure(err, this.state.record.provider ?? "upstream");
    this.#emitClient({ type: "error", error: { type: failure.kind, message: failure.message } });
    for (const text of this.#toClient.finish(this.#clientState)) this.#out.push(text);
    this.#flush();
    this.#settle(failure, false);
  }

  clientGone(): void {
    this.#settle(null, true);
  }

  #onUpstreamEvent(event: string | undefined, data: string): void {
    const step = this.#fromUpstream.step(this.#upstreamState, { event, data });
    this.#upstreamState = step.state;
    for (const e of step.out) this.#emitClient(e);
  }

  #emitClient(event: CanonicalStreamEvent): void {
    let start = event;
    if (event.type === "start") {
      const id =
        this.plan.responseId ?? (event.id === "" ? replyIdFor(this.plan.client.dialect, this.state.record.id) : null);
      if (id !== null) start = { ...event, id };
    }
    const step = this.#toClient.step(this.#clientState, start);
    this.#clientState = step.state;
    for (const text of step.out) this.#out.push(text);
    if (this.plan.keep !== undefined) {
      for (const text of step.out) {
        if (text.startsWith("event: response.completed\n") || text.startsWith("event: response.incomplete\n"))
          this.#terminal = text;
      }
    }
  }

  #flush(): boolean {
    if (this.#out.length === 0 || this.res.destroyed) return true;
    const text = this.#out.join("");
    this.#out = [];
    if (this.res.write(text)) return true;
    this.res.once("drain", this.options.resume);
    return false;
  }

  #settle(failure: { code: string; message: string } | null, clientGone: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    settleStream(this.rt, this.state, this.#meter.result(), {
      failure,
      clientGone,
      requestBytes: this.options.requestBytes,
    });
    if (!this.res.destroyed) this.res.end();
    finish(this.rt, this.state);
    const terminal = this.#terminal;
    const record = this.state.record;
    if (terminal !== null && failure === null && !clientGone && record.status === 200 && record.errorCode === null) {
      this.#keepTerminal(terminal);
    }
  }

  #keepTerminal(text: string): void {
    const data = text.indexOf("\ndata: ");
    try {
      const event = JSON.parse(text.slice(data + 7)) as { response?: JsonObject };
      if (event.response !== undefined) this.plan.keep?.(event.response);
    } catch (err) {
      this.rt.warn(`response store: the stream's final event could not be read: ${(err as Error).message}`);
    }
  }
}

/**
 * The reply id when the provider gives none (Bedrock Converse): derived from the gateway's request id, so it is unique
 * and leads to the log row, and shaped like the client dialect's own ids.
 */
export function replyIdFor(dialect: ChatDialect, requestId: string): string {
  const hex = requestId.replaceAll("-", "");
  switch (dialect) {
    case "anthropic":
      return `msg_${hex}`;
    case "openai-chat":
      return `chatcmpl-${hex}`;
    case "openai-responses":
      return `resp_${hex}`;
    default:
      return hex;
  }
}
