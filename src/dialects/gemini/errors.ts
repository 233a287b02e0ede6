import type { ErrorKind } from "../../errors/catalog.ts";
import { errorHeaders, type RenderableError, type RenderedError, sseEvent } from "../shared/error-shape.ts";
import type { GeminiErrorBody, GeminiErrorStatus } from "./wire.ts";

/**
 * Tollgate's error kinds as google.rpc canonical codes (their documented HTTP mappings: 400 INVALID_ARGUMENT,
 * 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 500 INTERNAL,
 * 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED). `code` in the body is the HTTP status actually sent; a budget that
 * ran out is RESOURCE_EXHAUSTED (quota) with Tollgate's 402, which clients do not retry.
 */
export function geminiErrorStatus(kind: ErrorKind): GeminiErrorStatus {
  switch (kind) {
    case "invalid_request":
    case "payload_too_large":
      return "INVALID_ARGUMENT";
    case "authentication":
      return "UNAUTHENTICATED";
    case "permission":
      return "PERMISSION_DENIED";
    case "not_found":
      return "NOT_FOUND";
    case "rate_limited":
    case "budget_exhausted":
      return "RESOURCE_EXHAUSTED";
    case "upstream_error":
    case "upstream_unavailable":
      return "UNAVAILABLE";
    case "upstream_timeout":
      return "DEADLINE_EXCEEDED";
    case "internal":
      return "INTERNAL";
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown error kind ${String(unreachable)}`);
    }
  }
}

/**
 * `{"error":{"code","message","status"}}`. A rate limit with a `retry-after` of whole seconds also gets a
 * google.rpc.RetryInfo detail, which Google's clients (Gemini CLI) read to schedule the retry.
 */
export function geminiErrorBody(err: RenderableError): GeminiErrorBody {
  const body: GeminiErrorBody = {
    error: { code: err.status, message: err.message, status: geminiErrorStatus(err.kind) },
  };
  const retryAfter = err.headers["retry-after"];
  if (err.kind === "rate_limited" && retryAfter !== undefined && /^\d+$/.test(retryAfter)) {
    body.error.details = [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${retryAfter}s` }];
  }
  return body;
}

export function renderGeminiError(err: RenderableError): RenderedError {
  return { status: err.status, headers: errorHeaders(err), body: JSON.stringify(geminiErrorBody(err)) };
}

/** A Gemini stream has no error event: the error is a data-only chunk `{"error":{…}}`, as the API sends it. */
export function renderGeminiStreamError(err: RenderableError): string {
  return sseEvent(null, geminiErrorBody(err));
}
