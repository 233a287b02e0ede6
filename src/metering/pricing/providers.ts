/**
 * Tollgate provider names → provider ids in the genai-prices catalog. The same mapping as `pricingId` in
 * providers/presets.ts, kept here so pricing also accepts either spelling (config files and `/api/pricing` may use
 * the catalog id) and so names outside the presets (e.g. "bedrock", "azure") still resolve through the catalog's
 * own provider matching.
 */
const CATALOG_IDS: Readonly<Record<string, string>> = {
  anthropic: "anthropic",
  openai: "openai",
  gemini: "google",
  google: "google",
  vertex: "google",
  groq: "groq",
  mistral: "mistral",
  deepseek: "deepseek",
  together: "together",
  fireworks: "fireworks",
  openrouter: "openrouter",
  xai: "x-ai",
  "x-ai": "x-ai",
  cerebras: "cerebras",
  bedrock: "aws",
  aws: "aws",
};

/** Local servers: no public prices, so their tokens are priced only by overrides. */
const SELF_HOSTED: ReadonlySet<string> = new Set(["ollama", "vllm", "lmstudio"]);

export type ProviderRef = { kind: "catalog"; name: string; catalogId: string } | { kind: "self-hosted"; name: string };

export function resolveProviderName(provider: string): ProviderRef {
  const name = provider.trim().toLowerCase();
  if (SELF_HOSTED.has(name)) return { kind: "self-hosted", name };
  return { kind: "catalog", name, catalogId: CATALOG_IDS[name] ?? name };
}

/** The spelling overrides are compared in: the catalog id where one is known ("gemini" and "google" are equal). */
export function canonicalProvider(provider: string): string {
  const ref = resolveProviderName(provider);
  return ref.kind === "catalog" ? ref.catalogId : ref.name;
}
