import type { Dialect } from "../dialects/dialect.ts";
import { GatewayError } from "../errors/catalog.ts";
import { peekTopLevel, type ValueRange } from "../json/peek.ts";
import type { Operation } from "../providers/endpoints.ts";

/** A client route: the dialect it speaks and the operation it performs. */
export interface RouteSpec {
  dialect: Dialect;
  op: Operation;
  /** Gemini only: the API version in the client's path (v1beta, v1, v1alpha), used upstream too. */
  apiVersion?: string;
  /**
   * Bedrock routes: the client reads AWS event streams, not SSE. "chunk": InvokeModel's base64 `chunk` events;
   * "event": Converse events named by type (providers/bedrock/event-stream-response.ts).
   */
  eventStream?: "chunk" | "event";
  /**
   * A client quirk fixed before ingress, once the caller is authenticated (http/cursor-body.ts): another body to
   * handle instead, or null to handle the client's as it is. Throws a GatewayError the client sees in its dialect.
   */
  normaliseBody?: (raw: Buffer) => NormalisedBody | null;
}

/** A replacement request body, and what the conversion could not carry across (the log row's warnings). */
export interface NormalisedBody {
  raw: Buffer;
  warnings: string[];
}

export interface ParsedCall {
  /** The top-level fields the gateway reads (READ_FIELDS), parsed; the rest of the body is never decoded. */
  fields: Record<string, unknown>;
  model: string;
  stream: boolean;
  /**
   * Byte range of the `"model"` value in the raw body when the scan found it (large bodies); null for Gemini (model
   * in the path) and small bodies, where `modelRangeOf` finds it on demand (only a rename needs it).
   */
  modelRange: ValueRange | null;
  raw: Buffer;
}

const READ_FIELDS: ReadonlySet<string> = new Set([
  "model",
  "stream",
  "stream_options",
  "metadata",
  "max_tokens",
  "max_completion_tokens",
  "max_output_tokens",
  "generationConfig",
  "inferenceConfig",
]);

/**
 * Bodies up to this size are also fully parsed, as strict validation (cheap at this size). Larger ones — late
 * agent turns of several MB — are only scanned (pipeline/json-peek.ts); the provider validates the rest.
 */
export const FULL_PARSE_MAX_BYTES = 64 * 1024;

/** Parses and checks a model call's body. The original bytes are what gets forwarded. */
export function parseModelCall(spec: RouteSpec, raw: Buffer, pathModel: string | null): ParsedCall {
  if (raw.length === 0) throw new GatewayError("TG_INVALID_BODY", "The request body is empty; expected a JSON object.");
  // Small bodies: JSON.parse alone (strict). Large ones: the byte scan, with JSON.parse only to explain a failure.
  const ranges = raw.length <= FULL_PARSE_MAX_BYTES ? null : peekTopLevel(raw, READ_FIELDS);
  const fields = ranges === null ? parseWhole(raw) : parseFields(raw, ranges);
  const model = pathModel ?? fields.model;
  if (model === undefined || model === null || model === "") {
    throw new GatewayError("TG_MISSING_MODEL", 'The request has no "model".');
  }
  if (typeof model !== "string") throw new GatewayError("TG_INVALID_BODY", '"model" must be a string.');
  if (fields.stream !== undefined && typeof fields.stream !== "boolean") {
    throw new GatewayError("TG_INVALID_BODY", '"stream" must be a boolean.');
  }
  return {
    fields,
    model,
    stream: spec.op === "streamGenerateContent" || spec.op === "converse-stream" || fields.stream === true,
    modelRange: pathModel === null ? (ranges?.get("model") ?? null) : null,
    raw,
  };
}

/** Full `JSON.parse`: strict validation, and the exact error message for a broken body. */
function parseWhole(raw: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new GatewayError("TG_INVALID_JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new GatewayError("TG_INVALID_BODY", "The request body must be a JSON object.");
  }
  const body = json as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const key of READ_FIELDS) if (key in body) fields[key] = body[key];
  return fields;
}

function parseFields(raw: Buffer, ranges: ReadonlyMap<string, ValueRange>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, [start, end]] of ranges) {
    try {
      fields[key] = JSON.parse(raw.toString("utf8", start, end));
    } catch (err) {
      throw new GatewayError(
        "TG_INVALID_JSON",
        `The request body is not valid JSON ("${key}": ${(err as Error).message}).`,
      );
    }
  }
  return fields;
}

/** Where the `"model"` value sits in the body, for a byte-splice rename. */
export function modelRangeOf(call: ParsedCall): ValueRange | null {
  return call.modelRange ?? peekTopLevel(call.raw, MODEL_ONLY)?.get("model") ?? null;
}

const MODEL_ONLY: ReadonlySet<string> = new Set(["model"]);

/** The client's cap on output tokens, in whichever field its dialect uses; null when it sent none. */
export function maxOutputTokens(call: ParsedCall): number | null {
  const f = call.fields;
  const generation = f.generationConfig;
  const inference = f.inferenceConfig;
  const candidates = [
    f.max_tokens,
    f.max_completion_tokens,
    f.max_output_tokens,
    typeof generation === "object" && generation !== null
      ? (generation as { maxOutputTokens?: unknown }).maxOutputTokens
      : undefined,
    typeof inference === "object" && inference !== null ? (inference as { maxTokens?: unknown }).maxTokens : undefined,
  ];
  for (const v of candidates) if (typeof v === "number" && Number.isFinite(v) && v > 0) return v;
  return null;
}
