/**
 * The genai-prices catalog, validated and compiled for fast lookups. Matching follows genai-prices' own rules
 * (dist/index.js of @pydantic/genai-prices 0.1.x): case-insensitive `match` clauses on the lower-cased model id,
 * first matching model in catalog order, then the provider's `fallback_model_providers` (one level), then the same
 * id with a `-YYYYMMDD` date rewritten as `-YYYY-MM-DD`. Conditional prices: the last entry whose constraint holds
 * (start date reached, or time of day inside its UTC window) wins, an entry without constraint ends the search, and
 * the first entry is the default.
 */
import { z } from "zod";
import { usdPerMTokToNano } from "./decimal.ts";
import type { RateCard, RateKey, Rates } from "./rates.ts";
import { sortTiers } from "./rates.ts";

export type MatchLogic =
  | { and: MatchLogic[] }
  | { or: MatchLogic[] }
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string };

const matchLogicSchema: z.ZodType<MatchLogic> = z.lazy(() =>
  z.union([
    z.strictObject({ and: z.array(matchLogicSchema) }),
    z.strictObject({ or: z.array(matchLogicSchema) }),
    z.strictObject({ equals: z.string() }),
    z.strictObject({ starts_with: z.string() }),
    z.strictObject({ ends_with: z.string() }),
    z.strictObject({ contains: z.string() }),
    z.strictObject({ regex: z.string().refine(isValidRegex, "invalid regular expression") }),
  ]),
);

const usdSchema = z.number().finite().nonnegative();
const tieredSchema = z.looseObject({
  base: usdSchema,
  tiers: z.array(z.looseObject({ start: z.number().int().nonnegative(), price: usdSchema })),
});
const modelPricesSchema = z.record(z.string(), z.union([usdSchema, tieredSchema]));
const timeOfDaySchema = z.string().refine((value) => parseTimeOfDay(value) !== null, "invalid time of day");
// Remote data may omit `type` (genai-prices normalises it the same way).
const constraintSchema = z.union([
  z.looseObject({ type: z.literal("start_date").optional(), start_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }),
  z.looseObject({ type: z.literal("time_of_date").optional(), start_time: timeOfDaySchema, end_time: timeOfDaySchema }),
]);
const modelSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  match: matchLogicSchema,
  prices: z.union([
    z.array(z.looseObject({ constraint: constraintSchema.optional(), prices: modelPricesSchema })).min(1),
    modelPricesSchema,
  ]),
});
const providerSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().optional(),
  provider_match: matchLogicSchema.optional(),
  fallback_model_providers: z.array(z.string()).optional(),
  models: z.array(modelSchema),
});

/** What `REMOTE_DATA_JSON_URL` serves: an array of providers (newer payloads wrap it as `{ providers, units }`). */
export const catalogDataSchema = z.union([
  z.array(providerSchema),
  z.looseObject({ providers: z.array(providerSchema) }),
]);

type ModelPrices = z.infer<typeof modelPricesSchema>;
type Constraint = z.infer<typeof constraintSchema>;

/** When a conditional price applies. */
export type PriceCondition =
  | { kind: "from-date"; startMs: number }
  | { kind: "time-of-day"; startSecond: number; endSecond: number };

export interface PriceVariant {
  /** null: applies unconditionally (ends the search). */
  condition: PriceCondition | null;
  card: RateCard;
}

export interface CatalogModel {
  id: string;
  name: string | undefined;
  matches: (modelId: string) => boolean;
  /** In catalog order: variants[0] is the default. */
  variants: readonly PriceVariant[];
}

export interface CatalogProvider {
  id: string;
  matchesName: ((name: string) => boolean) | null;
  fallbackProviderIds: readonly string[];
  models: readonly CatalogModel[];
}

export interface Catalog {
  providers: readonly CatalogProvider[];
}

export interface CatalogMatch {
  /** The provider whose model matched (a fallback provider when the model came from one). */
  providerId: string;
  model: CatalogModel;
}

/** Validates raw catalog JSON (already parsed) and compiles it. Throws with the first problem found. */
export function compileCatalog(data: unknown): Catalog {
  const parsed = catalogDataSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.map(String).join(".") : "";
    throw new Error(`invalid price catalog at ${where || "(root)"}: ${issue?.message ?? "unknown problem"}`);
  }
  const providers = Array.isArray(parsed.data) ? parsed.data : parsed.data.providers;
  return {
    providers: providers.map((provider) => ({
      id: provider.id,
      matchesName: provider.provider_match ? compileMatch(provider.provider_match) : null,
      fallbackProviderIds: provider.fallback_model_providers ?? [],
      models: provider.models.map((model) => ({
        id: model.id,
        name: model.name,
        matches: compileMatch(model.match),
        variants: Array.isArray(model.prices)
          ? model.prices.map((entry) => ({
              condition: entry.constraint ? compileCondition(entry.constraint) : null,
              card: rateCardFromPrices(entry.prices),
            }))
          : [{ condition: null, card: rateCardFromPrices(model.prices) }],
      })),
    })),
  };
}

/** genai-prices' provider lookup by id: exact id first, then each provider's `provider_match`. */
export function findProvider(catalog: Catalog, providerId: string): CatalogProvider | undefined {
  const id = providerId.trim().toLowerCase();
  return (
    catalog.providers.find((provider) => provider.id === id) ??
    catalog.providers.find((provider) => provider.matchesName?.(id) === true)
  );
}

/** genai-prices' model lookup within a provider, for one candidate id. */
export function findModel(catalog: Catalog, provider: CatalogProvider, modelId: string): CatalogMatch | undefined {
  const id = modelId.trim().toLowerCase();
  const direct = findInProvider(catalog, provider, id, true);
  if (direct) return direct;
  const dated = normaliseDates(id);
  return dated === id ? undefined : findInProvider(catalog, provider, dated, true);
}

function findInProvider(
  catalog: Catalog,
  provider: CatalogProvider,
  id: string,
  followFallbacks: boolean,
): CatalogMatch | undefined {
  const model = provider.models.find((candidate) => candidate.matches(id));
  if (model) return { providerId: provider.id, model };
  if (!followFallbacks) return undefined;
  for (const fallbackId of provider.fallbackProviderIds) {
    const fallback = catalog.providers.find((candidate) => candidate.id === fallbackId);
    const found = fallback && findInProvider(catalog, fallback, id, false);
    if (found) return found;
  }
  return undefined;
}

const DATE_SUFFIX_RE = /(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g;

/** `claude-x-20250929` → `claude-x-2025-09-29` (only for real calendar dates), as genai-prices retries. */
function normaliseDates(id: string): string {
  return id.replace(DATE_SUFFIX_RE, (whole, dash: string, year: string, month: string, day: string) => {
    const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
    const valid = date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
    return valid ? `${dash}${year}-${month}-${day}` : whole;
  });
}

/** The price variant in force at `nowMs`. */
export function variantAt(variants: readonly PriceVariant[], nowMs: number): PriceVariant | undefined {
  for (let index = variants.length - 1; index >= 0; index--) {
    const variant = variants[index];
    if (!variant) continue;
    if (variant.condition === null || conditionHolds(variant.condition, nowMs)) return variant;
  }
  return variants[0];
}

function conditionHolds(condition: PriceCondition, nowMs: number): boolean {
  if (condition.kind === "from-date") return nowMs >= condition.startMs;
  const msOfDay = ((nowMs % 86_400_000) + 86_400_000) % 86_400_000;
  const second = msOfDay / 1000;
  const { startSecond, endSecond } = condition;
  return endSecond < startSecond
    ? second >= startSecond || second < endSecond // window wraps past midnight
    : second >= startSecond && second < endSecond;
}

function compileCondition(constraint: Constraint): PriceCondition {
  if ("start_date" in constraint) {
    return { kind: "from-date", startMs: Date.parse(`${constraint.start_date}T00:00:00Z`) };
  }
  // Both parse: the schema checked them.
  return {
    kind: "time-of-day",
    startSecond: parseTimeOfDay(constraint.start_time) ?? 0,
    endSecond: parseTimeOfDay(constraint.end_time) ?? 0,
  };
}

const TIME_OF_DAY_RE = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/;

/** "HH:MM:SS[.fff](Z|±HH:MM)" → seconds after midnight UTC, or null. */
function parseTimeOfDay(value: string): number | null {
  const match = TIME_OF_DAY_RE.exec(value);
  if (!match) return null;
  const [, hh = "", mm = "", ss = "", fraction = "", zone, sign, offsetH = "00", offsetM = "00"] = match;
  const hours = Number(hh);
  const minutes = Number(mm);
  const seconds = Number(ss);
  if (hours > 23 || minutes > 59 || seconds > 59 || Number(offsetH) > 23 || Number(offsetM) > 59) return null;
  const local = hours * 3600 + minutes * 60 + seconds + Number(`0.${fraction || "0"}`);
  const offset = zone === "Z" ? 0 : (sign === "+" ? 1 : -1) * (Number(offsetH) * 3600 + Number(offsetM) * 60);
  return (local - offset + 86_400) % 86_400;
}

/** Catalog price keys → rate card fields. Keys for modalities Usage does not count (audio, images…) are ignored. */
const PRICE_KEYS: ReadonlyArray<readonly [string, RateKey]> = [
  ["input_mtok", "input"],
  ["cache_read_mtok", "cacheRead"],
  ["cache_write_mtok", "cacheWrite5m"],
  ["cache_write_5m_mtok", "cacheWrite5m"], // more specific than cache_write_mtok: listed after it so it wins
  ["cache_write_1h_mtok", "cacheWrite1h"],
  ["output_mtok", "output"],
  ["output_reasoning_mtok", "reasoning"],
  ["requests_kcount", "requestPerK"],
];

/** A genai-prices price set (numbers or `{ base, tiers: [{ start, price }] }`) → an integer rate card. */
export function rateCardFromPrices(prices: ModelPrices): RateCard {
  const base: Rates = {};
  const tiers = new Map<number, Rates>();
  for (const [priceKey, rateKey] of PRICE_KEYS) {
    const price = prices[priceKey];
    if (price === undefined) continue;
    if (typeof price === "number") {
      base[rateKey] = usdPerMTokToNano(price);
      continue;
    }
    base[rateKey] = usdPerMTokToNano(price.base);
    for (const tier of price.tiers) {
      const rates = tiers.get(tier.start) ?? {};
      rates[rateKey] = usdPerMTokToNano(tier.price);
      tiers.set(tier.start, rates);
    }
  }
  return { base, tiers: sortTiers(tiers) };
}

/** Compiles a match clause once (regexes included) into a predicate on a lower-cased id. */
function compileMatch(logic: MatchLogic): (id: string) => boolean {
  if ("and" in logic) {
    const parts = logic.and.map(compileMatch);
    return (id) => parts.every((part) => part(id));
  }
  if ("or" in logic) {
    const parts = logic.or.map(compileMatch);
    return (id) => parts.some((part) => part(id));
  }
  if ("equals" in logic) {
    const value = logic.equals.toLowerCase();
    return (id) => id === value;
  }
  if ("starts_with" in logic) {
    const value = logic.starts_with.toLowerCase();
    return (id) => id.startsWith(value);
  }
  if ("ends_with" in logic) {
    const value = logic.ends_with.toLowerCase();
    return (id) => id.endsWith(value);
  }
  if ("contains" in logic) {
    const value = logic.contains.toLowerCase();
    return (id) => id.includes(value);
  }
  const regex = new RegExp(logic.regex);
  return (id) => regex.test(id);
}

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
