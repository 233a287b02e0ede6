import type { DialectTranslator } from "../translator.ts";
import { canonicalToOpenAiChatRequest } from "./canonical-to-request.ts";
import { canonicalToOpenAiChatResponse } from "./canonical-to-response.ts";
import { createCanonicalToOpenAiChatStream } from "./canonical-to-stream.ts";
import { openAiChatRequestToCanonical } from "./request-to-canonical.ts";
import { openAiChatResponseToCanonical } from "./response-to-canonical.ts";
import { createOpenAiChatStreamToCanonical } from "./stream-to-canonical.ts";

export { canonicalToOpenAiChatRequest, type OpenAiChatRequestOptions } from "./canonical-to-request.ts";
export {
  canonicalToOpenAiChatResponse,
  type OpenAiChatOutputOptions,
  toOpenAiChatFinishReason,
  toOpenAiChatUsage,
} from "./canonical-to-response.ts";
export { createCanonicalToOpenAiChatStream, type OpenAiChatStreamOptions } from "./canonical-to-stream.ts";
export { openAiChatRequestToCanonical } from "./request-to-canonical.ts";
export { mapOpenAiChatFinishReason, openAiChatResponseToCanonical } from "./response-to-canonical.ts";
export { createOpenAiChatStreamToCanonical, STREAM_INCOMPLETE } from "./stream-to-canonical.ts";

/**
 * OpenAI Chat Completions (and the compatible servers: Azure, Groq, DeepSeek, xAI …). The client stream always ends
 * with the usage chunk; a pipeline that knows the client did not ask `stream_options.include_usage` calls
 * `createCanonicalToOpenAiChatStream(model, { includeUsage: false })` instead.
 */
export const openAiChatTranslator: DialectTranslator = {
  dialect: "openai-chat",
  requestToCanonical: openAiChatRequestToCanonical,
  canonicalToRequest: (request, options) =>
    canonicalToOpenAiChatRequest(request, options?.provider === "deepseek" ? { maxTokensField: "max_tokens" } : {}),
  responseToCanonical: openAiChatResponseToCanonical,
  canonicalToResponse: (response, model) => canonicalToOpenAiChatResponse(response, model),
  streamToCanonical: createOpenAiChatStreamToCanonical,
  canonicalToStream: (model, options) =>
    createCanonicalToOpenAiChatStream(model, { includeUsage: options?.includeUsage ?? true }),
};
