import { azureUpstreamUrl } from "./azure.ts";
import { parseAwsKey } from "./bedrock/sigv4.ts";
import type { ProviderConfig } from "./types.ts";
import { vertexUpstreamUrl } from "./vertex.ts";

/** What the client asked for, independent of which provider serves it. */
export type Operation =
  | "messages"
  | "count_tokens"
  | "chat"
  | "responses"
  | "embeddings"
  | "models"
  | "generateContent"
  | "streamGenerateContent"
  | "countTokens"
  /** Bedrock: InvokeModel (an Anthropic body) and Converse, each with its streaming variant. */
  | "invoke"
  | "invoke-stream"
  | "converse"
  | "converse-stream";

/** Bedrock runtime paths under `/model/{modelId}/`. */
const BEDROCK_PATHS: Partial<Record<Operation, string>> = {
  invoke: "invoke",
  "invoke-stream": "invoke-with-response-stream",
  converse: "converse",
  "converse-stream": "converse-stream",
};

/**
 * The upstream URL for an operation on a provider; `search` is the client's query string (with `?`) or "";
 * `stream` picks the streaming endpoint where only the URL says it (Vertex AI's streamRawPredict).
 */
export function upstreamUrl(
  provider: ProviderConfig,
  op: Operation,
  model: string,
  search: string,
  apiVersion = "v1beta",
  stream = false,
): string {
  const base = provider.baseUrl;
  switch (provider.kind) {
    case "anthropic":
      if (op === "messages") return `${base}/v1/messages${search}`;
      if (op === "count_tokens") return `${base}/v1/messages/count_tokens${search}`;
      if (op === "models") return `${base}/v1/models${search}`;
      break;
    case "openai":
      if (op === "chat") return `${base}/chat/completions${search}`;
      if (op === "responses") return `${base}/responses${search}`;
      if (op === "embeddings") return `${base}/embeddings${search}`;
      if (op === "models") return `${base}/models${search}`;
      break;
    case "gemini":
      if (op === "models") return `${base}/${apiVersion}/models${search}`;
      if (op === "generateContent" || op === "streamGenerateContent" || op === "countTokens") {
        return `${base}/${apiVersion}/models/${encodeURIComponent(model)}:${op}${search}`;
      }
      break;
    case "bedrock": {
      const path = BEDROCK_PATHS[op];
      if (path !== undefined) return `${base}/model/${encodeURIComponent(model)}/${path}`;
      break;
    }
    case "azure":
      return azureUpstreamUrl(provider, op, model);
    case "vertex":
      return vertexUpstreamUrl(provider, op, model, search, stream);
    default: {
      const unreachable: never = provider.kind;
      throw new Error(`unknown provider kind ${String(unreachable)}`);
    }
  }
  throw new Error(`provider ${provider.name} (${provider.kind}) has no endpoint for ${op}`);
}

/** The header that carries the provider's API key, set on every upstream request. */
export function authHeaders(provider: ProviderConfig, secret: string): Record<string, string> {
  switch (provider.auth) {
    case "x-api-key":
      return { "x-api-key": secret };
    case "bearer":
      return { authorization: `Bearer ${secret}` };
    case "x-goog-api-key":
      return { "x-goog-api-key": secret };
    case "api-key":
      return { "api-key": secret };
    case "none":
      return {};
    case "aws-sigv4":
      // Access key pairs sign each request (providers/bedrock/sigv4.ts); a Bedrock API key is a bearer token.
      return parseAwsKey(secret) === null ? { authorization: `Bearer ${secret}` } : {};
    default: {
      const unreachable: never = provider.auth;
      throw new Error(`unknown auth style ${String(unreachable)}`);
    }
  }
}
