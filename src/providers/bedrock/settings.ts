import type { ProviderEntry } from "../../config/schema.ts";
import { baseUrlEnvName, type ProviderPreset } from "../presets.ts";
import type { ConfigSource, ProviderConfig, ProviderKey } from "../types.ts";
import { BEDROCK_MODEL_PATTERNS, bedrockBaseUrl, regionOfBaseUrl } from "./models.ts";
import { type AwsCredentials, formatAwsKey } from "./sigv4.ts";

/** What a Bedrock provider needs beyond a base URL and keys. */
export interface BedrockSettings {
  /** The AWS region requests are signed for (and whose endpoint the default base URL is). */
  region: string;
}

export const DEFAULT_BEDROCK_REGION = "us-east-1";

/** The region: configured, else read from a `bedrock-runtime.<region>.amazonaws.com` base URL, else us-east-1. */
export function bedrockRegion(configured: string | undefined, baseUrl: string | undefined): string {
  return configured || (baseUrl ? regionOfBaseUrl(baseUrl) : null) || DEFAULT_BEDROCK_REGION;
}

/** The default endpoint for a region, unless a base URL was given. */
export function bedrockEndpoint(region: string, baseUrl: string | undefined): string {
  return baseUrl || bedrockBaseUrl(region);
}

/**
 * Secrets a Bedrock provider takes from the standard AWS environment: the access key pair (+ session token) as one
 * key, and a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`, comma-separated for several) as others.
 */
export function bedrockSecretsFromEnv(env: NodeJS.ProcessEnv): { secret: string; label: string }[] {
  const out: { secret: string; label: string }[] = [];
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (accessKeyId && secretAccessKey) {
    const credentials: AwsCredentials = { accessKeyId, secretAccessKey };
    const sessionToken = env.AWS_SESSION_TOKEN?.trim();
    if (sessionToken) credentials.sessionToken = sessionToken;
    out.push({ secret: formatAwsKey(credentials), label: "AWS_ACCESS_KEY_ID" });
  }
  for (const token of (env.AWS_BEARER_TOKEN_BEDROCK ?? "").split(",")) {
    if (token.trim()) out.push({ secret: token.trim(), label: "AWS_BEARER_TOKEN_BEDROCK" });
  }
  return out;
}

/** `AWS_REGION`, else `AWS_DEFAULT_REGION`, as the AWS SDKs read them. */
export function regionFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || undefined;
}

type KeyIdOf = (source: ConfigSource, secret: string) => string;

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function bedrockProvider(
  preset: ProviderPreset | undefined,
  fields: Pick<ProviderConfig, "name" | "keys" | "source"> & Partial<ProviderConfig>,
  region: string,
  baseUrl: string,
): ProviderConfig {
  return {
    kind: "bedrock",
    auth: "aws-sigv4",
    dialects: ["bedrock-converse"],
    keyOptional: false,
    models: [],
    modelPatterns: preset?.modelPatterns ?? BEDROCK_MODEL_PATTERNS,
    headers: {},
    pricingId: preset?.pricingId ?? "aws",
    ...fields,
    baseUrl: trimSlash(baseUrl),
    bedrock: { region },
  };
}

/**
 * The Bedrock provider the standard AWS environment describes: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 * (+ AWS_SESSION_TOKEN) and/or AWS_BEARER_TOKEN_BEDROCK, in AWS_REGION (or AWS_DEFAULT_REGION);
 * `TOLLGATE_BEDROCK_BASE_URL` overrides the endpoint. Null when no credential is set.
 */
export function bedrockFromEnv(preset: ProviderPreset, env: NodeJS.ProcessEnv, keyId: KeyIdOf): ProviderConfig | null {
  const secrets = bedrockSecretsFromEnv(env);
  if (secrets.length === 0) return null;
  const explicit = env[baseUrlEnvName(preset.name)] || undefined;
  const region = bedrockRegion(regionFromEnv(env), explicit);
  const keys: ProviderKey[] = secrets.map(({ secret, label }) => ({
    id: keyId("env", secret),
    secret,
    label,
    source: "env",
  }));
  return bedrockProvider(preset, { name: preset.name, keys, source: "env" }, region, bedrockEndpoint(region, explicit));
}

/** A Bedrock provider from the config file: `region`, `aws` credentials and/or `apiKeys`, optional `baseUrl`. */
export function bedrockFromEntry(
  name: string,
  entry: ProviderEntry,
  context: { preset: ProviderPreset | undefined; keys: ProviderKey[]; env: NodeJS.ProcessEnv; keyId: KeyIdOf },
): ProviderConfig {
  const { env, keyId, preset } = context;
  const explicit = env[baseUrlEnvName(name)] || entry.baseUrl || undefined;
  const region = bedrockRegion(entry.region ?? regionFromEnv(env), explicit);
  const keys = [...context.keys];
  if (entry.aws) {
    const secret = formatAwsKey(entry.aws);
    keys.unshift({ id: keyId("config", secret), secret, label: "aws", source: "config" });
  }
  return bedrockProvider(
    preset,
    {
      name,
      keys,
      source: "config",
      models: entry.models ?? [],
      headers: entry.headers ?? {},
      pricingId: entry.pricingId !== undefined ? entry.pricingId : (preset?.pricingId ?? "aws"),
    },
    region,
    bedrockEndpoint(region, explicit),
  );
}
