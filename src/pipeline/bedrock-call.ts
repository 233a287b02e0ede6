import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { errorFamilyOf } from "../dialects/dialect.ts";
import { renderError } from "../dialects/errors.ts";
import { isObject, stringAt, tryParseJson } from "../dialects/shared/narrow.ts";
import { type ErrorKind, GatewayError } from "../errors/catalog.ts";
import { upstreamRequestHeaders } from "../passthrough/headers.ts";
import { upstreamFailure } from "../passthrough/upstream-errors.ts";
import { isAnthropicBedrockModel } from "../providers/bedrock/models.ts";
import { bedrockRegion } from "../providers/bedrock/settings.ts";
import { parseAwsKey, signAwsRequest } from "../providers/bedrock/sigv4.ts";
import { EventStreamBridge, type EventStreamMode, sseHeaders } from "../providers/bedrock/stream-bridge.ts";
import { authHeaders, type Operation, upstreamUrl } from "../providers/endpoints.ts";
import type { Resolution } from "../providers/registry.ts";
import { isChatDialect } from "../translate/index.ts";
import type { CallState } from "./call-state.ts";
import { DONE, type ExchangeControls, type ExchangeOutcome, type UpstreamCall } from "./exchange.ts";
import type { ParsedCall, RouteSpec } from "./ingress.ts";
import { capOutputTokens } from "./output-cap.ts";
import { BodyRelay, type Relay } from "./relay-body.ts";
import { StreamRelay } from "./relay-stream.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { failBeforeUpstream, finish, settleClientGone } from "./settle.ts";
import {
  planTranslation,
  TranslatedBodyRelay,
  TranslatedStreamRelay,
  type TranslationPlan,
} from "./translated-call.ts";

/** Bedrock's InvokeModel takes the Messages API version in the body. */
export const BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31";
const EVENT_STREAM = "application/vnd.amazon.eventstream";
/** Client headers a Bedrock request never forwards: the rewrite sets them, or they belong to the client's own AWS auth. */
const OWN_HEADER = /^(?:content-|accept$|anthropic-|x-amz-|amz-sdk-|x-amzn-)/;

/** The pipeline's upstream exchange (exchange.ts) with the attempt's retry hooks bound (model-call.ts). */
export type Exchange = (
  rt: GatewayRuntime,
  state: CallState,
  res: ServerResponse,
  providerName: string,
  requestBytes: number,
  call: UpstreamCall,
) => Promise<ExchangeOutcome>;

export interface BedrockCallInput {
  rt: GatewayRuntime;
  state: CallState;
  req: { headers: IncomingHttpHeaders };
  res: ServerResponse;
  spec: RouteSpec;
  parsed: ParsedCall;
  resolution: Resolution;
  raw: Buffer;
  /** A budget's lowered output cap, or null. */
  lowered: number | null;
  /** Credentials from the pipeline: {} for an access key pair (signed here), a bearer header otherwise. */
  auth: Record<string, string>;
  exchange: Exchange;
  /**
   * A Responses request whose state the gateway keeps (pipeline/stored-responses.ts): the body to translate (the
   * previous chain resolved) and the hook that makes its reply stored.
   */
  stored?: { raw: Buffer; attach: (plan: TranslationPlan) => void };
}

/**
 * A call to an AWS Bedrock provider. Anthropic clients asking for a Claude model use InvokeModel with their own
 * Messages body (minus `model` / `stream`, plus `anthropic_version`): passthrough semantics, Anthropic metering.
 * Converse clients (the /bedrock routes) pass through to Converse. Every other case is translated to Converse,
 * which serves every Bedrock model. Requests are SigV4-signed with the provider's access key pair (or carry a
 * Bedrock API key); streamed replies are AWS event streams, bridged to SSE for the relays.
 */
export async function bedrockCall(input: BedrockCallInput): Promise<ExchangeOutcome> {
  const { rt, state, res, spec, parsed, resolution, raw, lowered } = input;
  const model = resolution.upstreamModel;
  let call: Prepared;
  try {
    if (spec.dialect === "anthropic" && spec.op === "messages" && isAnthropicBedrockModel(model)) {
      call = prepareInvoke(input);
    } else if (spec.dialect === "bedrock-converse") {
      const body = lowered === null ? raw : capOutputTokens("bedrock-converse", raw, lowered);
      call = { op: parsed.stream ? "converse-stream" : "converse", body, kind: { type: "converse" } };
    } else if (isChatDialect(spec.dialect) && spec.op !== "count_tokens" && spec.op !== "countTokens") {
      const plan = planTranslation({
        clientDialect: spec.dialect,
        targetDialect: "bedrock-converse",
        raw: input.stored?.raw ?? raw,
        clientModel: parsed.model,
        upstreamModel: model,
        stream: parsed.stream,
        maxOutputTokens: lowered,
        provider: resolution.provider.name,
        serverState: input.stored !== undefined,
      });
      input.stored?.attach(plan);
      state.record.upstreamDialect = "bedrock-converse";
      state.record.warnings = [...state.record.warnings, ...plan.warnings];
      call = { op: plan.op, body: plan.body, kind: { type: "translated", plan } };
    } else {
      throw new GatewayError(
        "TG_CROSS_DIALECT_UNSUPPORTED",
        `Provider "${resolution.provider.name}" (AWS Bedrock) does not serve ${spec.dialect} ${spec.op} requests.`,
      );
    }
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return DONE;
  }
  const stream = call.op === "invoke-stream" || call.op === "converse-stream";
  const url = upstreamUrl(resolution.provider, call.op, model, "");
  let headers: Record<string, string>;
  try {
    headers = await requestHeaders(input, url, stream, call.body);
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return DONE;
  }
  if (res.destroyed) {
    settleClientGone(rt, state, raw.length);
    return DONE;
  }
  const origin = new URL(url).origin;
  return input.exchange(rt, state, res, resolution.provider.name, raw.length, {
    request: { origin, path: url.slice(origin.length), method: "POST", headers, body: call.body },
    relay: (status, upstreamHeaders, controls) => relayFor(input, call, status, upstreamHeaders, controls),
  });
}

type CallKind = { type: "invoke" } | { type: "converse" } | { type: "translated"; plan: TranslationPlan };

interface Prepared {
  op: Operation;
  body: Buffer;
  kind: CallKind;
}

/** The Messages body as InvokeModel takes it; `anthropic-beta` travels in the body there. */
function prepareInvoke(input: BedrockCallInput): Prepared {
  let json: unknown;
  try {
    json = JSON.parse(input.raw.toString("utf8"));
  } catch (err) {
    throw new GatewayError("TG_INVALID_JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw new GatewayError("TG_INVALID_BODY", "The request body must be a JSON object.");
  const { model: _model, stream: _stream, ...body } = json;
  body.anthropic_version ??= BEDROCK_ANTHROPIC_VERSION;
  const beta = headerValue(input.req.headers, "anthropic-beta");
  if (beta !== undefined && body.anthropic_beta === undefined) {
    const betas = beta
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean);
    if (betas.length > 0) body.anthropic_beta = betas;
  }
  if (input.lowered !== null) {
    const current = typeof body.max_tokens === "number" ? body.max_tokens : input.lowered;
    body.max_tokens = Math.min(current, input.lowered);
  }
  return {
    op: input.parsed.stream ? "invoke-stream" : "invoke",
    body: Buffer.from(JSON.stringify(body)),
    kind: { type: "invoke" },
  };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** Content headers, the provider's fixed headers, then auth: a SigV4 signature, or the bearer key as given. */
async function requestHeaders(
  input: BedrockCallInput,
  url: string,
  stream: boolean,
  body: Buffer,
): Promise<Record<string, string>> {
  const { resolution, state, rt } = input;
  const provider = resolution.provider;
  const content: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? EVENT_STREAM : "application/json",
  };
  // Passthrough forwards the client's own headers (session ids, custom headers; AWS ignores unsigned extras), less
  // those the request rewrite owns: content and encoding, Anthropic's (now in the body), the client's AWS signing.
  const forwarded =
    input.spec.dialect === "bedrock-converse" || input.spec.dialect === "anthropic"
      ? Object.fromEntries(
          Object.entries(upstreamRequestHeaders(input.req.headers, {}, {})).filter(([name]) => !OWN_HEADER.test(name)),
        )
      : {};
  const ua = input.req.headers["user-agent"];
  const extra: Record<string, string> = { ...forwarded, ...provider.headers };
  if (typeof ua === "string") extra["user-agent"] = ua;
  let key = provider.keys.find((k) => k.id === state.record.providerKeyId);
  if (key === undefined && input.auth.authorization?.startsWith("AWS4-")) {
    // A client's own SigV4 signature (an AWS SDK pointed at the gateway) is for the gateway's host: it cannot be
    // forwarded, so the provider's key signs instead.
    key = rt.registry.nextKey(provider) ?? undefined;
    if (key === undefined) throw new GatewayError("TG_NO_PROVIDER_KEY", `Provider "${provider.name}" has no AWS key.`);
    state.record.providerKeyId = key.id;
  }
  const credentials = key ? parseAwsKey(key.secret) : null;
  if (credentials === null) return { ...content, ...extra, ...(key ? authHeaders(provider, key.secret) : input.auth) };
  const signed = await signAwsRequest({
    url,
    region: bedrockRegion(provider.bedrock?.region, provider.baseUrl),
    credentials,
    headers: content,
    body,
    now: rt.clock.now(),
  });
  return { ...extra, ...signed };
}

function relayFor(
  input: BedrockCallInput,
  call: Prepared,
  status: number,
  headers: IncomingHttpHeaders,
  controls: ExchangeControls,
): Relay {
  const { rt, state, res, raw } = input;
  const requestBytes = raw.length;
  const ct = headers["content-type"];
  const eventStream = status < 300 && typeof ct === "string" && ct.includes(EVENT_STREAM);
  const kind = call.kind;
  if (kind.type === "translated") {
    const plan = kind.plan;
    return eventStream
      ? new EventStreamBridge(
          new TranslatedStreamRelay(rt, state, plan, res, { requestBytes, ...controls }),
          "event",
          controls.stop,
        )
      : new TranslatedBodyRelay(rt, state, plan, res, { status, headers }, requestBytes);
  }
  const dialect = kind.type === "invoke" ? "anthropic" : "bedrock-converse";
  if (eventStream) {
    const mode: EventStreamMode = kind.type === "invoke" ? "chunk" : "event";
    const inner = new StreamRelay(
      rt,
      state,
      dialect,
      res,
      { status, headers: sseHeaders(headers) },
      { requestBytes, injectedUsage: false, ...controls },
    );
    return new EventStreamBridge(inner, mode, controls.stop);
  }
  // A Converse client gets Bedrock's own error bodies (passthrough); an Anthropic client gets them in its shape.
  if (status >= 300 && kind.type === "invoke")
    return new ForeignErrorRelay(rt, state, input.spec, res, status, headers);
  return new BodyRelay(rt, state, { dialect, op: call.op }, res, { status, headers }, requestBytes);
}

/** Bedrock's exception names → Tollgate's error kinds (the client's dialect renders them). */
function kindOf(exception: string, status: number): ErrorKind {
  switch (exception) {
    case "ThrottlingException":
    case "ServiceQuotaExceededException":
      return "rate_limited";
    case "ValidationException":
      return "invalid_request";
    case "AccessDeniedException":
      return "permission";
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "MissingAuthenticationTokenException":
      return "authentication";
    case "ResourceNotFoundException":
      return "not_found";
    case "ServiceUnavailableException":
      return "upstream_unavailable";
    case "ModelTimeoutException":
      return "upstream_timeout";
    default:
      if (status === 429) return "rate_limited";
      if (status === 400 || status === 422) return "invalid_request";
      if (status === 401) return "authentication";
      if (status === 403) return "permission";
      if (status === 404) return "not_found";
      if (status === 503) return "upstream_unavailable";
      return "upstream_error";
  }
}

/** `{"message": …}` (or `Message`) and the exception name from `x-amzn-errortype` (`Name:namespace`). */
export function bedrockErrorOf(status: number, headers: IncomingHttpHeaders, body: Buffer): GatewayErrorLike {
  const typeHeader = headers["x-amzn-errortype"];
  const exception = (typeof typeHeader === "string" ? typeHeader : "").split(":")[0] ?? "";
  const parsed = tryParseJson(body.toString("utf8"));
  const message =
    (isObject(parsed) ? (stringAt(parsed, "message") ?? stringAt(parsed, "Message")) : undefined) ??
    (body.subarray(0, 300).toString("utf8") || `HTTP ${status}`);
  const retryAfter = headers["retry-after"];
  return {
    code: exception || `http_${status}`,
    kind: kindOf(exception, status),
    status,
    message,
    headers: typeof retryAfter === "string" ? { "retry-after": retryAfter } : {},
  };
}

interface GatewayErrorLike {
  code: string;
  kind: ErrorKind;
  status: number;
  message: string;
  headers: Record<string, string>;
}

/** A Bedrock error reply for a client of another dialect: same status and message, in the client's shape. */
class ForeignErrorRelay implements Relay {
  readonly #chunks: Buffer[] = [];
  readonly rt: GatewayRuntime;
  readonly state: CallState;
  readonly spec: RouteSpec;
  readonly res: ServerResponse;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;

  constructor(
    rt: GatewayRuntime,
    state: CallState,
    spec: RouteSpec,
    res: ServerResponse,
    status: number,
    headers: IncomingHttpHeaders,
  ) {
    this.rt = rt;
    this.state = state;
    this.spec = spec;
    this.res = res;
    this.status = status;
    this.headers = headers;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onEnd(): void {
    const err = bedrockErrorOf(this.status, this.headers, Buffer.concat(this.#chunks));
    const { record } = this.state;
    record.status = err.status;
    record.errorCode = err.code;
    record.errorMessage = err.message;
    const out = renderError(errorFamilyOf(this.spec.dialect), err, { requestId: record.id });
    if (!this.res.headersSent && !this.res.destroyed) {
      this.res.writeHead(out.status, {
        ...out.headers,
        "content-length": Buffer.byteLength(out.body),
        "x-tollgate-request-id": record.id,
      });
      this.res.end(out.body);
    }
    finish(this.rt, this.state);
  }

  onError(err: Error): void {
    failBeforeUpstream(this.rt, this.state, this.res, upstreamFailure(err, this.state.record.provider ?? "bedrock"));
  }

  clientGone(): void {
    settleClientGone(this.rt, this.state, 0);
  }
}
