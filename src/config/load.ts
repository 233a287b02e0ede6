import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { AlertsSection } from "../alerts/config.ts";
import type { SemanticConfig } from "../cache/semantic.ts";
import type { KeyRequirement } from "../governance/authenticate.ts";
import { hashVirtualKeySecret, isWellFormedVirtualKey, secretPrefix } from "../governance/entities/key-material.ts";
import { FALLBACK_ENV_ORDER, type FallbackPrice, fallbackPriceSchema } from "../metering/pricing/fallback.ts";
import { type DogStatsdConfig, resolveDogStatsd } from "../metrics/dogstatsd-config.ts";
import { promLabelName } from "../metrics/label-names.ts";
import { bedrockFromEntry, bedrockFromEnv } from "../providers/bedrock/settings.ts";
import { baseUrlEnvName, findPreset, PROVIDER_PRESETS, type ProviderPreset } from "../providers/presets.ts";
import type { ConfigSource, ProviderConfig, ProviderKey } from "../providers/types.ts";
import type { ModelAlias } from "../routing/aliases.ts";
import { type ResilienceConfig, resolveResilience } from "../routing/resilience-config.ts";
import type { RoutingSection } from "../routing/rules/schemas.ts";
import { resolveTelemetry, type TelemetryConfig } from "../telemetry/config.ts";
import { azureFromEnv, cloudKindOf, cloudProviderFromEntry, vertexFromEnv } from "./cloud-providers.ts";
import { providerKeyFromEntry } from "./provider-key-entry.ts";
import {
  type ConfigFile,
  ConfigFileSchema,
  type ConfigGovernance,
  type GovernanceSection,
  type ProviderEntry,
  VIRTUAL_KEY_SHAPE_HINT,
} from "./schema.ts";
import { describeIssues } from "./zod-issues.ts";

export interface Timeouts {
  /** TCP/TLS connect. */
  connectMs: number;
  /** Until the upstream's response headers (first byte). Non-streaming replies arrive whole, so this is long. */
  firstByteMs: number;
  /** Silence allowed between two body chunks of a stream. */
  idleMs: number;
}

/** The resolved configuration the app is built from. */
export interface GatewayConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | null;
  /** Shared counters for several gateway processes; in-process counters when null. */
  redisUrl: string | null;
  /** Prefix of every Redis key (several deployments, or test files, can share one Redis). */
  redisPrefix: string;
  /** With Redis unreachable mid-run: "fail-closed" refuses requests that count against budgets or limits (503); "fail-open" admits them uncounted (their spend stays in the request log). */
  redisOnUnavailable: "fail-closed" | "fail-open";
  adminToken: string | null;
  encryptionKey: string | null;
  maxBodyBytes: number;
  timeouts: Timeouts;
  providers: ProviderConfig[];
  priceOverrides: unknown[];
  priceRefreshUrl: string | null;
  /** Price for models the catalog and overrides do not price; null: their cost is unknown (budgeted requests refused). */
  priceFallback: FallbackPrice | null;
  labels: { maxCount: number; maxValueLength: number };
  /** When requests without a virtual key are accepted (see governance/authenticate.ts). */
  requireKey: KeyRequirement;
  /** Strict mode, top-up step and output floor of budget enforcement (governance/budget-hold.ts). */
  budgetEnforcement: { strict: boolean; granularityNanoUsd: number; minOutputTokens: number };
  /** Entities declared in the config file (secrets already hashed); null without a `governance` section. */
  governance: ConfigGovernance | null;
  /** Model aliases for every request (the config file's `aliases`), after keys' and teams' own; first match wins. */
  aliases: ModelAlias[];
  /** Prometheus `/metrics`: bearer token (null: open) and the opt-in labels. */
  metrics: MetricsConfig;
  /** OTLP trace export; null (the default): tracing off. */
  telemetry: TelemetryConfig | null;
  /** The exact response cache (cache/); off by default. */
  cache: CacheConfig;
  /** Retries, key cooldown and circuit breaker (the file's `routing` section), defaults resolved. */
  routing: ResilienceConfig;
  /** Routing rules declared in the file (`routing.rules`, `routing.timeZone`); routing/rules/manager.ts seeds them. */
  routingRules?: RoutingSection | undefined;
  /** The config file's `alerts` section (webhooks declared there). */
  alerts?: AlertsSection | undefined;
  /** The config file's `retention` section (store/retention.ts; default: raw logs 90 days). */
  retention?: { logsDays?: number | undefined } | undefined;
  /** The config file's `responses` section (pipeline/stored-responses.ts; default: stored responses kept 30 days). */
  responses?: { storeTtlDays?: number | undefined } | undefined;
  configPath: string | null;
}

export interface CacheConfig {
  exact: boolean;
  ttlSeconds: number;
  maxEntries: number;
  share: "key" | "team" | "customer";
  /** The semantic layer (cache/semantic.ts); absent unless configured, then used with `x-tollgate-cache: semantic`. */
  semantic?: SemanticConfig;
}

export interface MetricsConfig {
  token: string | null;
  keyLabels: boolean;
  developerLabels: boolean;
  /** `x-tollgate-label-<name>` names exported as `label_<name>`. */
  labels: string[];
  maxSeries: number;
  /** DogStatsD export (metrics/dogstatsd.ts); absent when off (the default). */
  dogstatsd?: DogStatsdConfig;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 8080,
  dataDir: ".tollgate",
  // Claude Code sends several MB late in a session; the Anthropic API itself accepts 32 MB.
  maxBodyBytes: 32 * 1024 * 1024,
  timeouts: { connectMs: 10_000, firstByteMs: 600_000, idleMs: 300_000 },
  labels: { maxCount: 16, maxValueLength: 256 },
} as const;

/** A configuration problem, with a message meant for the person starting Tollgate. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface LoadOptions {
  env: NodeJS.ProcessEnv;
  /** Command-line flags, already parsed (cli/main.ts). */
  flags?: { host?: string; port?: number; dataDir?: string; config?: string };
}

export async function loadConfig({ env, flags = {} }: LoadOptions): Promise<GatewayConfig> {
  const configPath = flags.config ?? env.TOLLGATE_CONFIG ?? null;
  const file = configPath ? await readConfigFile(configPath, env) : {};
  const port = flags.port ?? parsePort(env.TOLLGATE_PORT) ?? file.port ?? DEFAULTS.port;
  return {
    host: flags.host ?? env.TOLLGATE_HOST ?? file.host ?? DEFAULTS.host,
    port,
    dataDir: resolve(flags.dataDir ?? env.TOLLGATE_DATA_DIR ?? file.dataDir ?? DEFAULTS.dataDir),
    databaseUrl: env.TOLLGATE_DATABASE_URL || file.databaseUrl || null,
    redisUrl: env.TOLLGATE_REDIS_URL || file.redisUrl || null,
    redisPrefix: env.TOLLGATE_REDIS_PREFIX || "tollgate:",
    redisOnUnavailable:
      parseUnavailablePolicy(env.TOLLGATE_REDIS_ON_UNAVAILABLE) ?? file.redisOnUnavailable ?? "fail-closed",
    adminToken: env.TOLLGATE_ADMIN_TOKEN || file.adminToken || null,
    encryptionKey: env.TOLLGATE_ENCRYPTION_KEY || null,
    maxBodyBytes:
      parsePositiveInt(env.TOLLGATE_MAX_BODY_BYTES, "TOLLGATE_MAX_BODY_BYTES") ??
      file.maxBodyBytes ??
      DEFAULTS.maxBodyBytes,
    timeouts: { ...DEFAULTS.timeouts, ...file.timeouts },
    providers: mergeProviders(providersFromEnv(env), providersFromFile(file, env)),
    priceOverrides: file.pricing?.overrides ?? [],
    priceRefreshUrl: file.pricing?.refreshUrl ?? null,
    priceFallback: parsePriceFallback(env.TOLLGATE_PRICE_FALLBACK) ?? file.pricing?.fallback ?? null,
    labels: { ...DEFAULTS.labels, ...file.labels },
    requireKey: parseRequirement(env.TOLLGATE_REQUIRE_KEY) ?? file.requireKey ?? "auto",
    budgetEnforcement: {
      strict:
        parseBoolean(env.TOLLGATE_BUDGET_STRICT, "TOLLGATE_BUDGET_STRICT") ?? file.budgetEnforcement?.strict ?? false,
      granularityNanoUsd: Math.round(
        (parsePositiveNumber(env.TOLLGATE_BUDGET_TOPUP_USD, "TOLLGATE_BUDGET_TOPUP_USD") ??
          file.budgetEnforcement?.topUpUsd ??
          0.01) * 1e9,
      ),
      minOutputTokens:
        parsePositiveInt(env.TOLLGATE_BUDGET_MIN_OUTPUT_TOKENS, "TOLLGATE_BUDGET_MIN_OUTPUT_TOKENS") ??
        file.budgetEnforcement?.minOutputTokens ??
        256,
    },
    governance: file.governance ? resolveGovernance(file.governance, env, configPath ?? "") : null,
    aliases: file.aliases ?? [],
    cache: {
      exact: file.cache?.exact ?? false,
      ttlSeconds: file.cache?.ttlSeconds ?? 3600,
      maxEntries: file.cache?.maxEntries ?? 10000,
      share: file.cache?.share ?? "key",
      ...(file.cache?.semantic
        ? {
            semantic: {
              embeddingModel: file.cache.semantic.embeddingModel,
              threshold: file.cache.semantic.threshold ?? 0.9,
              allowTemperature: file.cache.semantic.allowTemperature ?? false,
              allowToolResults: file.cache.semantic.allowToolResults ?? false,
            },
          }
        : {}),
    },
    metrics: {
      token: env.TOLLGATE_METRICS_TOKEN || file.metrics?.token || null,
      keyLabels: file.metrics?.keyLabels ?? false,
      developerLabels: file.metrics?.developerLabels ?? false,
      labels: metricLabels(file.metrics?.labels ?? []),
      maxSeries: file.metrics?.maxSeries ?? 10_000,
      ...optionalDogStatsd(resolveDogStatsd(env, file.metrics?.dogstatsd, (m) => new ConfigError(m))),
    },
    telemetry: resolveTelemetry(env, file.telemetry, (m) => new ConfigError(m)),
    routing: resolveResilience(file.routing),
    routingRules: { timeZone: file.routing?.timeZone, rules: file.routing?.rules },
    alerts: file.alerts,
    retention: file.retention,
    responses: file.responses,
    configPath: configPath ? resolve(configPath) : null,
  };
}

async function readConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = [".yaml", ".yml"].includes(extname(path).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `Config file ${path} is not valid ${extname(path) === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`,
    );
  }
  const parsed = ConfigFileSchema.safeParse(interpolateEnv(raw ?? {}, env, path));
  if (!parsed.success) {
    throw new ConfigError(`Config file ${path} is invalid:\n  - ${describeIssues(parsed.error.issues, "\n  - ")}`);
  }
  return parsed.data;
}

/** Replaces `${VAR}` in every string of the config with the environment's value, so secrets stay out of files. */
function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined)
        throw new ConfigError(`Config file ${path} refers to \${${name}}, which is not set in the environment`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolateEnv(v, env, path));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, path)]));
  }
  return value;
}

/**
 * Declared virtual keys' secrets (`key`, or `keyEnv` read from the environment) → their hashes, as API-created keys
 * are stored; the secrets themselves go no further and are never part of a message.
 */
export function resolveGovernance(section: GovernanceSection, env: NodeJS.ProcessEnv, path = ""): ConfigGovernance {
  const where = path === "" ? "Config" : `Config file ${path}`;
  const virtualKeys = section.virtualKeys.map(({ key, keyEnv, ...entry }, i) => {
    const field = `governance.virtualKeys.${i}.${key === undefined ? "keyEnv" : "key"}`;
    const secret = key ?? (keyEnv === undefined ? undefined : env[keyEnv]);
    if (secret === undefined || secret === "")
      throw new ConfigError(
        `${where}: ${field}: ${keyEnv ?? "key"} is not set in the environment (virtual key "${entry.name}")`,
      );
    if (!isWellFormedVirtualKey(secret))
      throw new ConfigError(
        `${where}: ${field}: the value of ${keyEnv ?? "key"} must be ${VIRTUAL_KEY_SHAPE_HINT} (virtual key "${entry.name}")`,
      );
    return { ...entry, secretHash: hashVirtualKeySecret(secret), secretPrefix: secretPrefix(secret) };
  });
  const byHash = new Map<string, number>();
  virtualKeys.forEach((k, i) => {
    const seen = byHash.get(k.secretHash);
    if (seen !== undefined)
      throw new ConfigError(
        `${where}: governance.virtualKeys.${i}: the same secret as governance.virtualKeys.${seen}: each key needs its own (virtual key "${k.name}")`,
      );
    byHash.set(k.secretHash, i);
  });
  return { ...section, virtualKeys };
}

/** Stable non-secret id for a key: where it came from plus a short hash of the secret. */
export function keyId(source: ConfigSource, secret: string): string {
  return `${source}-${createHash("sha256").update(secret).digest("hex").slice(0, 10)}`;
}

function providerFromPreset(
  preset: ProviderPreset,
  source: ConfigSource,
  baseUrl: string,
  keys: ProviderKey[],
): ProviderConfig {
  return {
    name: preset.name,
    kind: preset.kind,
    baseUrl: trimSlash(baseUrl),
    auth: preset.auth,
    dialects: preset.dialects,
    keys,
    keyOptional: preset.keyOptional ?? false,
    models: [],
    modelPatterns: preset.modelPatterns,
    headers: {},
    pricingId: preset.pricingId,
    source,
  };
}

/** `<NAME>_API_KEY` registers a provider; `TOLLGATE_<NAME>_BASE_URL` overrides its base URL. */
export function providersFromEnv(env: NodeJS.ProcessEnv): ProviderConfig[] {
  const out: ProviderConfig[] = [];
  for (const preset of PROVIDER_PRESETS) {
    if (preset.kind === "bedrock") {
      const bedrock = bedrockFromEnv(preset, env, keyId);
      if (bedrock) out.push(bedrock);
      continue;
    }
    const secrets = (env[preset.apiKeyEnv] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const baseUrl = env[baseUrlEnvName(preset.name)];
    if (secrets.length === 0 && !(preset.keyOptional && baseUrl)) continue;
    const keys = secrets.map((secret) => ({
      id: keyId("env", secret),
      secret,
      label: preset.apiKeyEnv,
      source: "env" as const,
    }));
    out.push(providerFromPreset(preset, "env", baseUrl || preset.baseUrl, keys));
  }
  for (const cloud of asConfigError(() => [azureFromEnv(env, keyId), vertexFromEnv(env)])) if (cloud) out.push(cloud);
  return out;
}

/** Azure and Vertex AI settings errors are the operator's to fix: worded as configuration errors. */
function asConfigError<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    throw err instanceof ConfigError ? err : new ConfigError((err as Error).message);
  }
}

function providersFromFile(file: ConfigFile, env: NodeJS.ProcessEnv): ProviderConfig[] {
  return Object.entries(file.providers ?? {}).map(([name, entry]) => providerFromEntry(name, entry, env));
}

function providerFromEntry(name: string, entry: ProviderEntry, env: NodeJS.ProcessEnv): ProviderConfig {
  const cloud = cloudKindOf(name, entry);
  if (cloud !== null) return asConfigError(() => cloudProviderFromEntry(cloud, name, entry, env, keyId));
  const preset = findPreset(entry.preset ?? name);
  if (entry.preset && !preset) {
    throw new ConfigError(
      `providers.${name}: unknown preset "${entry.preset}" (known: ${PROVIDER_PRESETS.map((p) => p.name).join(", ")})`,
    );
  }
  const kind = entry.kind ?? preset?.kind;
  if (!kind) {
    throw new ConfigError(
      `providers.${name}: "${name}" is not a built-in provider; set "preset" or "kind" (anthropic | openai | gemini)`,
    );
  }
  const baseUrl = env[baseUrlEnvName(name)] || entry.baseUrl || preset?.baseUrl;
  if (!baseUrl) throw new ConfigError(`providers.${name}: "baseUrl" is required for a provider with no preset`);
  const keys: ProviderKey[] = (entry.apiKeys ?? []).map((k) => providerKeyFromEntry(k, keyId));
  if (kind === "bedrock") return bedrockFromEntry(name, entry, { preset, keys, env, keyId });
  const defaults: Pick<ProviderConfig, "auth" | "dialects"> =
    kind === "anthropic"
      ? { auth: "x-api-key", dialects: ["anthropic"] }
      : kind === "gemini"
        ? { auth: "x-goog-api-key", dialects: ["gemini"] }
        : { auth: "bearer", dialects: ["openai-chat", "openai-responses", "openai-embeddings"] };
  // The kind decides the endpoint paths, so only its own dialects can be declared.
  const foreign = (entry.dialects ?? []).filter((d) => !defaults.dialects.includes(d));
  if (foreign.length > 0) {
    throw new ConfigError(
      `providers.${name}.dialects: kind "${kind}" speaks only ${defaults.dialects.join(", ")} (got ${foreign.join(", ")})`,
    );
  }
  return {
    name,
    kind,
    baseUrl: trimSlash(baseUrl),
    auth: preset?.auth ?? defaults.auth,
    dialects: entry.dialects ?? preset?.dialects ?? defaults.dialects,
    keys,
    keyOptional: preset?.keyOptional ?? keys.length === 0,
    models: entry.models ?? [],
    modelPatterns: preset?.modelPatterns ?? [],
    headers: entry.headers ?? {},
    pricingId: entry.pricingId !== undefined ? entry.pricingId : (preset?.pricingId ?? null),
    source: "config",
  };
}

/** Later sources win per provider; a file entry without keys keeps the keys the environment gave. */
export function mergeProviders(...sources: ProviderConfig[][]): ProviderConfig[] {
  const byName = new Map<string, ProviderConfig>();
  for (const list of sources) {
    for (const p of list) {
      const prev = byName.get(p.name);
      byName.set(p.name, prev && p.keys.length === 0 ? { ...p, keys: prev.keys, keyOptional: prev.keyOptional } : p);
    }
  }
  return [...byName.values()];
}

function parseRequirement(v: string | undefined): KeyRequirement | undefined {
  if (v === undefined || v === "") return undefined;
  if (v === "auto" || v === "always" || v === "never") return v;
  throw new ConfigError(`TOLLGATE_REQUIRE_KEY must be auto, always or never, got "${v}"`);
}

/** The key only when DogStatsD is on, so the resolved `metrics` stays as it was without it. */
function optionalDogStatsd(d: DogStatsdConfig | null): { dogstatsd?: DogStatsdConfig } {
  return d ? { dogstatsd: d } : {};
}

/** `x-tollgate-label-*` names for metrics; two that become the same Prometheus label name are refused. */
function metricLabels(names: string[]): string[] {
  const unique = [...new Set(names)];
  const prom = new Map<string, string>();
  for (const name of unique) {
    const other = prom.get(promLabelName(name));
    if (other !== undefined)
      throw new ConfigError(`metrics.labels: "${other}" and "${name}" are both exported as ${promLabelName(name)}`);
    prom.set(promLabelName(name), name);
  }
  return unique;
}

function parseUnavailablePolicy(v: string | undefined): "fail-closed" | "fail-open" | undefined {
  if (v === undefined || v === "") return undefined;
  if (v === "fail-closed" || v === "fail-open") return v;
  throw new ConfigError(`TOLLGATE_REDIS_ON_UNAVAILABLE must be fail-closed or fail-open, got "${v}"`);
}

function parseBoolean(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined || v === "") return undefined;
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new ConfigError(`${name} must be true or false, got "${v}"`);
}

function parsePositiveNumber(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} must be a positive number, got "${v}"`);
  return n;
}

/** `TOLLGATE_PRICE_FALLBACK`: USD per million tokens, `input,output[,cacheRead[,cacheWrite5m[,cacheWrite1h]]]`. */
function parsePriceFallback(v: string | undefined): FallbackPrice | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  const parts = v.split(",").map((part) => part.trim());
  const parsed =
    parts.length >= 2 && parts.length <= FALLBACK_ENV_ORDER.length && parts.every((part) => part !== "")
      ? fallbackPriceSchema.safeParse(Object.fromEntries(parts.map((part, i) => [FALLBACK_ENV_ORDER[i], part])))
      : null;
  if (!parsed?.success)
    throw new ConfigError(
      `TOLLGATE_PRICE_FALLBACK must be USD per million tokens as "input,output" (optionally ",cacheRead,cacheWrite5m,cacheWrite1h"), such as "3,15", got "${v}"`,
    );
  return parsed.data;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function parsePort(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(`TOLLGATE_PORT must be a port number, got "${v}"`);
  return n;
}

function parsePositiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer, got "${v}"`);
  return n;
}
