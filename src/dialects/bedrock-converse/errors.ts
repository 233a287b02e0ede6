import type { ErrorKind } from "../../errors/catalog.ts";
import { errorHeaders, type RenderableError, type RenderedError, sseEvent } from "../shared/error-shape.ts";
import type { BedrockErrorBody } from "./wire.ts";

/**
 * Tollgate's error kinds as Bedrock exception names (`x-amzn-errortype`; the AWS SDKs build their error class from
 * it). A budget that ran out is ServiceQuotaExceededException with Tollgate's 402, which the SDKs do not retry.
 */
export function bedrockExceptionName(kind: ErrorKind): string {
  switch (kind) {
    case "invalid_request":
    case "payload_too_large":
      return "ValidationException";
    case "authentication":
      return "UnrecognizedClientException";
    case "permission":
      return "AccessDeniedException";
    case "not_found":
      return "ResourceNotFoundException";
    case "rate_limited":
      return "ThrottlingException";
    case "budget_exhausted":
      return "ServiceQuotaExceededException";
    case "upstream_error":
      return "ModelErrorException";
    case "upstream_unavailable":
      return "ServiceUnavailableException";
    case "upstream_timeout":
      return "ModelTimeoutException";
    case "internal":
      return "InternalServerException";
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown error kind ${String(unreachable)}`);
    }
  }
}

/** `{"message": …}` with the exception in `x-amzn-errortype`, as Bedrock answers. */
export function renderBedrockError(err: RenderableError): RenderedError {
  const body: BedrockErrorBody = { message: err.message };
  return {
    status: err.status,
    headers: { ...errorHeaders(err), "x-amzn-errortype": bedrockExceptionName(err.kind) },
    body: JSON.stringify(body),
  };
}

/**
 * In-stream exceptions: members of the stream unions (ConverseStream's and InvokeModelWithResponseStream's), which
 * the AWS SDKs parse into their error classes — an unmodeled name reaches the caller as raw JSON. A budget cut has
 * no member of its own: it is a modelStreamErrorException whose message names the budget.
 */
export function bedrockStreamExceptionName(type: string): string {
  switch (type) {
    case "rate_limited":
    case "rate_limit_error":
    case "rate_limit_exceeded":
    case "RESOURCE_EXHAUSTED":
      return "throttlingException";
    case "invalid_request":
    case "invalid_request_error":
    case "INVALID_ARGUMENT":
      return "validationException";
    case "upstream_unavailable":
    case "overloaded_error":
    case "UNAVAILABLE":
      return "serviceUnavailableException";
    case "internal":
    case "api_error":
    case "server_error":
    case "INTERNAL":
      return "internalServerException";
    default:
      // Bedrock's own names pass (a bridged upstream exception); anything else failed inside the model's stream.
      return /^[a-z][A-Za-z]*Exception$/.test(type) ? type : "modelStreamErrorException";
  }
}

/**
 * An error after a Bedrock stream began, as the SSE event the gateway encodes into an exception message
 * (providers/bedrock/event-stream-response.ts): `event: <exception>`, `data: {"message": …}`.
 */
export function renderBedrockStreamError(err: RenderableError): string {
  return sseEvent(bedrockStreamExceptionName(err.kind), { message: err.message });
}
