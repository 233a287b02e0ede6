import type { Dialect } from "../dialects/dialect.ts";
import { setMember } from "../json/members.ts";
import type { Operation } from "./endpoints.ts";
import type { ConfigSource, ProviderConfig, ProviderKey } from "./types.ts";

/**
 * Azure OpenAI: the OpenAI wire formats on a resource endpoint (`https://<resource>.openai.azure.com`), with the
 * key in an `api-key` header and models reached through deployments. Two URL styles:
 * - a dated `api-version` (default 2024-10-21, GA): `/openai/deployments/{deployment}/chat/completions?api-version=…`
 *   (also `/embeddings`); the Responses API is `/openai/responses?api-version=…` with the deployment as `model`;
 * - `apiVersion: "v1"`: the v1 API, `/openai/v1/chat/completions` (`/responses`, `/embeddings`) with the deployment
 *   as `model` and no api-version.
 */

export const AZURE_DEFAULT_API_VERSION = "2024-10-21";
export const AZURE_V1 = "v1";

export interface AzureSettings {
  /** A dated api-version (`2024-10-21`, `2025-04-01-preview`) or "v1". */
  apiVersion: string;
  /** Model → deployment name; a model not listed is its own deployment. */
  deployments: Readonly<Record<string, string>>;
}

/** The deployment serving `model`. */
export function azureDeployment(settings: AzureSettings, model: string): string {
  return Object.hasOwn(settings.deployments, model) ? (settings.deployments[model] ?? model) : model;
}

/**
 * Chat and embeddings everywhere; the Responses API with the v1 API or a dated version from 2025-03-01-preview on
 * (older versions have no `/openai/responses`: Responses clients are then translated to Chat Completions).
 */
export function azureDialects(apiVersion: string): readonly Dialect[] {
  const responses = apiVersion === AZURE_V1 || apiVersion.slice(0, 10) >= "2025-03-01";
  return responses ? ["openai-chat", "openai-responses", "openai-embeddings"] : ["openai-chat", "openai-embeddings"];
}

const OP_PATHS: Partial<Record<Operation, string>> = {
  chat: "chat/completions",
  responses: "responses",
  embeddings: "embeddings",
  models: "models",
};

export function azureUpstreamUrl(provider: ProviderConfig, op: Operation, model: string): string {
  const settings = provider.azure;
  const path = OP_PATHS[op];
  if (!settings || !path) throw new Error(`provider ${provider.name} (azure) has no endpoint for ${op}`);
  const base = provider.baseUrl;
  if (settings.apiVersion === AZURE_V1) return `${base}/openai/v1/${path}`;
  const query = `?api-version=${encodeURIComponent(settings.apiVersion)}`;
  if (op === "responses" || op === "models") return `${base}/openai/${path}${query}`;
  return `${base}/openai/deployments/${encodeURIComponent(azureDeployment(settings, model))}/${path}${query}`;
}

/**
 * The body with the deployment as `model` where Azure reads it from the body (the v1 API; the Responses API);
 * deployment URLs carry it in the path, and the client's bytes stay as they are.
 */
export function azureBody(provider: ProviderConfig, op: Operation, model: string, body: Buffer): Buffer {
  const settings = provider.azure;
  if (!settings || op === "models" || (settings.apiVersion !== AZURE_V1 && op !== "responses")) return body;
  const deployment = azureDeployment(settings, model);
  return deployment === model ? body : setMember(body, "model", JSON.stringify(deployment));
}

/** The resource endpoint, also when written as the SDKs take it (`…/openai`, `…/openai/v1/`). */
export function azureResourceUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/openai(\/v1)?$/, "");
}

export interface AzureProviderInput {
  name: string;
  baseUrl: string;
  apiVersion?: string | undefined;
  deployments?: Readonly<Record<string, string>> | undefined;
  keys: readonly ProviderKey[];
  models?: readonly string[] | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  pricingId?: string | null | undefined;
  source: ConfigSource;
}

export function azureProvider(input: AzureProviderInput): ProviderConfig {
  const apiVersion = input.apiVersion ?? AZURE_DEFAULT_API_VERSION;
  const deployments = input.deployments ?? {};
  return {
    name: input.name,
    kind: "azure",
    baseUrl: azureResourceUrl(input.baseUrl),
    auth: "api-key",
    dialects: azureDialects(apiVersion),
    keys: input.keys,
    keyOptional: false,
    // A model with a deployment is served here: bare names resolve to this provider.
    models: [...new Set([...(input.models ?? []), ...Object.keys(deployments)])],
    modelPatterns: [],
    headers: input.headers ?? {},
    // The catalog's Azure entry, which falls back to OpenAI's prices for the models it does not list.
    pricingId: input.pricingId === undefined ? "azure" : input.pricingId,
    source: input.source,
    azure: { apiVersion, deployments },
  };
}
