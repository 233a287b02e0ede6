import type { Dialect } from "../dialects/dialect.ts";
import type { AzureSettings } from "./azure.ts";
import type { BedrockSettings } from "./bedrock/settings.ts";
import type { AuthStyle, ProviderKind } from "./presets.ts";
import type { VertexSettings } from "./vertex.ts";

/** Where a piece of configuration came from; API-made providers live in the database. */
export type ConfigSource = "env" | "config" | "api";

export interface ProviderKey {
  /** Stable, non-secret id (logged on each request). */
  id: string;
  secret: string;
  label: string | null;
  source: ConfigSource;
  /** Share of the provider's traffic relative to its other keys (routing/provider-health.ts); absent: 1. */
  weight?: number;
  /** Models this key may serve (exact names or globs, governance/entities/globs.ts); absent or null: every model. */
  models?: readonly string[] | null;
}

/** A provider as the data plane sees it: resolved, immutable, part of a registry snapshot. */
export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  auth: AuthStyle;
  dialects: readonly Dialect[];
  keys: readonly ProviderKey[];
  keyOptional: boolean;
  /** Model ids this provider is declared to serve (bare names resolve to it). */
  models: readonly string[];
  modelPatterns: readonly RegExp[];
  /** Extra headers sent on every upstream request. */
  headers: Readonly<Record<string, string>>;
  /** Provider id in the price catalog. */
  pricingId: string | null;
  source: ConfigSource;
  /** A dialect that depends on the model (Vertex AI: Claude speaks anthropic, Gemini gemini); `dialects` is their union. */
  dialectsFor?: (model: string) => readonly Dialect[];
  /** Short-lived access tokens minted from a long-lived credential (Vertex AI service accounts), instead of `keys`. */
  tokenAuth?: TokenAuth;
  /** Azure OpenAI: API version and model → deployment names (providers/azure.ts). */
  azure?: AzureSettings;
  /** Vertex AI: project and region (providers/vertex.ts). */
  vertex?: VertexSettings;
  /** AWS Bedrock: the signing region (providers/bedrock/settings.ts). */
  bedrock?: BedrockSettings;
}

/** Access tokens a provider mints itself; its auth style (bearer) carries them like an API key. */
export interface TokenAuth {
  /** Stable, non-secret id, logged as the provider key id. */
  readonly id: string;
  /** The current token: synchronous while one is cached, a promise only while the first (or a lapsed one) is minted. */
  token(): string | Promise<string>;
  /** The upstream refused this token (401): mint another off the request path. */
  rejected(token: string): void;
}
