import { type AzureSettings, azureProvider } from "../providers/azure.ts";
import {
  CachedAccessToken,
  jwtBearerMinter,
  readServiceAccountFile,
  serviceAccountKeyId,
} from "../providers/google-auth.ts";
import { baseUrlEnvName } from "../providers/presets.ts";
import type { ProviderConfig, ProviderKey } from "../providers/types.ts";
import { vertexProvider } from "../providers/vertex.ts";
import { providerKeyFromEntry } from "./provider-key-entry.ts";
import type { ProviderEntry } from "./schema.ts";

/**
 * Azure OpenAI and Vertex AI from the config file or the environment. Neither is a plain preset: Azure needs its
 * resource endpoint, API version and deployments; Vertex AI a project, a region and a service-account key. Errors are
 * plain Errors worded for the person starting Tollgate (config/load.ts makes them ConfigErrors).
 */

export type CloudKind = "azure" | "vertex";

/** Whether a config entry is an Azure or Vertex AI provider: by `kind`, else by `preset` or its own name. */
export function cloudKindOf(name: string, entry: ProviderEntry): CloudKind | null {
  const kind = entry.kind ?? entry.preset ?? name;
  return kind === "azure" || kind === "vertex" ? kind : null;
}

type KeyIdOf = (source: "env" | "config", secret: string) => string;

export function cloudProviderFromEntry(
  kind: CloudKind,
  name: string,
  entry: ProviderEntry,
  env: NodeJS.ProcessEnv,
  keyId: KeyIdOf,
): ProviderConfig {
  return kind === "azure" ? azureFromEntry(name, entry, env, keyId) : vertexFromEntry(name, entry, env);
}

const AZURE_DIALECTS = ["openai-chat", "openai-responses", "openai-embeddings"];

function azureFromEntry(name: string, entry: ProviderEntry, env: NodeJS.ProcessEnv, keyId: KeyIdOf): ProviderConfig {
  const where = `providers.${name}`;
  const baseUrl = env[baseUrlEnvName(name)] || entry.baseUrl;
  if (!baseUrl)
    throw new Error(`${where}: "baseUrl" is required: the resource endpoint, https://<resource>.openai.azure.com`);
  let keys: ProviderKey[] = (entry.apiKeys ?? []).map((k) => providerKeyFromEntry(k, keyId));
  if (keys.length === 0) keys = azureKeysFromEnv(env, keyId);
  if (keys.length === 0) throw new Error(`${where}: "apiKeys" is required (or set AZURE_OPENAI_API_KEY)`);
  const foreign = (entry.dialects ?? []).filter((d) => !AZURE_DIALECTS.includes(d));
  if (foreign.length > 0) {
    throw new Error(
      `${where}.dialects: Azure OpenAI speaks only ${AZURE_DIALECTS.join(", ")} (got ${foreign.join(", ")})`,
    );
  }
  const provider = azureProvider({
    name,
    baseUrl,
    apiVersion: entry.apiVersion,
    deployments: entry.deployments,
    keys,
    models: entry.models,
    headers: entry.headers,
    pricingId: entry.pricingId,
    source: "config",
  });
  return entry.dialects ? { ...provider, dialects: entry.dialects } : provider;
}

function azureKeysFromEnv(env: NodeJS.ProcessEnv, keyId: KeyIdOf): ProviderKey[] {
  return (env.AZURE_OPENAI_API_KEY ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((secret) => ({ id: keyId("env", secret), secret, label: "AZURE_OPENAI_API_KEY", source: "env" as const }));
}

/** `gpt-4.1=my-deployment,gpt-4o=other` (TOLLGATE_AZURE_DEPLOYMENTS). */
function parseDeployments(text: string | undefined): AzureSettings["deployments"] {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf("=");
    const model = pair.slice(0, eq).trim();
    const deployment = pair.slice(eq + 1).trim();
    if (eq <= 0 || !model || !deployment) {
      throw new Error(`TOLLGATE_AZURE_DEPLOYMENTS must be "model=deployment,…", got "${text}"`);
    }
    out[model] = deployment;
  }
  return out;
}

/**
 * Azure OpenAI from the environment, named as the OpenAI SDK's AzureOpenAI reads it: AZURE_OPENAI_API_KEY and
 * AZURE_OPENAI_ENDPOINT (or TOLLGATE_AZURE_BASE_URL), OPENAI_API_VERSION (or TOLLGATE_AZURE_API_VERSION);
 * TOLLGATE_AZURE_DEPLOYMENTS maps models to deployments. Null without a key and an endpoint.
 */
export function azureFromEnv(env: NodeJS.ProcessEnv, keyId: KeyIdOf): ProviderConfig | null {
  const keys = azureKeysFromEnv(env, keyId);
  const baseUrl = env[baseUrlEnvName("azure")] || env.AZURE_OPENAI_ENDPOINT;
  if (keys.length === 0 || !baseUrl) return null;
  return azureProvider({
    name: "azure",
    baseUrl,
    apiVersion: env.TOLLGATE_AZURE_API_VERSION || env.OPENAI_API_VERSION || undefined,
    deployments: parseDeployments(env.TOLLGATE_AZURE_DEPLOYMENTS),
    keys,
    source: "env",
  });
}

function vertexFromEntry(name: string, entry: ProviderEntry, env: NodeJS.ProcessEnv): ProviderConfig {
  const where = `providers.${name}`;
  if (entry.apiKeys?.length) {
    throw new Error(`${where}: Vertex AI authenticates with a service account ("credentialsFile"), not "apiKeys"`);
  }
  if (entry.dialects)
    throw new Error(`${where}.dialects: Vertex AI's dialect follows the model (Claude: anthropic; Gemini: gemini)`);
  const credentialsFile = entry.credentialsFile ?? env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!credentialsFile) {
    throw new Error(
      `${where}: Vertex AI needs a service-account key: set "credentialsFile" or GOOGLE_APPLICATION_CREDENTIALS`,
    );
  }
  return vertexFrom(name, {
    credentialsFile,
    project: entry.project,
    region: entry.region,
    baseUrl: env[baseUrlEnvName(name)] || entry.baseUrl,
    models: entry.models,
    headers: entry.headers,
    pricingId: entry.pricingId,
    source: "config",
    where,
  });
}

/**
 * Vertex AI from the environment: TOLLGATE_VERTEX_PROJECT registers it (the opt-in: GOOGLE_APPLICATION_CREDENTIALS
 * alone is set on many machines for other reasons), TOLLGATE_VERTEX_REGION (default `global`), the key from
 * TOLLGATE_VERTEX_CREDENTIALS_FILE or GOOGLE_APPLICATION_CREDENTIALS; TOLLGATE_VERTEX_BASE_URL overrides the endpoint.
 */
export function vertexFromEnv(env: NodeJS.ProcessEnv): ProviderConfig | null {
  const project = env.TOLLGATE_VERTEX_PROJECT?.trim();
  if (!project) return null;
  const credentialsFile = env.TOLLGATE_VERTEX_CREDENTIALS_FILE || env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!credentialsFile) {
    throw new Error(
      "TOLLGATE_VERTEX_PROJECT is set but no service-account key is: set TOLLGATE_VERTEX_CREDENTIALS_FILE or GOOGLE_APPLICATION_CREDENTIALS",
    );
  }
  return vertexFrom("vertex", {
    credentialsFile,
    project,
    region: env.TOLLGATE_VERTEX_REGION?.trim() || undefined,
    baseUrl: env[baseUrlEnvName("vertex")] || undefined,
    source: "env",
    where: "Vertex AI",
  });
}

function vertexFrom(
  name: string,
  o: {
    credentialsFile: string;
    project: string | undefined;
    region: string | undefined;
    baseUrl: string | undefined;
    models?: readonly string[] | undefined;
    headers?: Readonly<Record<string, string>> | undefined;
    pricingId?: string | null | undefined;
    source: "env" | "config";
    where: string;
  },
): ProviderConfig {
  let account: ReturnType<typeof readServiceAccountFile>;
  try {
    account = readServiceAccountFile(o.credentialsFile);
  } catch (err) {
    throw new Error(`${o.where}: ${(err as Error).message}`);
  }
  const project = o.project ?? account.projectId;
  if (!project) throw new Error(`${o.where}: "project" is required (the key file names none)`);
  return vertexProvider({
    name,
    project,
    region: o.region ?? "global",
    baseUrl: o.baseUrl,
    tokenAuth: new CachedAccessToken(serviceAccountKeyId(account), jwtBearerMinter(account)),
    ...(o.models ? { models: o.models } : {}),
    ...(o.headers ? { headers: o.headers } : {}),
    ...(o.pricingId !== undefined ? { pricingId: o.pricingId } : {}),
    source: o.source,
  });
}
