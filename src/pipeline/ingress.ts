import type { Dialect } from "../dialects/dialect.ts";
import { GatewayError } from "../errors/catalog.ts";
import type { Operation } from "../providers/endpoints.ts";

/** A client route: the dialect it speaks and the operation it performs. */
export interface RouteSpec {
  dialect: Dialect;
  op: Operation;
  /** Gemini only: the API version in the client's path (v1beta, v1, v1alpha), used upstream too. */
  apiVersion?: string;
}

export interface ParsedCall {
  /** The parsed body (always a JSON object). */
  json: Record<string, unknown>;
  model: string;
  stream: boolean;
}

/**
 * Parses and checks a model call's body. The JSON parse doubles as validation (malformed JSON is a 400 in the
 * client's dialect); the parsed object is only read, and the original bytes are what gets forwarded.
 */
export function parseModelCall(spec: RouteSpec, raw: Buffer, pathModel: string | null): ParsedCall {
  if (raw.length === 0) throw new GatewayError("TG_INVALID_BODY", "The request body is empty; expected a JSON object.");
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
  const model = pathModel ?? body.model;
  if (model === undefined || model === null || model === "") {
    throw new GatewayError("TG_MISSING_MODEL", 'The request has no "model".');
  }
  if (typeof model !== "string") throw new GatewayError("TG_INVALID_BODY", '"model" must be a string.');
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    throw new GatewayError("TG_INVALID_BODY", '"stream" must be a boolean.');
  }
  const stream = spec.op === "streamGenerateContent" || body.stream === true;
  return { json: body, model, stream };
}
