import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Dialect } from "../dialects/dialect.ts";
import { errorFamilyOf } from "../dialects/dialect.ts";
import { renderError } from "../dialects/errors.ts";
import { countAt, isObject, type JsonObject } from "../dialects/shared/narrow.ts";
import { GatewayError } from "../errors/catalog.ts";
import { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
import { emptyUsage } from "../metering/usage.ts";
import { upstreamFailure } from "../passthrough/upstream-errors.ts";
import type { Operation } from "../providers/endpoints.ts";
import { upstreamUrl } from "../providers/endpoints.ts";
import { dialectsOf, type Resolution } from "../providers/registry.ts";
import type { ProviderConfig } from "../providers/types.ts";
import { adaptUpstreamBody } from "../providers/upstream-body.ts";
import type { ChatDialect } from "../translate/canonical.ts";
import { clientTranslatorFor, isChatDialect, TranslationError, translatorFor } from "../translate/index.ts";
import type { Exchange } from "./bedrock-call.ts";
import type { CallState } from "./call-state.ts";
import { DONE, type ExchangeOutcome } from "./exchange.ts";
import type { RouteSpec } from "./ingress.ts";
import { formatUsd } from "./money.ts";
import type { Relay } from "./relay-body.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { applyUsage, failBeforeUpstream, finish } from "./settle.ts";
import { translatedRequestHeaders, upstreamErrorFor } from "./translated-call.ts";

/**
 * Token counting for a model whose provider speaks another dialect than the client (Anthropic `count_tokens`,
 * Gemini `countTokens`). The request is translated to the target's own counting API where it has one — Anthropic
 * `count_tokens` (Vertex: `count-tokens:rawPredict`), Gemini `countTokens` (AI Studio: the whole request wrapped in
 * `generateContentRequest`; Vertex: its fields at the top level), OpenAI Responses `input_tokens` — and otherwise
 * estimated (bytes / 4, metering/estimate.ts; a 404 from an OpenAI-compatible server without `input_tokens` too),
 * flagged `x-tollgate-token-count: estimated` and in the log row's warnings. The answer is in the client's shape.
 * Counting is free as it is on passthrough: admission ran as for any call, and the row settles with no usage.
 */

export function isCountOperation(op: Operation): boolean {
  return op === "count_tokens" || op === "countTokens";
}

export interface CountTokensInput {
  rt: GatewayRuntime;
  state: CallState;
  req: { headers: IncomingHttpHeaders };
  res: ServerResponse;
  spec: RouteSpec;
  resolution: Resolution;
  raw: Buffer;
  /** Upstream credentials from the pipeline. */
  auth: Record<string, string>;
  exchange: Exchange;
}

/** How a provider counts a request, when it can. */
type CountApi =
  | { dialect: "anthropic" }
  | { dialect: "gemini"; shape: "wrapped" | "flat" }
  | { dialect: "openai-responses" };

/** Fields Anthropic's count_tokens takes (it rejects the rest: max_tokens, stream, sampling). */
const ANTHROPIC_COUNT_FIELDS = ["model", "messages", "system", "tools", "tool_choice", "thinking", "output_config"];
/** Fields a Gemini countTokens request counts (generation settings add no input tokens). */
const GEMINI_COUNT_FIELDS = ["contents", "systemInstruction", "tools", "toolConfig"];
/** Vertex's countTokens request has no toolConfig. */
const VERTEX_GEMINI_COUNT_FIELDS = ["contents", "systemInstruction", "tools"];
/** Fields OpenAI's `POST /responses/input_tokens` takes. */
const RESPONSES_COUNT_FIELDS = [
  "model",
  "input",
  "instructions",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "reasoning",
  "text",
  "truncation",
];

function countApiOf(provider: ProviderConfig, model: string): CountApi | null {
  if (provider.kind === "bedrock") return null;
  const dialects = dialectsOf(provider, model);
  if (dialects.includes("anthropic")) return { dialect: "anthropic" };
  if (dialects.includes("gemini")) return { dialect: "gemini", shape: provider.kind === "vertex" ? "flat" : "wrapped" };
  if (dialects.includes("openai-responses") && provider.kind === "openai") return { dialect: "openai-responses" };
  return null;
}

export function countTokensCall(input: CountTokensInput): Promise<ExchangeOutcome> {
  const { rt, state, res, spec, resolution, raw } = input;
  const { provider, upstreamModel } = resolution;
  const api = countApiOf(provider, upstreamModel);
  if (api === null || !isChatDialect(spec.dialect)) {
    answerEstimate(input, `provider "${provider.name}" has no token counting API for ${upstreamModel}`);
    return Promise.resolve(DONE);
  }
  let prepared: { op: Operation | null; url: string; body: Buffer; warnings: string[] };
  try {
    prepared = prepareCount(input, spec.dialect, api);
  } catch (err) {
    failBeforeUpstream(rt, state, res, err);
    return Promise.resolve(DONE);
  }
  state.record.upstreamDialect = api.dialect;
  state.record.warnings = [...state.record.warnings, ...prepared.warnings];
  const origin = new URL(prepared.url).origin;
  const ua = input.req.headers["user-agent"];
  const body =
    prepared.op === null ? prepared.body : adaptUpstreamBody(provider, prepared.op, upstreamModel, prepared.body);
  return input.exchange(rt, state, res, provider.name, raw.length, {
    request: {
      origin,
      path: prepared.url.slice(origin.length),
      method: "POST",
      headers: translatedRequestHeaders(
        api.dialect,
        false,
        provider.headers,
        input.auth,
        typeof ua === "string" ? ua : undefined,
      ),
      body,
    },
    relay: (status, headers) => new CountRelay(input, api, status, headers),
  });
}

/** The client's request → the target's counting request (URL and body). Throws a 400 GatewayError. */
function prepareCount(
  input: CountTokensInput,
  clientDialect: ChatDialect,
  api: CountApi,
): { op: Operation | null; url: string; body: Buffer; warnings: string[] } {
  const { provider, upstreamModel } = input.resolution;
  let json: unknown;
  try {
    json = JSON.parse(input.raw.toString("utf8"));
  } catch (err) {
    throw new GatewayError("TG_INVALID_JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  const request = clientDialect === "gemini" ? geminiCountRequest(json) : json;
  let translated: { value: JsonObject; warnings: string[] };
  try {
    const canonical = clientTranslatorFor(clientDialect, request).requestToCanonical(request);
    canonical.value.model = upstreamModel;
    canonical.value.stream = false;
    const upstream = translatorFor(api.dialect).canonicalToRequest(canonical.value, { provider: provider.name });
    translated = { value: upstream.value, warnings: [...canonical.warnings, ...upstream.warnings] };
  } catch (err) {
    if (err instanceof TranslationError) throw new GatewayError("TG_TRANSLATION", err.message);
    throw err;
  }
  const { value, warnings } = translated;
  switch (api.dialect) {
    case "anthropic":
      return {
        op: "count_tokens",
        url: upstreamUrl(provider, "count_tokens", upstreamModel, ""),
        body: jsonBytes(pick(value, ANTHROPIC_COUNT_FIELDS)),
        warnings,
      };
    case "gemini": {
      const url = upstreamUrl(provider, "countTokens", upstreamModel, "", input.spec.apiVersion);
      const body =
        api.shape === "flat"
          ? pick(value, VERTEX_GEMINI_COUNT_FIELDS)
          : { generateContentRequest: { model: `models/${upstreamModel}`, ...pick(value, GEMINI_COUNT_FIELDS) } };
      return { op: "countTokens", url, body: jsonBytes(body), warnings };
    }
    case "openai-responses":
      return {
        op: null,
        url: `${provider.baseUrl}/responses/input_tokens`,
        body: jsonBytes(pick(value, RESPONSES_COUNT_FIELDS)),
        warnings,
      };
    default: {
      const unreachable: never = api;
      throw new Error(`unknown count API ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * A Gemini countTokens body as a generateContent request: `generateContentRequest` when given (its `model` is the
 * path's anyway), else `contents` and whatever else the body has (Vertex-style clients send `systemInstruction`,
 * `tools` beside them).
 */
function geminiCountRequest(json: unknown): unknown {
  if (!isObject(json)) return json;
  const wrapped = json.generateContentRequest;
  if (isObject(wrapped)) {
    const { model: _model, ...rest } = wrapped;
    return rest;
  }
  const { model: _model, ...rest } = json;
  return rest;
}

function pick(obj: JsonObject, fields: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const f of fields) if (obj[f] !== undefined) out[f] = obj[f];
  return out;
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** The count in the client's shape. */
function countBody(dialect: Dialect, tokens: number): string {
  return JSON.stringify(dialect === "gemini" ? { totalTokens: tokens } : { input_tokens: tokens });
}

/** The count an upstream counting API answered, or undefined when the body says none. */
function countOf(api: CountApi, body: unknown): number | undefined {
  if (!isObject(body)) return undefined;
  return api.dialect === "gemini" ? countAt(body, "totalTokens") : countAt(body, "input_tokens");
}

/** Sends the count (no usage: counting is free) and queues the row. */
function answer(input: CountTokensInput, tokens: number, estimated: boolean): void {
  const { rt, state, res, spec } = input;
  const { record } = state;
  applyUsage(rt, state, emptyUsage(), null, false);
  record.status = 200;
  const out = countBody(spec.dialect, tokens);
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(out),
      "x-tollgate-request-id": record.id,
      "x-tollgate-cost-usd": record.costNanoUsd === null ? "unknown" : formatUsd(record.costNanoUsd),
      ...(estimated ? { "x-tollgate-token-count": "estimated" } : {}),
    });
    res.end(out);
  }
  finish(rt, state);
}

function answerEstimate(input: CountTokensInput, why: string): void {
  const tokens = estimateInputTokensFromRequestBytes(input.raw.length);
  input.state.record.warnings = [
    ...input.state.record.warnings,
    `token count estimated from the request size (${input.raw.length} bytes / 4): ${why}`,
  ];
  answer(input, tokens, true);
}

/** An upstream count reply: translated into the client's shape; an error reply in the client's error shape. */
class CountRelay implements Relay {
  readonly #chunks: Buffer[] = [];
  readonly input: CountTokensInput;
  readonly api: CountApi;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;

  constructor(input: CountTokensInput, api: CountApi, status: number, headers: IncomingHttpHeaders) {
    this.input = input;
    this.api = api;
    this.status = status;
    this.headers = headers;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onEnd(): void {
    const { rt, state, res, spec } = this.input;
    const buf = Buffer.concat(this.#chunks);
    const provider = state.record.provider ?? "upstream";
    if (this.status >= 300) {
      // OpenAI-compatible servers mostly lack `input_tokens`: estimate instead of failing the client.
      if (this.api.dialect === "openai-responses" && [404, 405, 501].includes(this.status)) {
        answerEstimate(this.input, `${provider} answered HTTP ${this.status} to /responses/input_tokens`);
        return;
      }
      const err = upstreamErrorFor(this.status, buf, provider);
      state.record.status = err.status;
      state.record.errorCode = err.code;
      state.record.errorMessage = err.message;
      const out = renderError(errorFamilyOf(spec.dialect), err, { requestId: state.record.id });
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(out.status, {
          ...out.headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(out.body),
          "x-tollgate-request-id": state.record.id,
        });
        res.end(out.body);
      }
      finish(rt, state);
      return;
    }
    let tokens: number | undefined;
    try {
      tokens = countOf(this.api, JSON.parse(buf.toString("utf8")));
    } catch {
      tokens = undefined;
    }
    if (tokens === undefined) {
      failBeforeUpstream(
        rt,
        state,
        res,
        new GatewayError("TG_UPSTREAM_BAD_RESPONSE", `${provider} answered the token count without a count.`),
      );
      return;
    }
    answer(this.input, tokens, false);
  }

  onError(err: Error): void {
    const { rt, state, res } = this.input;
    failBeforeUpstream(rt, state, res, upstreamFailure(err, state.record.provider ?? "upstream"));
  }

  /** Nothing is billed for a count, even when the client left before it. */
  clientGone(): void {
    const { rt, state } = this.input;
    state.record.status = 499;
    state.record.errorCode = "TG_CLIENT_CLOSED";
    state.record.errorMessage = "The client disconnected before the token count was answered.";
    finish(rt, state);
  }
}
