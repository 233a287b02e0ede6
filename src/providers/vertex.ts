import type { Dialect } from "../dialects/dialect.ts";
import { defaultMember, removeMember } from "../json/members.ts";
import type { Operation } from "./endpoints.ts";
import type { ConfigSource, ProviderConfig, TokenAuth } from "./types.ts";

/**
 * Google Vertex AI: one provider serving two publishers. Claude models speak the Anthropic Messages API through
 * `…/publishers/anthropic/models/{model}:rawPredict|streamRawPredict` (the body without `model`, with
 * `anthropic_version: "vertex-2023-10-16"`); Gemini models speak the Gemini API through
 * `…/publishers/google/models/{model}:generateContent|streamGenerateContent|countTokens`. So the provider's dialect
 * depends on the model (`dialectsFor`); auth is an OAuth2 access token from a service account (google-auth.ts).
 */

export interface VertexSettings {
  project: string;
  /** A region (`us-east5`), a multi-region (`us`, `eu`) or `global`. */
  region: string;
}

export const VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16";

/** The API root for a region, as Anthropic's Vertex SDK builds it (`…/v1`). */
export function vertexBaseUrl(region: string): string {
  switch (region) {
    case "global":
      return "https://aiplatform.googleapis.com/v1";
    case "us":
    case "eu":
      return `https://aiplatform.${region}.rep.googleapis.com/v1`;
    default:
      return `https://${region}-aiplatform.googleapis.com/v1`;
  }
}

/** Claude models are Anthropic's on Vertex; every other model is Google's (Gemini, Gemma). */
export function vertexPublisher(model: string): "anthropic" | "google" {
  return /^claude-/.test(model) ? "anthropic" : "google";
}

const ANTHROPIC: readonly Dialect[] = ["anthropic"];
const GEMINI: readonly Dialect[] = ["gemini"];

export function vertexDialects(model: string): readonly Dialect[] {
  return vertexPublisher(model) === "anthropic" ? ANTHROPIC : GEMINI;
}

/** A model id in a path: escaped, except the `@` of Vertex's version suffix (`claude-sonnet-4-5@20250929`). */
function pathModel(model: string): string {
  return encodeURIComponent(model).replaceAll("%40", "@");
}

export function vertexUpstreamUrl(
  provider: ProviderConfig,
  op: Operation,
  model: string,
  search: string,
  stream: boolean,
): string {
  const settings = provider.vertex;
  if (!settings) throw new Error(`provider ${provider.name} has no Vertex AI project and region`);
  const publishers = `${provider.baseUrl}/projects/${encodeURIComponent(settings.project)}/locations/${encodeURIComponent(settings.region)}/publishers`;
  switch (op) {
    // Anthropic's `?beta=true` means nothing here (the betas travel in the anthropic-beta header).
    case "messages":
      return `${publishers}/anthropic/models/${pathModel(model)}:${stream ? "streamRawPredict" : "rawPredict"}`;
    case "count_tokens":
      return `${publishers}/anthropic/models/count-tokens:rawPredict`;
    case "generateContent":
    case "countTokens":
      return `${publishers}/google/models/${pathModel(model)}:${op}`;
    case "streamGenerateContent":
      return `${publishers}/google/models/${pathModel(model)}:streamGenerateContent${search}`;
    default:
      throw new Error(`provider ${provider.name} (vertex) has no endpoint for ${op}`);
  }
}

/**
 * An Anthropic Messages body as Vertex takes it: the model is in the path, not the body (count_tokens keeps it),
 * and `anthropic_version` is required (a client's own value is kept).
 */
export function vertexAnthropicBody(body: Buffer, op: Operation): Buffer {
  const withoutModel = op === "messages" ? removeMember(body, "model") : body;
  return defaultMember(withoutModel, "anthropic_version", JSON.stringify(VERTEX_ANTHROPIC_VERSION));
}

export interface VertexProviderInput {
  name: string;
  project: string;
  region: string;
  /** Default: the region's endpoint (vertexBaseUrl). */
  baseUrl?: string | undefined;
  tokenAuth: TokenAuth;
  models?: readonly string[];
  headers?: Readonly<Record<string, string>>;
  pricingId?: string | null;
  source: ConfigSource;
}

export function vertexProvider(input: VertexProviderInput): ProviderConfig {
  return {
    name: input.name,
    kind: "vertex",
    baseUrl: (input.baseUrl ?? vertexBaseUrl(input.region)).replace(/\/+$/, ""),
    // The minted access token travels as a bearer token.
    auth: "bearer",
    dialects: ["anthropic", "gemini"],
    dialectsFor: vertexDialects,
    keys: [],
    keyOptional: false,
    models: input.models ?? [],
    modelPatterns: [],
    headers: input.headers ?? {},
    // The catalog's Google entry prices Vertex's Claude and Gemini models (Claude ids with an `@date` suffix too).
    pricingId: input.pricingId === undefined ? "google" : input.pricingId,
    source: input.source,
    tokenAuth: input.tokenAuth,
    vertex: { project: input.project, region: input.region },
  };
}
