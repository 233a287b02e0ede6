import { openAiErrorObject } from "../openai-chat/errors.ts";
import { type RenderableError, sseEvent } from "../shared/error-shape.ts";
import type { ResponsesErrorEvent } from "./wire.ts";

/**
 * The `event: error` a Responses stream carries when something fails after it began. The error's fields go both at
 * the top level (openai-node's `ResponseErrorEvent`) and nested under `error` (as the live API has sent them), so
 * either reader finds them. HTTP error bodies use the shared OpenAI renderer (`renderOpenAiError`).
 */
export function renderOpenAiResponsesStreamError(err: RenderableError, sequenceNumber?: number): string {
  const error = openAiErrorObject(err);
  const event: ResponsesErrorEvent = {
    type: "error",
    code: error.code,
    message: error.message,
    param: null,
    error: { type: error.type, code: error.code, message: error.message, param: null },
  };
  if (sequenceNumber !== undefined) event.sequence_number = sequenceNumber;
  return sseEvent("error", event);
}
