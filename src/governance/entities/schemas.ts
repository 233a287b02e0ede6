import { z } from "zod";
import {
  BudgetPeriodSchema,
  calendarAlignmentProblem,
  PeriodModeSchema,
  TimeZoneSchema as PeriodTimeZoneSchema,
  parsePeriod,
  RateWindowSchema,
} from "../periods.ts";
import { CREDENTIAL_POLICIES, SCOPE_TYPES, type Scope, type ScopeType } from "./types.ts";

/**
 * Input schemas of the governance entities: what the management API (and later the config file) may send.
 * Messages are written to follow `<field path>: `, as the API prints them (e.g. `expiresAt: must be in the future`).
 * Create schemas are strict (unknown fields are refused); patch schemas refuse fields that cannot change, saying why.
 */

/** `required` when absent, else what was expected. */
function need(what: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? "required" : `must be ${what}`) };
}

const MAX_NAME = 200;
const NameSchema = z
  .string(need("a string"))
  .trim()
  .min(1, "must not be empty")
  .max(MAX_NAME, `must be at most ${MAX_NAME} characters`);
const DescriptionSchema = z.string(need("a string or null")).max(2000, "must be at most 2000 characters").nullable();
const IdSchema = z.string(need("an id string")).trim().min(1, "must not be empty").max(100, "is not an id");

const LABEL_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const MAX_LABELS = 32;
const LabelsSchema = z.record(z.string(), z.string(need("a string"))).superRefine((labels, ctx) => {
  // Checked here rather than as the record's key schema, whose failures zod reports only as "Invalid key".
  const names = Object.keys(labels);
  if (names.length > MAX_LABELS) ctx.addIssue({ code: "custom", message: `at most ${MAX_LABELS} labels` });
  for (const name of names) {
    if (!LABEL_NAME.test(name))
      ctx.addIssue({ code: "custom", path: [name], message: "label names are [a-z0-9_.-], at most 64 characters" });
    else if ((labels[name] ?? "").length > 200)
      ctx.addIssue({ code: "custom", path: [name], message: "label values are at most 200 characters" });
  }
});

/** Epoch milliseconds or an ISO 8601 date-time with offset; out: epoch ms. */
export const TimeSchema = z.union(
  [z.number().int().nonnegative().max(8.64e15), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))],
  { error: "must be epoch milliseconds or an ISO 8601 date-time such as 2026-07-01T00:00:00Z" },
);

const PROVIDER_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const ProviderNameSchema = z
  .string(need("a provider name"))
  .max(64, "must be at most 64 characters")
  .regex(PROVIDER_NAME, "provider names are lowercase letters, digits, _ or -");
const ProviderPatternSchema = z
  .string(need("a provider name or glob"))
  .max(64, "must be at most 64 characters")
  .regex(/^[a-z0-9_*?-]+$/, "provider names and globs use lowercase letters, digits, _, -, * and ?");
const ModelPatternSchema = z
  .string(need("a model name or glob"))
  .trim()
  .min(1, "must not be empty")
  .max(MAX_NAME, `must be at most ${MAX_NAME} characters`)
  .regex(/^[\x21-\x7e]+$/, "model names and globs are printable ASCII without spaces");

/** A model to serve instead of the one asked for: `provider/model` or a bare name, never a glob. */
const AliasTargetSchema = z
  .string(need('a model such as "openai/gpt-4.1"'))
  .trim()
  .min(1, "must not be empty")
  .max(MAX_NAME, `must be at most ${MAX_NAME} characters`)
  .regex(/^[\x21-\x7e]+$/, "model names are printable ASCII without spaces")
  .refine((s) => !s.includes("*") && !s.includes("?"), "must be one model, not a glob");

/** Model aliases (routing/aliases.ts): ordered, the first entry whose `match` matches wins. */
export const ModelAliasListSchema = z
  .array(
    z.strictObject({ match: ModelPatternSchema, to: AliasTargetSchema }, need("an object { match, to }")),
    need("a list of { match, to } aliases"),
  )
  .max(100, "at most 100 aliases");

const EMPTY_LIST = "an empty list would allow nothing: use null for no restriction, or set active to false";
const ProviderListSchema = z
  .array(ProviderPatternSchema, need("a list of provider names or globs, or null"))
  .min(1, EMPTY_LIST)
  .max(1000, "at most 1000 entries")
  .nullable();
const ModelListSchema = z
  .array(ModelPatternSchema, need("a list of model names or globs, or null"))
  .min(1, EMPTY_LIST)
  .max(1000, "at most 1000 entries")
  .nullable();

const ProviderSettingSchema = z.strictObject({ allowedModels: ModelListSchema.optional() }, need("an object"));
const ProviderSettingsSchema = z
  .record(z.string(), ProviderSettingSchema, need("an object of provider name → settings"))
  .superRefine((settings, ctx) => {
    for (const name of Object.keys(settings)) {
      if (!PROVIDER_NAME.test(name) || name.length > 64)
        ctx.addIssue({ code: "custom", path: [name], message: "provider names are lowercase letters, digits, _ or -" });
    }
  });

const CredentialPolicySchema = z.enum(CREDENTIAL_POLICIES, {
  error: `must be one of ${CREDENTIAL_POLICIES.map((p) => `"${p}"`).join(", ")}`,
});

/** Periods, modes and zones as governance/periods.ts reads them (canonical spellings out: `1M` → `1mo`). */
const PeriodSchema = z.string(need("a period such as 1d, 1mo or never")).pipe(BudgetPeriodSchema);
const ModeSchema = PeriodModeSchema;
const TimeZoneSchema = z.string(need('an IANA time zone such as "UTC"')).pipe(PeriodTimeZoneSchema);
const RateWindowInputSchema = z.string(need("a window such as 1s, 1m, 1h or 1d")).pipe(RateWindowSchema);

/** Why a period cannot run in this mode (calendar alignment), or null. */
export function periodModeProblem(period: string, mode: "calendar" | "rolling"): string | null {
  return mode === "calendar" ? calendarAlignmentProblem(parsePeriod(period)) : null;
}

const NANO_PER_USD = 1_000_000_000n;
const USD_TEXT = /^(\d+)(?:\.(\d{1,9}))?$/;

/** A USD amount → integer nano-dollars, exactly; null when it is not a non-negative decimal with ≤ 9 decimals. */
export function usdToNano(value: number | string): number | null {
  // Numbers are written out in full (String(1e-7) would be "1e-7"): the shortest digits that round-trip.
  const text =
    typeof value === "number"
      ? value.toLocaleString("en-US", { useGrouping: false, maximumFractionDigits: 20 })
      : value.trim();
  const match = USD_TEXT.exec(text);
  if (!match) return null;
  const nano = BigInt(match[1] ?? "0") * NANO_PER_USD + BigInt((match[2] ?? "").padEnd(9, "0"));
  return nano > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(nano);
}

const LimitUsdSchema = z
  .union([z.number(), z.string()], need('a USD amount such as 5 or "12.50"'))
  .transform((value, ctx) => {
    const nano = usdToNano(value);
    if (nano === null) {
      ctx.addIssue({
        code: "custom",
        message: "must be a non-negative USD amount with at most 9 decimals, below 9,007,199 USD",
      });
      return z.NEVER;
    }
    return nano;
  });
const LimitNanoSchema = z
  .number(need("an integer count of nano-dollars"))
  .int("must be an integer count of nano-dollars")
  .nonnegative("must not be negative")
  .max(Number.MAX_SAFE_INTEGER, "is too large");

/** Rejects a field that cannot be set this way, with the reason. */
function refuse(message: string) {
  return z.never({ error: message }).optional();
}

// ---------- customers, teams, developers ----------

export const CustomerCreateSchema = z.strictObject({
  name: NameSchema,
  description: DescriptionSchema.optional(),
  labels: LabelsSchema.optional(),
});
export const CustomerPatchSchema = CustomerCreateSchema.partial();

export const TeamCreateSchema = z.strictObject({
  name: NameSchema,
  customerId: IdSchema.nullable().optional(),
  description: DescriptionSchema.optional(),
  labels: LabelsSchema.optional(),
  /** Aliases for the team's keys, below each key's own (routing/aliases.ts); [] for none. */
  modelAliases: ModelAliasListSchema.optional(),
});
export const TeamPatchSchema = TeamCreateSchema.partial();

export const DeveloperCreateSchema = z.strictObject({
  name: NameSchema,
  email: z
    .email({ error: (i) => (i.input === undefined ? "required" : "must be an email address") })
    .max(320)
    .transform((e) => e.toLowerCase())
    .nullable()
    .optional(),
  teamId: IdSchema.nullable().optional(),
  labels: LabelsSchema.optional(),
});
export const DeveloperPatchSchema = DeveloperCreateSchema.partial();

// ---------- budgets and rate limits ----------

const LimitFields = {
  limitUsd: LimitUsdSchema.optional(),
  limitNanoUsd: LimitNanoSchema.optional(),
};
const BudgetTermFields = {
  name: NameSchema.nullable().optional(),
  period: PeriodSchema,
  mode: ModeSchema.optional(),
  timeZone: TimeZoneSchema.optional(),
  anchorAt: TimeSchema.nullable().optional(),
};

/** A calendar-mode period must tile the calendar (`2w` cannot; rolling can). */
function checkPeriodMode(
  input: { period?: string | undefined; mode?: "calendar" | "rolling" | undefined },
  ctx: z.RefinementCtx,
) {
  if (input.period === undefined) return;
  const problem = periodModeProblem(input.period, input.mode ?? "calendar");
  if (problem) ctx.addIssue({ code: "custom", path: ["period"], message: problem });
}

/** Exactly one of limitUsd / limitNanoUsd. */
function checkLimit(input: { limitUsd?: number | undefined; limitNanoUsd?: number | undefined }, ctx: z.RefinementCtx) {
  if (input.limitUsd === undefined && input.limitNanoUsd === undefined)
    ctx.addIssue({ code: "custom", path: ["limitUsd"], message: "required (or limitNanoUsd)" });
  if (input.limitUsd !== undefined && input.limitNanoUsd !== undefined)
    ctx.addIssue({ code: "custom", path: ["limitNanoUsd"], message: "give limitUsd or limitNanoUsd, not both" });
}

const ScopeFields = {
  scopeType: z.enum(SCOPE_TYPES, { error: `must be one of ${SCOPE_TYPES.join(", ")}` }),
  scopeId: IdSchema.nullable().optional(),
  provider: ProviderNameSchema.nullable().optional(),
  model: ModelPatternSchema.nullable().optional(),
};

/** Which of scopeId / provider / model each scope type needs ("required"), allows ("optional") or refuses. */
const SCOPE_SHAPES: Record<ScopeType, Record<"scopeId" | "provider" | "model", "required" | "optional" | "refused">> = {
  global: { scopeId: "refused", provider: "refused", model: "refused" },
  provider: { scopeId: "refused", provider: "required", model: "refused" },
  model: { scopeId: "refused", provider: "optional", model: "required" },
  customer: { scopeId: "required", provider: "refused", model: "refused" },
  team: { scopeId: "required", provider: "refused", model: "refused" },
  developer: { scopeId: "required", provider: "refused", model: "refused" },
  key: { scopeId: "required", provider: "refused", model: "refused" },
  "key-provider": { scopeId: "required", provider: "required", model: "refused" },
};

function checkScope(
  input: { scopeType: ScopeType; scopeId?: string | null; provider?: string | null; model?: string | null },
  ctx: z.RefinementCtx,
) {
  const shape = SCOPE_SHAPES[input.scopeType];
  for (const field of ["scopeId", "provider", "model"] as const) {
    const present = input[field] !== undefined && input[field] !== null;
    if (shape[field] === "required" && !present)
      ctx.addIssue({ code: "custom", path: [field], message: `required for scopeType "${input.scopeType}"` });
    if (shape[field] === "refused" && present)
      ctx.addIssue({ code: "custom", path: [field], message: `does not apply to scopeType "${input.scopeType}"` });
  }
}

export function toScope(input: {
  scopeType: ScopeType;
  scopeId?: string | null | undefined;
  provider?: string | null | undefined;
  model?: string | null | undefined;
}): Scope {
  return {
    scopeType: input.scopeType,
    scopeId: input.scopeId ?? null,
    provider: input.provider ?? null,
    model: input.model ?? null,
  };
}

export const BudgetCreateSchema = z
  .strictObject({ ...ScopeFields, ...LimitFields, ...BudgetTermFields })
  .superRefine(checkScope)
  .superRefine(checkLimit)
  .superRefine(checkPeriodMode);

const SCOPE_FIXED = "the scope of a budget cannot change: create a new budget (spend stays with this one)";
export const BudgetPatchSchema = z
  .strictObject({
    ...LimitFields,
    ...BudgetTermFields,
    period: PeriodSchema.optional(),
    scopeType: refuse(SCOPE_FIXED),
    scopeId: refuse(SCOPE_FIXED),
    provider: refuse(SCOPE_FIXED),
    model: refuse(SCOPE_FIXED),
  })
  .superRefine((input, ctx) => {
    if (input.limitUsd !== undefined && input.limitNanoUsd !== undefined)
      ctx.addIssue({ code: "custom", path: ["limitNanoUsd"], message: "give limitUsd or limitNanoUsd, not both" });
  });

const RateFields = {
  name: NameSchema.nullable().optional(),
  window: RateWindowInputSchema.nullable(),
  maxRequests: z.number(need("a positive integer")).int("must be an integer").positive("must be positive").nullable(),
  maxTokens: z.number(need("a positive integer")).int("must be an integer").positive("must be positive").nullable(),
  maxConcurrent: z
    .number(need("a positive integer"))
    .int("must be an integer")
    .positive("must be positive")
    .max(1_000_000, "is too large")
    .nullable(),
};

export interface RateShape {
  window?: string | null | undefined;
  maxRequests?: number | null | undefined;
  maxTokens?: number | null | undefined;
  maxConcurrent?: number | null | undefined;
}

/** Issues of a rate limit's limits, as a whole (also used on the result of a patch). */
export function rateShapeIssues(input: RateShape): Array<{ path: string[]; message: string }> {
  const issues: Array<{ path: string[]; message: string }> = [];
  const windowed = input.maxRequests != null || input.maxTokens != null;
  if (!windowed && input.maxConcurrent == null)
    issues.push({ path: ["maxRequests"], message: "set at least one of maxRequests, maxTokens or maxConcurrent" });
  if (windowed && input.window == null)
    issues.push({ path: ["window"], message: "required with maxRequests or maxTokens (e.g. 1s, 1m, 1h, 1d)" });
  if (!windowed && input.window != null)
    issues.push({ path: ["window"], message: "applies to maxRequests and maxTokens only" });
  return issues;
}

function checkRateShape(input: RateShape, ctx: z.RefinementCtx) {
  for (const issue of rateShapeIssues(input)) ctx.addIssue({ code: "custom", ...issue });
}

export const RateLimitCreateSchema = z
  .strictObject({
    ...ScopeFields,
    name: RateFields.name,
    window: RateFields.window.optional(),
    maxRequests: RateFields.maxRequests.optional(),
    maxTokens: RateFields.maxTokens.optional(),
    maxConcurrent: RateFields.maxConcurrent.optional(),
  })
  .superRefine(checkScope)
  .superRefine(checkRateShape);

const RATE_SCOPE_FIXED = "the scope of a rate limit cannot change: create a new one";
export const RateLimitPatchSchema = z.strictObject({
  name: RateFields.name,
  window: RateFields.window.optional(),
  maxRequests: RateFields.maxRequests.optional(),
  maxTokens: RateFields.maxTokens.optional(),
  maxConcurrent: RateFields.maxConcurrent.optional(),
  scopeType: refuse(RATE_SCOPE_FIXED),
  scopeId: refuse(RATE_SCOPE_FIXED),
  provider: refuse(RATE_SCOPE_FIXED),
  model: refuse(RATE_SCOPE_FIXED),
});

/** A budget declared with its key: scope `key`, or `key-provider` when `provider` is set. */
const KeyBudgetSchema = z
  .strictObject({ provider: ProviderNameSchema.optional(), ...LimitFields, ...BudgetTermFields })
  .superRefine(checkLimit)
  .superRefine(checkPeriodMode);
const KeyRateLimitSchema = z
  .strictObject({
    provider: ProviderNameSchema.optional(),
    name: RateFields.name,
    window: RateFields.window.optional(),
    maxRequests: RateFields.maxRequests.optional(),
    maxTokens: RateFields.maxTokens.optional(),
    maxConcurrent: RateFields.maxConcurrent.optional(),
  })
  .superRefine(checkRateShape);

// ---------- virtual keys ----------

/** Per-session caps on a key; `maxUsd` like a budget limit. */
const SessionCapsSchema = z
  .strictObject({
    maxUsd: LimitUsdSchema.optional(),
    maxRequests: z
      .number(need("a whole number of requests"))
      .int("must be a whole number")
      .positive("must be at least 1")
      .optional(),
    loopGuard: z
      .strictObject({
        repeats: z
          .number(need("a whole number of repeats"))
          .int()
          .min(2, "must be at least 2")
          .max(1000, "at most 1000"),
        window: RateWindowSchema,
      })
      .optional(),
  })
  .transform((c) => ({
    maxNanoUsd: c.maxUsd ?? null,
    maxRequests: c.maxRequests ?? null,
    loopGuard: c.loopGuard ? { repeats: c.loopGuard.repeats, window: c.loopGuard.window } : null,
  }));

const KeyFields = {
  name: NameSchema,
  description: DescriptionSchema.optional(),
  active: z.boolean(need("true or false")).optional(),
  expiresAt: TimeSchema.nullable().optional(),
  teamId: IdSchema.nullable().optional(),
  customerId: IdSchema.nullable().optional(),
  developerId: IdSchema.nullable().optional(),
  allowedProviders: ProviderListSchema.optional(),
  allowedModels: ModelListSchema.optional(),
  providerSettings: ProviderSettingsSchema.optional(),
  labels: LabelsSchema.optional(),
  credentialPolicy: CredentialPolicySchema.optional(),
  sessionCaps: SessionCapsSchema.nullable().optional(),
  /** Aliases for this key, above its team's and the config file's (routing/aliases.ts); [] for none. */
  modelAliases: ModelAliasListSchema.optional(),
};

export const OWNER_CONFLICT =
  "a key belongs to a team or directly to a customer, not both (a team key's customer is its team's)";

export const KeyCreateSchema = z
  .strictObject({
    ...KeyFields,
    budgets: z.array(KeyBudgetSchema, need("a list of budgets")).max(50, "at most 50 budgets").optional(),
    rateLimits: z.array(KeyRateLimitSchema, need("a list of rate limits")).max(50, "at most 50").optional(),
    secret: refuse("secrets are generated by the gateway and shown once in the reply"),
  })
  .superRefine((input, ctx) => {
    if (input.teamId != null && input.customerId != null)
      ctx.addIssue({ code: "custom", path: ["customerId"], message: OWNER_CONFLICT });
  });

const KeyPatchFields = { ...KeyFields, name: NameSchema.optional() };
export const KeyPatchSchema = z.strictObject({
  ...KeyPatchFields,
  secret: refuse("a new secret comes from POST /api/virtual-keys/<id>/rotate"),
  budgets: refuse("budgets are changed with /api/budgets"),
  rateLimits: refuse("rate limits are changed with /api/rate-limits"),
  revokedAt: refuse("revoke with POST /api/virtual-keys/<id>/revoke (revocation is permanent)"),
});

export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600;
export const RotateSchema = z.strictObject({
  gracePeriodSeconds: z
    .number(need("a number of seconds"))
    .int("must be a whole number of seconds")
    .nonnegative("must not be negative")
    .max(30 * 86400, "must be at most 30 days (2592000 seconds)")
    .optional(),
});

// ---------- list and delete queries ----------

export const ListQuerySchema = z.strictObject({
  after: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1, "must be 1 to 1000").max(1000, "must be 1 to 1000").optional(),
  customerId: z.string().min(1).optional(),
  teamId: z.string().min(1).optional(),
  developerId: z.string().min(1).optional(),
  scopeType: z.enum(SCOPE_TYPES, { error: `must be one of ${SCOPE_TYPES.join(", ")}` }).optional(),
  scopeId: z.string().min(1).optional(),
});

export const DeleteQuerySchema = z.strictObject({
  cascade: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).optional(),
});

export type CustomerCreate = z.output<typeof CustomerCreateSchema>;
export type CustomerPatch = z.output<typeof CustomerPatchSchema>;
export type TeamCreate = z.output<typeof TeamCreateSchema>;
export type TeamPatch = z.output<typeof TeamPatchSchema>;
export type DeveloperCreate = z.output<typeof DeveloperCreateSchema>;
export type DeveloperPatch = z.output<typeof DeveloperPatchSchema>;
export type KeyCreate = z.output<typeof KeyCreateSchema>;
export type KeyPatch = z.output<typeof KeyPatchSchema>;
export type KeyBudgetInput = z.output<typeof KeyBudgetSchema>;
export type KeyRateLimitInput = z.output<typeof KeyRateLimitSchema>;
export type BudgetCreate = z.output<typeof BudgetCreateSchema>;
export type BudgetPatch = z.output<typeof BudgetPatchSchema>;
export type RateLimitCreate = z.output<typeof RateLimitCreateSchema>;
export type RateLimitPatch = z.output<typeof RateLimitPatchSchema>;
export type ListQuery = z.output<typeof ListQuerySchema>;
