import type { DialectTranslator } from "../translator.ts";
import { canonicalToRequest } from "./canonical-to-request.ts";
import { canonicalToResponse } from "./canonical-to-response.ts";
import { canonicalToResponsesStream } from "./canonical-to-stream.ts";
import { type ResponsesOutputOptions, responsesOutputOptions } from "./output-options.ts";
import { requestToCanonical } from "./request-to-canonical.ts";
import { responseToCanonical } from "./response-to-canonical.ts";
import { responsesStreamToCanonical } from "./stream-to-canonical.ts";

export type { ResponsesOutputOptions } from "./output-options.ts";
export { responsesOutputOptions } from "./output-options.ts";
export { flatToolName } from "./tools.ts";

function translator(options: ResponsesOutputOptions): DialectTranslator {
  return {
    dialect: "openai-responses",
    requestToCanonical,
    canonicalToRequest,
    responseToCanonical,
    canonicalToResponse: (response, model) => canonicalToResponse(response, model, options),
    streamToCanonical: () => responsesStreamToCanonical,
    canonicalToStream: (model) => canonicalToResponsesStream(model, options),
  };
}

/**
 * The OpenAI Responses converters. Output to a client answers as for plain function tools with encrypted reasoning
 * included; `openAiResponsesTranslatorFor` answers in the shape the client's own request asked for.
 */
export const openAiResponsesTranslator: DialectTranslator = translator({});

/**
 * The converters for one client request: namespaced, custom and local_shell tool calls go back to the client in
 * the shape it declared them, `include` decides whether reasoning carries `encrypted_content`.
 */
export function openAiResponsesTranslatorFor(clientBody: unknown, createdAt?: number): DialectTranslator {
  return translator(responsesOutputOptions(clientBody, createdAt));
}
