import type { ErrorKind } from "../../errors/catalog.ts";
import { errorHeaders, type RenderableError, type RenderedError, sseEvent } from "../shared/error-shape.ts";
import type { OpenAiErrorBody, OpenAiErrorObject, OpenAiErrorType } from "./wire.ts";

/**
 * Error bodies for every OpenAI dialect (chat, responses, embeddings): `{"error":{message,type,param,code}}`.
 * OpenAI's SDKs pick the error class from the HTTP status, so the status stays the catalog's. `type` names the
 * category; `code` is Tollgate's catalog code in lower case, except where clients act on OpenAI's own codes:
 * `rate_limit_exceeded` (retry later) and `insufficient_quota` (Codex stops instead of retrying). The catalog code
 * is always in the `x-tollgate-error-code` header.
 */
export function openAiErrorType(kind: ErrorKind): OpenAiErrorType {
  switch (kind) {
    case "invalid_request":
    case "payload_too_large":
      return "invalid_request_error";
    case "authentication":
      return "authentication_error";
    case "permission":
      return "permission_error";
    case "not_found":
      return "not_found_error";
    case "rate_limited":
      return "rate_limit_error";
    case "budget_exhausted":
      return "insufficient_quota";
    case "upstream_error":
    case "upstream_unavailable":
    case "upstream_timeout":
    case "internal":
      return "server_error";
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown error kind ${String(unreachable)}`);
    }
  }
}

export function openAiErrorCode(err: RenderableError): string {
  if (err.kind === "rate_limited") return "rate_limit_exceeded";
  if (err.kind === "budget_exhausted") return "insufficient_quota";
  return err.code.toLowerCase();
}

export function openAiErrorObject(err: RenderableError): OpenAiErrorObject {
  return { message: err.message, type: openAiErrorType(err.kind), param: null, code: openAiErrorCode(err) };
}

export function renderOpenAiError(err: RenderableError): RenderedError {
  const body: OpenAiErrorBody = { error: openAiErrorObject(err) };
  return { status: err.status, headers: errorHeaders(err), body: JSON.stringify(body) };
}

/** Chat Completions has no error event: compatible servers send a data-only chunk `{"error":{…}}`. */
export function renderOpenAiChatStreamError(err: RenderableError): string {
  const body: OpenAiErrorBody = { error: openAiErrorObject(err) };
  return sseEvent(null, body);
}
