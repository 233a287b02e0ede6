import { z } from "zod";
import { AlertsSectionSchema } from "../alerts/config.ts";
import { isWellFormedVirtualKey } from "../governance/entities/key-material.ts";
import {
  BudgetCreateSchema,
  CustomerCreateSchema,
  DeveloperCreateSchema,
  KeyCreateSchema,
  ModelAliasListSchema,
  OWNER_CONFLICT,
  RateLimitCreateSchema,
  TeamCreateSchema,
} from "../governance/entities/schemas.ts";
import { fallbackPriceSchema } from "../metering/pricing/fallback.ts";
import { DogStatsdSectionSchema } from "../metrics/dogstatsd-config.ts";
import { RESILIENCE_FIELDS } from "../routing/resilience-config.ts";
import { ROUTING_RULES_FIELDS } from "../routing/rules/schemas.ts";
import { TelemetrySectionSchema } from "../telemetry/config.ts";

/** A provider API key in a config file: the secret alone, or with a stable id and a label. */
const ProviderKeyEntry = z.union([
  z.string().min(1),
  z.strictObject({
    id: z.string().min(1).optional(),
    key: z.string().min(1),
    label: z.string().optional(),
    /** Share of the provider's traffic relative to its other keys (default 1). */
    weight: z.number().positive().max(1_000_000).optional(),
    /** Models this key may serve: exact names or globs (`gpt-4.1*`); default every model. */
    models: z.array(z.string().min(1)).optional(),
  }),
]);

const HttpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http(s) URL");

export const ProviderEntrySchema = z.strictObject({
  /** A built-in preset to start from (defaults to the entry's own name when that is a preset). */
  preset: z.string().optional(),
  /** For a provider with no preset: its wire family. */
  kind: z.enum(["anthropic", "openai", "gemini", "bedrock", "azure", "vertex"]).optional(),
  baseUrl: HttpUrl.optional(),
  apiKeys: z.array(ProviderKeyEntry).optional(),
  models: z.array(z.string().min(1)).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /** Provider id in the price catalog, for custom providers reselling a known provider's models. */
  pricingId: z.string().nullable().optional(),
  /**
   * Bedrock: the AWS region (default: AWS_REGION, the base URL's region, else us-east-1). Vertex AI: the Google Cloud
   * region, multi-region (`us`, `eu`) or `global` (the default).
   */
  region: z
    .string()
    .regex(/^[a-z0-9-]+$/, "must be a region such as us-east-1")
    .optional(),
  /** Azure OpenAI: a dated api-version (default 2024-10-21) or "v1" for the `/openai/v1/` API. */
  apiVersion: z
    .string()
    .regex(/^(v1|\d{4}-\d{2}-\d{2}(-preview)?)$/, 'must be "v1" or a date such as 2024-10-21')
    .optional(),
  /** Azure OpenAI: model → deployment name (a model not listed is its own deployment). */
  deployments: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Vertex AI: the Google Cloud project (default: the key file's project_id). */
  project: z.string().min(1).optional(),
  /** Vertex AI: a service-account key file (default: GOOGLE_APPLICATION_CREDENTIALS). */
  credentialsFile: z.string().min(1).optional(),
  /** Bedrock: an AWS access key pair (`${VAR}` works); `apiKeys` may hold more, or Bedrock API keys. */
  aws: z
    .strictObject({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().min(1).optional(),
    })
    .optional(),
  /**
   * The dialects the provider speaks (default: its preset's, else its kind's), e.g. `["openai-responses"]` for a
   * server with the Responses API but no Chat Completions; other dialects are translated into one of these.
   */
  dialects: z
    .array(z.enum(["anthropic", "openai-chat", "openai-responses", "openai-embeddings", "gemini"]))
    .min(1)
    .optional(),
});

export const TimeoutsSchema = z.strictObject({
  connectMs: z.number().int().positive().optional(),
  firstByteMs: z.number().int().positive().optional(),
  idleMs: z.number().int().positive().optional(),
});

// ---------- governance: entities declared in the file (governance/config-seed.ts reconciles them) ----------
// The management API's schemas, so a field is checked, and its message worded, the same way in both places. Entities
// are identified by name; references are by name, to entities declared in this section.

const NameRef = CustomerCreateSchema.shape.name;
const KeyBudget = KeyCreateSchema.shape.budgets.unwrap().element;
const KeyRateLimit = KeyCreateSchema.shape.rateLimits.unwrap().element;
const NOT_ON_OWNER = "applies to budgets and rate limits of a key only (or use governance.budgets / rateLimits)";
const OwnerBudgets = z
  .array(KeyBudget.refine((b) => b.provider === undefined, { path: ["provider"], message: NOT_ON_OWNER }))
  .max(50, "at most 50 budgets");
const OwnerRateLimits = z
  .array(KeyRateLimit.refine((r) => r.provider === undefined, { path: ["provider"], message: NOT_ON_OWNER }))
  .max(50, "at most 50");

const CustomerEntry = z.strictObject({
  ...CustomerCreateSchema.shape,
  budgets: OwnerBudgets.optional(),
  rateLimits: OwnerRateLimits.optional(),
});

const TeamEntry = z.strictObject({
  name: TeamCreateSchema.shape.name,
  /** The customer's name (governance.customers). */
  customer: NameRef.nullable().optional(),
  description: TeamCreateSchema.shape.description,
  labels: TeamCreateSchema.shape.labels,
  modelAliases: TeamCreateSchema.shape.modelAliases,
  budgets: OwnerBudgets.optional(),
  rateLimits: OwnerRateLimits.optional(),
});

const DeveloperEntry = z.strictObject({
  name: DeveloperCreateSchema.shape.name,
  email: DeveloperCreateSchema.shape.email,
  /** The team's name (governance.teams). */
  team: NameRef.nullable().optional(),
  labels: DeveloperCreateSchema.shape.labels,
  budgets: OwnerBudgets.optional(),
  rateLimits: OwnerRateLimits.optional(),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const VIRTUAL_KEY_SHAPE_HINT =
  "a Tollgate key: sk-tg- followed by 43 base64url characters (make one with " +
  `node -e "console.log('sk-tg-'+require('crypto').randomBytes(32).toString('base64url'))")`;

// Everything the API takes on a key except owner ids (names here) and `secret` (generated there, declared here).
const {
  teamId: _teamId,
  customerId: _customerId,
  developerId: _developerId,
  secret: _secret,
  ...KeyShape
} = KeyCreateSchema.shape;
const KeyEntry = z
  .strictObject({
    ...KeyShape,
    team: NameRef.nullable().optional(),
    customer: NameRef.nullable().optional(),
    developer: NameRef.nullable().optional(),
    /** The secret itself (`${VAR}` works too); never printed. */
    key: z.string().refine(isWellFormedVirtualKey, `must be ${VIRTUAL_KEY_SHAPE_HINT}`).optional(),
    /** The environment variable holding the secret. */
    keyEnv: z.string().regex(ENV_NAME, "must be an environment variable name such as TOLLGATE_CI_KEY").optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.team != null && entry.customer != null)
      ctx.addIssue({ code: "custom", path: ["customer"], message: OWNER_CONFLICT });
    if (entry.key === undefined && entry.keyEnv === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["key"],
        message:
          'required: key ("sk-tg-…") or keyEnv (an environment variable holding it). A key in the config file must ' +
          "be reproducible from the file, so Tollgate does not generate its secret",
      });
    if (entry.key !== undefined && entry.keyEnv !== undefined)
      ctx.addIssue({ code: "custom", path: ["keyEnv"], message: "give key or keyEnv, not both" });
  });

const UNSCOPED = ["global", "provider", "model"];
function onlyUnscoped(input: { scopeType: string }): boolean {
  return UNSCOPED.includes(input.scopeType);
}
const onOwner = (what: string) => ({
  path: ["scopeType"],
  message: `here only global, provider or model; declare a ${what} on its customer, team, developer or key`,
});
const GlobalBudget = BudgetCreateSchema.refine(onlyUnscoped, onOwner("budget under `budgets:`"));
const GlobalRateLimit = RateLimitCreateSchema.refine(onlyUnscoped, onOwner("rate limit under `rateLimits:`"));

type Issue = { path: (string | number)[]; message: string };

/** Names that repeat within one list: the second one is refused. */
function repeatedNames(list: readonly { name: string }[], field: string, issues: Issue[]): void {
  const first = new Map<string, number>();
  list.forEach((entry, i) => {
    const seen = first.get(entry.name);
    if (seen === undefined) first.set(entry.name, i);
    else
      issues.push({
        path: [field, i, "name"],
        message: `repeats governance.${field}.${seen} ("${entry.name}"): names identify entities in the config file`,
      });
  });
}

/** Entries that would be twins in the database (same scope and period+mode, or same scope and window). */
function repeatedLimits(
  list: readonly Record<string, unknown>[] | undefined,
  identity: (entry: Record<string, unknown>) => string,
  path: (string | number)[],
  what: string,
  issues: Issue[],
): void {
  const first = new Map<string, number>();
  (list ?? []).forEach((entry, i) => {
    const id = identity(entry);
    const seen = first.get(id);
    if (seen === undefined) first.set(id, i);
    else issues.push({ path: [...path, i], message: `repeats governance.${path.join(".")}.${seen} (${what})` });
  });
}

const s = (v: unknown): string => (typeof v === "string" ? v : "");
const budgetId = (b: Record<string, unknown>) =>
  [s(b.scopeType), s(b.provider), s(b.model), s(b.period), s(b.mode) || "calendar"].join("|");
const rateId = (r: Record<string, unknown>) => [s(r.scopeType), s(r.provider), s(r.model), s(r.window)].join("|");
const SAME_BUDGET = "same provider, period and mode";
const SAME_RATE = "same provider and window";

/** References by name must name an entity of this section; names and secrets must not repeat. */
function checkGovernance(section: GovernanceSectionInput, ctx: z.RefinementCtx): void {
  const issues: Issue[] = [];
  repeatedNames(section.customers, "customers", issues);
  repeatedNames(section.teams, "teams", issues);
  repeatedNames(section.developers, "developers", issues);
  repeatedNames(section.virtualKeys, "virtualKeys", issues);
  const names = {
    customer: new Set(section.customers.map((c) => c.name)),
    team: new Set(section.teams.map((t) => t.name)),
    developer: new Set(section.developers.map((d) => d.name)),
  };
  const ref = (
    kind: keyof typeof names,
    value: string | null | undefined,
    path: (string | number)[],
    owner: string,
  ) => {
    if (value != null && !names[kind].has(value))
      issues.push({ path, message: `no ${kind} "${value}" in governance.${kind}s (${owner})` });
  };
  section.teams.forEach((t, i) => {
    ref("customer", t.customer, ["teams", i, "customer"], `team "${t.name}"`);
  });
  section.developers.forEach((d, i) => {
    ref("team", d.team, ["developers", i, "team"], `developer "${d.name}"`);
  });
  const secrets = new Map<string, number>();
  section.virtualKeys.forEach((k, i) => {
    const owner = `virtual key "${k.name}"`;
    ref("team", k.team, ["virtualKeys", i, "team"], owner);
    ref("customer", k.customer, ["virtualKeys", i, "customer"], owner);
    ref("developer", k.developer, ["virtualKeys", i, "developer"], owner);
    const origin = k.key ?? (k.keyEnv === undefined ? undefined : `env:${k.keyEnv}`);
    if (origin !== undefined) {
      const seen = secrets.get(origin);
      if (seen === undefined) secrets.set(origin, i);
      else
        issues.push({
          path: ["virtualKeys", i, k.key === undefined ? "keyEnv" : "key"],
          message: `the same secret as governance.virtualKeys.${seen}: each key needs its own`,
        });
    }
  });
  for (const kind of ["customers", "teams", "developers", "virtualKeys"] as const) {
    section[kind].forEach((entry, i) => {
      repeatedLimits(entry.budgets, budgetId, [kind, i, "budgets"], SAME_BUDGET, issues);
      repeatedLimits(entry.rateLimits, rateId, [kind, i, "rateLimits"], SAME_RATE, issues);
    });
  }
  repeatedLimits(section.budgets, budgetId, ["budgets"], "same scope, period and mode", issues);
  repeatedLimits(section.rateLimits, rateId, ["rateLimits"], "same scope and window", issues);
  for (const issue of issues) ctx.addIssue({ code: "custom", ...issue });
}

const GovernanceLists = z.strictObject({
  customers: z.array(CustomerEntry).default([]),
  teams: z.array(TeamEntry).default([]),
  developers: z.array(DeveloperEntry).default([]),
  virtualKeys: z.array(KeyEntry).default([]),
  /** Global, per-provider and per-model budgets and rate limits. */
  budgets: z.array(GlobalBudget).default([]),
  rateLimits: z.array(GlobalRateLimit).default([]),
});
type GovernanceSectionInput = z.output<typeof GovernanceLists>;

export const GovernanceSectionSchema = GovernanceLists.superRefine(checkGovernance);
export type GovernanceSection = z.output<typeof GovernanceSectionSchema>;
export type GovernanceKeyEntry = GovernanceSection["virtualKeys"][number];

/** A declared key with its secret resolved and hashed (config/load.ts): the secret itself is not kept. */
export type ConfigVirtualKey = Omit<GovernanceKeyEntry, "key" | "keyEnv"> & {
  secretHash: string;
  secretPrefix: string;
};
/** The governance section as the app reconciles it. */
export type ConfigGovernance = Omit<GovernanceSection, "virtualKeys"> & { virtualKeys: ConfigVirtualKey[] };

export const ConfigFileSchema = z.strictObject({
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  dataDir: z.string().optional(),
  databaseUrl: z.string().optional(),
  redisUrl: z.string().optional(),
  /** With Redis unreachable mid-run: refuse governed requests (503, default) or admit them uncounted. */
  redisOnUnavailable: z.enum(["fail-closed", "fail-open"]).optional(),
  adminToken: z.string().min(16, "adminToken must be at least 16 characters").optional(),
  maxBodyBytes: z.number().int().positive().optional(),
  timeouts: TimeoutsSchema.optional(),
  providers: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "provider names are lowercase [a-z0-9_-]"), ProviderEntrySchema)
    .optional(),
  pricing: z
    .strictObject({
      overrides: z.array(z.unknown()).optional(),
      refreshUrl: z.string().optional(),
      /** Charged for models nothing else prices, instead of leaving their cost unknown (metering/pricing/fallback.ts). */
      fallback: fallbackPriceSchema.optional(),
    })
    .optional(),
  /** auto: keys required once one exists or when not bound to loopback; always; never (anonymous allowed). */
  requireKey: z.enum(["auto", "always", "never"]).optional(),
  /** How budgets are enforced while requests run (governance/budget-hold.ts). */
  budgetEnforcement: z
    .strictObject({
      /** Reserve the worst case and never exceed a limit (fewer requests in flight near a limit). */
      strict: z.boolean().optional(),
      /** Streams top up their hold in steps of this many USD (default 0.01). */
      topUpUsd: z.number().positive().max(1000).optional(),
      /** Refuse rather than lower max_tokens below this many output tokens (default 256). */
      minOutputTokens: z.number().int().min(1).optional(),
    })
    .optional(),
  labels: z
    .strictObject({
      maxCount: z.number().int().min(0).max(64).optional(),
      maxValueLength: z.number().int().min(1).max(1024).optional(),
    })
    .optional(),
  /** Prometheus `/metrics` (metrics/gateway-metrics.ts): optional bearer token, opt-in high-cardinality labels. */
  metrics: z
    .strictObject({
      /** Scrapers must send `Authorization: Bearer <token>`; open when unset (TOLLGATE_METRICS_TOKEN wins). */
      token: z.string().min(16, "metrics.token must be at least 16 characters").optional(),
      /** A `key` label (virtual key id) and per-key budget gauges: one series per key. */
      keyLabels: z.boolean().optional(),
      /** A `developer` label and per-developer budget gauges. */
      developerLabels: z.boolean().optional(),
      /** `x-tollgate-label-<name>` labels to export, as `label_<name>`. */
      labels: z
        .array(z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "label names as in x-tollgate-label-<name>"))
        .max(16)
        .optional(),
      /** Label combinations kept per metric family; later ones are counted under `_other` (default 10000). */
      maxSeries: z.number().int().min(1).optional(),
      /** Per-request metrics to a Datadog Agent over DogStatsD (metrics/dogstatsd.ts); off unless present. */
      dogstatsd: DogStatsdSectionSchema.optional(),
    })
    .optional(),
  /** Customers, teams, developers, virtual keys, budgets and rate limits (governance/config-seed.ts). */
  governance: GovernanceSectionSchema.optional(),
  /** Model aliases for every request, below keys' and teams' own (routing/aliases.ts); first match wins. */
  aliases: ModelAliasListSchema.optional(),
  /** Retries, key cooldown and circuit breaker (routing/resilience-config.ts). */
  routing: z
    .strictObject({
      ...RESILIENCE_FIELDS,
      /** Routing rules in CEL and their time zone (routing/rules/); read-only through the API. */
      ...ROUTING_RULES_FIELDS,
    })
    .optional(),
  /** OTLP traces (telemetry/config.ts); the standard OTEL_* env vars win. */
  telemetry: TelemetrySectionSchema.optional(),
  /** Alert webhooks declared in the file (alerts/config.ts). */
  alerts: AlertsSectionSchema.optional(),
  /** Raw request-log retention (store/retention.ts); the spend rollups are kept forever. */
  retention: z
    .strictObject({
      /** Days raw log rows are kept (default 90); 0 keeps them forever. */
      logsDays: z.number().int().min(0).max(36_500).optional(),
    })
    .optional(),
  /** Responses API state kept by the gateway for translated calls (pipeline/stored-responses.ts). */
  responses: z
    .strictObject({
      /** Days a stored response can be read back (default 30). */
      storeTtlDays: z.number().int().min(1).max(3650).optional(),
    })
    .optional(),
  /** The exact response cache (cache/); off unless `exact: true`. */
  cache: z
    .strictObject({
      exact: z.boolean().optional(),
      ttlSeconds: z.number().int().min(1).optional(),
      maxEntries: z.number().int().min(1).optional(),
      /** Widen an entry's scope from its virtual key to the key's team or customer (never across customers). */
      share: z.enum(["key", "team", "customer"]).optional(),
      /** The semantic layer: an OpenAI-compatible embedding model (`provider/model`) and the similarity threshold. */
      semantic: z
        .strictObject({
          embeddingModel: z.string().min(1),
          threshold: z.number().gt(0).max(1).optional(),
          allowTemperature: z.boolean().optional(),
          allowToolResults: z.boolean().optional(),
        })
        .optional(),
    })
    .optional(),
});

export type ConfigFile = z.infer<typeof ConfigFileSchema>;
export type ProviderEntry = z.infer<typeof ProviderEntrySchema>;
