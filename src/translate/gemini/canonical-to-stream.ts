import { geminiErrorBody } from "../../dialects/gemini/errors.ts";
import type { RenderableError } from "../../dialects/shared/error-shape.ts";
import type { ErrorKind } from "../../errors/catalog.ts";
import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { CanonicalStreamEvent, JsonObject, StreamMapper } from "../canonical.ts";
import { toGeminiFinishReason } from "./finish-reason.ts";
import { parseJsonObject } from "./json.ts";
import { toUsageMetadata } from "./usage-metadata.ts";

export interface GeminiClientStreamState {
  responseId: string;
  /** Tool-call blocks still receiving arguments. */
  calls: Record<number, { id: string; name: string; args: string }>;
  /** A Gemini thought signature waiting for the next part to ride on. */
  signature: string | null;
  usage: Usage | null;
  /** `finish` or `error` was written: the stream is over. */
  done: boolean;
}

/**
 * Canonical events → what `streamGenerateContent?alt=sse` sends a Gemini client: `data: <GenerateContentResponse>`
 * chunks separated by CRLF CRLF, as the API does. Text and thought deltas go out as they come; a function call is
 * sent whole (Gemini clients expect complete `args`) when its block ends; a Gemini thought signature rides on the
 * next part sent (another provider's never leaves). Every chunk after the first usage carries the running
 * `usageMetadata`; the last has `finishReason` and the final usage. An `error` event becomes the
 * `{"error":{code,message,status}}` chunk the API sends (dialects/gemini/errors.ts), as does input that ends
 * without `finish` or `error`. Only the SSE form is produced: `streamGenerateContent` without `alt=sse` (one JSON
 * array written piece by piece) is not offered to translated clients.
 */
export function canonicalToGeminiStream(
  model: string,
): StreamMapper<GeminiClientStreamState, CanonicalStreamEvent, string> {
  return {
    initial: () => ({ responseId: "", calls: {}, signature: null, usage: null, done: false }),
    step: (prev, event) => step(prev, event, model),
    finish: (state) =>
      state.done
        ? []
        : [
            errorChunk({
              type: "stream_incomplete",
              message: "the upstream stream ended before the response was complete",
            }),
          ],
  };
}

function step(
  prev: GeminiClientStreamState,
  event: CanonicalStreamEvent,
  model: string,
): { state: GeminiClientStreamState; out: string[] } {
  if (prev.done) return { state: prev, out: [] };
  const s: GeminiClientStreamState = { ...prev, calls: { ...prev.calls } };
  const out: string[] = [];
  const send = (parts: JsonObject[], extra: JsonObject = {}): void => {
    const candidate: JsonObject = { content: { role: "model", parts }, ...extra, index: 0 };
    const chunk: JsonObject = { candidates: [candidate] };
    if (s.usage !== null) chunk.usageMetadata = toUsageMetadata(s.usage);
    chunk.modelVersion = model;
    if (s.responseId !== "") chunk.responseId = s.responseId;
    out.push(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
  };
  const signed = (part: JsonObject): JsonObject => {
    if (s.signature !== null) {
      part.thoughtSignature = s.signature;
      s.signature = null;
    }
    return part;
  };

  switch (event.type) {
    case "start":
      s.responseId = event.id;
      break;
    case "text-start":
    case "reasoning-start":
      break;
    case "text-delta":
      if (event.text !== "") send([signed({ text: event.text })]);
      break;
    case "reasoning-delta":
      if (event.text !== "") send([signed({ text: event.text, thought: true })]);
      break;
    case "reasoning-opaque":
      if (event.opaque.dialect === "gemini" && event.opaque.kind === "signature") {
        if (s.signature !== null) send([signed({ text: "" })]);
        s.signature = event.opaque.value;
      }
      break;
    case "tool-call-start":
      s.calls[event.block] = { id: event.id, name: event.name, args: "" };
      break;
    case "tool-call-delta": {
      const call = s.calls[event.block];
      if (call !== undefined) s.calls[event.block] = { ...call, args: call.args + event.argumentsDelta };
      break;
    }
    case "block-end": {
      const call = s.calls[event.block];
      if (call === undefined) break;
      delete s.calls[event.block];
      send([signed({ functionCall: { id: call.id, name: call.name, args: parseJsonObject(call.args) ?? {} } })]);
      break;
    }
    case "usage":
      s.usage = mergeUsage(s.usage ?? emptyUsage(), event.usage);
      break;
    case "finish": {
      for (const [block, call] of Object.entries(s.calls)) {
        delete s.calls[Number(block)];
        send([signed({ functionCall: { id: call.id, name: call.name, args: parseJsonObject(call.args) ?? {} } })]);
      }
      s.usage = event.usage;
      send([signed({ text: "" })], { finishReason: toGeminiFinishReason(event.stop) });
      s.done = true;
      break;
    }
    case "error":
      out.push(errorChunk(event.error));
      s.done = true;
      break;
    default: {
      const unreachable: never = event;
      throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
    }
  }
  return { state: s, out };
}

const USAGE_KEYS = ["input", "cacheRead", "cacheWrite5m", "cacheWrite1h", "output", "reasoning"] as const;

/** Running totals: each bucket present in the event replaces the one held. */
function mergeUsage(held: Usage, update: Partial<Usage>): Usage {
  const out = { ...held };
  for (const key of USAGE_KEYS) {
    const v = update[key];
    if (typeof v === "number") out[key] = v;
  }
  return out;
}

/** The error chunk Gemini sends mid-stream, for an error in any dialect's terms. */
function errorChunk(error: { type: string; message: string }): string {
  const kind = errorKind(error.type);
  const renderable: RenderableError = {
    code: "TG_UPSTREAM_STREAM_ERROR",
    kind,
    status: KIND_STATUS[kind],
    message: error.message,
    headers: {},
  };
  return `data: ${JSON.stringify(geminiErrorBody(renderable))}\r\n\r\n`;
}

const KIND_STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  payload_too_large: 413,
  rate_limited: 429,
  budget_exhausted: 402,
  upstream_error: 502,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  internal: 500,
};

/** Error type names of every dialect (Gemini statuses, Anthropic and OpenAI types) → Tollgate's error kinds. */
const TYPE_KIND: Record<string, ErrorKind> = {
  INVALID_ARGUMENT: "invalid_request",
  FAILED_PRECONDITION: "invalid_request",
  UNAUTHENTICATED: "authentication",
  PERMISSION_DENIED: "permission",
  NOT_FOUND: "not_found",
  RESOURCE_EXHAUSTED: "rate_limited",
  UNAVAILABLE: "upstream_unavailable",
  DEADLINE_EXCEEDED: "upstream_timeout",
  INTERNAL: "upstream_error",
  invalid_request_error: "invalid_request",
  authentication_error: "authentication",
  permission_error: "permission",
  not_found_error: "not_found",
  request_too_large: "payload_too_large",
  rate_limit_error: "rate_limited",
  rate_limit_exceeded: "rate_limited",
  insufficient_quota: "rate_limited",
  overloaded_error: "upstream_unavailable",
  server_error: "upstream_error",
  api_error: "upstream_error",
  timeout_error: "upstream_timeout",
};

function errorKind(type: string): ErrorKind {
  return TYPE_KIND[type] ?? "upstream_error";
}
