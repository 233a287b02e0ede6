import { azureBody } from "./azure.ts";
import type { Operation } from "./endpoints.ts";
import type { ProviderConfig } from "./types.ts";
import { vertexAnthropicBody } from "./vertex.ts";

/**
 * Provider rewrites of a body already in the provider's dialect (passthrough bytes or a translated body): Vertex AI's
 * Anthropic shape, Azure's deployment as `model`. Every other provider takes the dialect's body as it is.
 */
export function adaptUpstreamBody(provider: ProviderConfig, op: Operation, model: string, body: Buffer): Buffer {
  switch (provider.kind) {
    case "vertex":
      return op === "messages" || op === "count_tokens" ? vertexAnthropicBody(body, op) : body;
    case "azure":
      return azureBody(provider, op, model, body);
    default:
      return body;
  }
}
