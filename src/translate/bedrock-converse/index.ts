import type { DialectTranslator } from "../translator.ts";
import { canonicalToConverseRequest } from "./canonical-to-request.ts";
import { canonicalToConverseResponse } from "./canonical-to-response.ts";
import { converseCanonicalToStream } from "./canonical-to-stream.ts";
import { converseRequestToCanonical } from "./request-to-canonical.ts";
import { converseResponseToCanonical } from "./response-to-canonical.ts";
import { converseStreamToCanonical } from "./stream-to-canonical.ts";

/** Bedrock Converse / ConverseStream, as a client dialect (the /bedrock routes) and as a provider dialect. */
export const bedrockConverseTranslator: DialectTranslator = {
  dialect: "bedrock-converse",
  requestToCanonical: converseRequestToCanonical,
  canonicalToRequest: canonicalToConverseRequest,
  responseToCanonical: converseResponseToCanonical,
  canonicalToResponse: canonicalToConverseResponse,
  streamToCanonical: () => converseStreamToCanonical,
  canonicalToStream: () => converseCanonicalToStream(),
};
