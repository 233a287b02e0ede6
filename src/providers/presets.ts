import type { Dialect } from "../dialects/dialect.ts";
import { BEDROCK_MODEL_PATTERNS, bedrockBaseUrl } from "./bedrock/models.ts";

/** How a provider authenticates: which header carries the API key. */
export type AuthStyle = "x-api-key" | "bearer" | "x-goog-api-key" | "none" | "aws-sigv4" | "api-key";

/** The wire family of a provider: decides its endpoint paths. */
export type ProviderKind = "anthropic" | "openai" | "gemini" | "bedrock" | "azure" | "vertex";

/**
 * What Tollgate knows about a provider out of the box. A preset is data only: endpoints and auth are derived
 * from `kind` (providers/endpoints.ts), so an OpenAI-compatible provider is a few lines here.
 */
export interface ProviderPreset {
  /** Registry name and the `provider/` prefix users write. */
  name: string;
  kind: ProviderKind;
  /** Default base URL, written the way the provider's official SDK takes it. */
  baseUrl: string;
  auth: AuthStyle;
  /** Client dialects this provider can serve without translation. */
  dialects: readonly Dialect[];
  /** Env var holding its API key(s), comma-separated for several. */
  apiKeyEnv: string;
  /** Local servers need no key; they register when their base-URL env var is set. */
  keyOptional?: boolean;
  /** Bare model names that resolve to this provider (regular expressions on the model id). */
  modelPatterns: readonly RegExp[];
  /** Provider id in the price catalog (@pydantic/genai-prices); null when it has no public prices. */
  pricingId: string | null;
}

const OPENAI_COMPATIBLE: readonly Dialect[] = ["openai-chat", "openai-embeddings"];

export const PROVIDER_PRESETS: readonly ProviderPreset[] = [
  {
    name: "anthropic",
    kind: "anthropic",
    baseUrl: "https://api.anthropic.com",
    auth: "x-api-key",
    dialects: ["anthropic"],
    apiKeyEnv: "ANTHROPIC_API_KEY",
    modelPatterns: [/^claude-/],
    pricingId: "anthropic",
  },
  {
    name: "openai",
    kind: "openai",
    baseUrl: "https://api.openai.com/v1",
    auth: "bearer",
    dialects: ["openai-chat", "openai-responses", "openai-embeddings"],
    apiKeyEnv: "OPENAI_API_KEY",
    modelPatterns: [/^gpt-/, /^o\d/, /^chatgpt-/, /^codex-/, /^text-embedding-/, /^computer-use-/],
    pricingId: "openai",
  },
  {
    name: "gemini",
    kind: "gemini",
    baseUrl: "https://generativelanguage.googleapis.com",
    auth: "x-goog-api-key",
    dialects: ["gemini"],
    apiKeyEnv: "GEMINI_API_KEY",
    modelPatterns: [/^gemini-/, /^gemma-/, /^models\/gemini-/],
    pricingId: "google",
  },
  {
    // AWS credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (config/load.ts); a Bedrock API key
    // from AWS_BEARER_TOKEN_BEDROCK. The region (AWS_REGION) picks the endpoint.
    name: "bedrock",
    kind: "bedrock",
    baseUrl: bedrockBaseUrl("us-east-1"),
    auth: "aws-sigv4",
    dialects: ["bedrock-converse"],
    apiKeyEnv: "AWS_BEARER_TOKEN_BEDROCK",
    modelPatterns: BEDROCK_MODEL_PATTERNS,
    pricingId: "aws",
  },
  {
    name: "groq",
    kind: "openai",
    baseUrl: "https://api.groq.com/openai/v1",
    auth: "bearer",
    dialects: OPENAI_COMPATIBLE,
    apiKeyEnv: "GROQ_API_KEY",
    modelPatterns: [],
    pricingId: "groq",
  },
  {
    name: "mistral",
    kind: "openai",
    baseUrl: "https://api.mistral.ai/v1",
    auth: "bearer",
    dialects: OPENAI_COMPATIBLE,
    apiKeyEnv: "MISTRAL_API_KEY",
    modelPatterns: [/^mistral-/, /^codestral-/, /^devstral-/, /^magistral-/, /^ministral-/, /^pixtral-/],
    pricingId: "mistral",
  },
  {
    name: "deepseek",
    kind: "openai",
    baseUrl: "https://api.deepseek.com/v1",
    auth: "bearer",
    dialects: OPENAI_COMPATIBLE,
    apiKeyEnv: "DEEPSEEK_API_KEY",
    modelPatterns: [/^deepseek-/],
    pricingId: "deepseek",
  },
  {
    name: "together",
    kind: "openai",
    baseUrl: "https://api.together.xyz/v1",
    auth: "bearer",
    dialects: OPENAI_COMPATIBLE,
    apiKeyEnv: "TOGETHER_API_KEY",
    modelPatterns: [],
    pricingId: "together",
  },
  {
    name: "fireworks",
    kind: "openai",
    baseUrl: "https://api.fireworks.ai/inference/v1",
    auth: "bearer",
    dialects: OPENAI_COMPATIBLE,
    apiKeyEnv: "FIREWORKS_API_KEY",
    modelPatterns: [/^accounts\/fireworks\//],
    pricingId: "fireworks",
  },
  {
    name: "openrouter",
    kind: "openai",
    baseUrl: "https://openrouter.ai/api/v1",
    auth: "bearer",
    dialects: ["openai-chat", "openai-responses", "openai-embeddings"],
    apiKeyEnv: "OPENROUTER_API_KEY",
    modelPatterns: [],
    pricingId: "openrouter",
  },
  {
    name: "xai",
    kind: "openai",
    baseUrl: "https://api.x.ai/v1",
    auth: "bearer",
    dialects: ["openai-chat", "openai-responses"],
    apiKeyEnv: "XAI_API_KEY",
    modelPatterns: [/^grok-/],
    pricingId: "x-ai",
  },
  {
    name: "cerebras",
    kind: "openai",
    baseUrl: "https://api.cerebras.ai/v1",
    auth: "bearer",
    dialects: OPENAI_COMPATIBLE,
    apiKeyEnv: "CEREBRAS_API_KEY",
    modelPatterns: [],
    pricingId: "cerebras",
  },
  {
    name: "ollama",
    kind: "openai",
    baseUrl: "http://127.0.0.1:11434/v1",
    auth: "bearer",
    dialects: ["openai-chat", "openai-responses", "openai-embeddings"],
    apiKeyEnv: "OLLAMA_API_KEY",
    keyOptional: true,
    modelPatterns: [],
    pricingId: null,
  },
  {
    name: "vllm",
    kind: "openai",
    baseUrl: "http://127.0.0.1:8000/v1",
    auth: "bearer",
    dialects: ["openai-chat", "openai-responses", "openai-embeddings"],
    apiKeyEnv: "VLLM_API_KEY",
    keyOptional: true,
    modelPatterns: [],
    pricingId: null,
  },
  {
    name: "lmstudio",
    kind: "openai",
    baseUrl: "http://127.0.0.1:1234/v1",
    auth: "bearer",
    dialects: ["openai-chat", "openai-responses", "openai-embeddings"],
    apiKeyEnv: "LMSTUDIO_API_KEY",
    keyOptional: true,
    modelPatterns: [],
    pricingId: null,
  },
];

const BY_NAME = new Map(PROVIDER_PRESETS.map((p) => [p.name, p]));

export function findPreset(name: string): ProviderPreset | undefined {
  return BY_NAME.get(name);
}

/** `TOLLGATE_<NAME>_BASE_URL`, the env var that overrides a provider's base URL. */
export function baseUrlEnvName(providerName: string): string {
  return `TOLLGATE_${providerName.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_BASE_URL`;
}
