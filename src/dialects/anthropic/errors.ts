import type { ErrorKind } from "../../errors/catalog.ts";
import {
  errorHeaders,
  type RenderableError,
  type RenderedError,
  type RenderOptions,
  sseEvent,
} from "../shared/error-shape.ts";
import type { AnthropicErrorBody, AnthropicErrorType } from "./wire.ts";

/**
 * Tollgate's error kinds as Anthropic error types (the `ErrorType` union of the official SDK, plus
 * `request_too_large`, which the API documents for 413). Claude Code retries on status, so the status stays the
 * catalog's; the type tells a human (and the SDK's error class) what happened.
 */
export function anthropicErrorType(kind: ErrorKind): AnthropicErrorType {
  switch (kind) {
    case "invalid_request":
      return "invalid_request_error";
    case "authentication":
      return "authentication_error";
    case "permission":
      return "permission_error";
    case "not_found":
      return "not_found_error";
    case "payload_too_large":
      return "request_too_large";
    case "rate_limited":
      return "rate_limit_error";
    case "budget_exhausted":
      return "billing_error";
    case "upstream_error":
      return "api_error";
    case "upstream_unavailable":
      return "overloaded_error";
    case "upstream_timeout":
      return "timeout_error";
    case "internal":
      return "api_error";
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown error kind ${String(unreachable)}`);
    }
  }
}

export function anthropicErrorBody(err: RenderableError, options: RenderOptions = {}): AnthropicErrorBody {
  const body: AnthropicErrorBody = {
    type: "error",
    error: { type: anthropicErrorType(err.kind), message: err.message },
  };
  if (options.requestId !== undefined) body.request_id = options.requestId;
  return body;
}

/** `{"type":"error","error":{"type":…,"message":…},"request_id"?}` with the catalog status. */
export function renderAnthropicError(err: RenderableError, options: RenderOptions = {}): RenderedError {
  return { status: err.status, headers: errorHeaders(err), body: JSON.stringify(anthropicErrorBody(err, options)) };
}

/** The `event: error` an Anthropic stream ends with when something fails after the stream began. */
export function renderAnthropicStreamError(err: RenderableError, options: RenderOptions = {}): string {
  return sseEvent("error", anthropicErrorBody(err, options));
}
