import type { DialectTranslator } from "../translator.ts";
import { canonicalToAnthropicRequest } from "./canonical-to-request.ts";
import { canonicalToAnthropicResponse } from "./canonical-to-response.ts";
import { anthropicCanonicalToStream } from "./canonical-to-stream.ts";
import { anthropicRequestToCanonical } from "./request-to-canonical.ts";
import { anthropicResponseToCanonical } from "./response-to-canonical.ts";
import { anthropicStreamToCanonical } from "./stream-to-canonical.ts";

/** Anthropic Messages, as a client dialect and as a provider dialect. */
export const anthropicTranslator: DialectTranslator = {
  dialect: "anthropic",
  requestToCanonical: anthropicRequestToCanonical,
  canonicalToRequest: canonicalToAnthropicRequest,
  responseToCanonical: anthropicResponseToCanonical,
  canonicalToResponse: canonicalToAnthropicResponse,
  streamToCanonical: () => anthropicStreamToCanonical,
  canonicalToStream: (model) => anthropicCanonicalToStream(model),
};
