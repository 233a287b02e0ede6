import type { DialectTranslator } from "../translator.ts";
import { canonicalToGeminiRequest } from "./canonical-to-request.ts";
import { canonicalToGeminiResponse } from "./canonical-to-response.ts";
import { canonicalToGeminiStream } from "./canonical-to-stream.ts";
import { geminiRequestToCanonical } from "./request-to-canonical.ts";
import { geminiResponseToCanonical } from "./response-to-canonical.ts";
import { geminiStreamToCanonical } from "./stream-to-canonical.ts";

/**
 * Gemini `generateContent` / `streamGenerateContent?alt=sse` ⇄ canonical. The model and the choice of streaming
 * live in the URL, not the body: `requestToCanonical` returns `model: ""` and `stream: false` for the caller to
 * fill from the path, and `canonicalToRequest` writes neither (the caller builds the path from `request.model`).
 */
export const geminiTranslator: DialectTranslator = {
  dialect: "gemini",
  requestToCanonical: geminiRequestToCanonical,
  canonicalToRequest: canonicalToGeminiRequest,
  responseToCanonical: geminiResponseToCanonical,
  canonicalToResponse: canonicalToGeminiResponse,
  streamToCanonical: geminiStreamToCanonical,
  canonicalToStream: canonicalToGeminiStream,
};
