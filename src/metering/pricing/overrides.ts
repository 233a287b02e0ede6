/**
 * User price overrides: negotiated discounts, models the catalog lacks, self-hosted models with an internal price.
 * They win over the catalog, bucket by bucket: a bucket an override prices (at base level or in a tier) takes the
 * override's price and tiers and drops the catalog's; buckets it does not mention keep the catalog's prices.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { isValidPrice, usdPerMTokToNano } from "./decimal.ts";
import { canonicalProvider } from "./providers.ts";
import type { RateCard, RateKey, Rates } from "./rates.ts";
import { RATE_KEYS, sortTiers, withoutKeys } from "./rates.ts";

/** USD per million tokens: a decimal string (preferred: exact as written) or a number. */
export type DecimalPrice = string | number;

export interface PriceTierOverride {
  /** The tier applies when the request's total input tokens are strictly above this. */
  aboveInputTokens: number;
  inputPerMTok?: DecimalPrice;
  outputPerMTok?: DecimalPrice;
  cacheReadPerMTok?: DecimalPrice;
  cacheWrite5mPerMTok?: DecimalPrice;
  cacheWrite1hPerMTok?: DecimalPrice;
}

export interface PriceOverride {
  /** Tollgate provider name or catalog id; omitted: any provider. */
  provider?: string;
  /** Exact model id, or a glob where `*` matches any run of characters (case-insensitive). */
  model: string;
  inputPerMTok?: DecimalPrice;
  outputPerMTok?: DecimalPrice;
  cacheReadPerMTok?: DecimalPrice;
  cacheWrite5mPerMTok?: DecimalPrice;
  cacheWrite1hPerMTok?: DecimalPrice;
  tiers?: PriceTierOverride[];
}

const PRICE_FIELDS = [
  ["inputPerMTok", "input"],
  ["outputPerMTok", "output"],
  ["cacheReadPerMTok", "cacheRead"],
  ["cacheWrite5mPerMTok", "cacheWrite5m"],
  ["cacheWrite1hPerMTok", "cacheWrite1h"],
] as const satisfies ReadonlyArray<readonly [keyof PriceTierOverride, RateKey]>;

export const decimalPriceSchema: z.ZodType<DecimalPrice> = z
  .union([z.string(), z.number()])
  .refine(isValidPrice, 'must be a non-negative decimal USD amount per million tokens, such as "3" or "0.30"');

const tierOverrideSchema: z.ZodType<PriceTierOverride> = z
  .strictObject({
    aboveInputTokens: z.number().int().nonnegative(),
    inputPerMTok: decimalPriceSchema.optional(),
    outputPerMTok: decimalPriceSchema.optional(),
    cacheReadPerMTok: decimalPriceSchema.optional(),
    cacheWrite5mPerMTok: decimalPriceSchema.optional(),
    cacheWrite1hPerMTok: decimalPriceSchema.optional(),
  })
  .refine((tier) => PRICE_FIELDS.some(([field]) => tier[field] !== undefined), "a tier must set at least one price");

export const priceOverrideSchema: z.ZodType<PriceOverride> = z
  .strictObject({
    provider: z.string().trim().min(1).optional(),
    model: z.string().trim().min(1),
    inputPerMTok: decimalPriceSchema.optional(),
    outputPerMTok: decimalPriceSchema.optional(),
    cacheReadPerMTok: decimalPriceSchema.optional(),
    cacheWrite5mPerMTok: decimalPriceSchema.optional(),
    cacheWrite1hPerMTok: decimalPriceSchema.optional(),
    tiers: z.array(tierOverrideSchema).optional(),
  })
  .superRefine((override, ctx) => {
    const tiers = override.tiers ?? [];
    if (!PRICE_FIELDS.some(([field]) => override[field] !== undefined) && tiers.length === 0) {
      ctx.addIssue({ code: "custom", message: "an override must set at least one price" });
    }
    const seen = new Set<number>();
    tiers.forEach((tier, index) => {
      if (seen.has(tier.aboveInputTokens)) {
        ctx.addIssue({
          code: "custom",
          path: ["tiers", index, "aboveInputTokens"],
          message: "duplicate tier threshold",
        });
      }
      seen.add(tier.aboveInputTokens);
      for (const [field] of PRICE_FIELDS) {
        if (tier[field] !== undefined && override[field] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["tiers", index, field],
            message: `a tier price needs a base price: set ${field} on the override too`,
          });
        }
      }
    });
  });

export const priceOverridesSchema = z.array(priceOverrideSchema);

export interface CompiledOverride {
  /** Canonical provider (catalog id where known), or null for any provider. */
  provider: string | null;
  /** Lower-cased model pattern as written. */
  pattern: string;
  /** null: exact id. */
  glob: RegExp | null;
  card: RateCard;
  /** Every bucket this override prices (its card replaces the catalog's for them). */
  keys: ReadonlySet<RateKey>;
  /** Position in the list, for ties. */
  index: number;
}

/** Validates and compiles overrides. Throws a ZodError for invalid input. */
export function compileOverrides(overrides: readonly PriceOverride[]): CompiledOverride[] {
  return priceOverridesSchema.parse(overrides).map((override, index) => {
    const pattern = override.model.toLowerCase();
    const base = ratesFromFields(override);
    const tiers = new Map<number, Rates>();
    for (const tier of override.tiers ?? []) tiers.set(tier.aboveInputTokens, ratesFromFields(tier));
    const keys = new Set<RateKey>();
    for (const rates of [base, ...tiers.values()]) {
      for (const key of RATE_KEYS) if (rates[key] !== undefined) keys.add(key);
    }
    return {
      provider: override.provider === undefined ? null : canonicalProvider(override.provider),
      pattern,
      glob: pattern.includes("*") ? globToRegExp(pattern) : null,
      card: { base, tiers: sortTiers(tiers) },
      keys,
      index,
    };
  });
}

function ratesFromFields(fields: PriceTierOverride | PriceOverride): Rates {
  const rates: Rates = {};
  for (const [field, key] of PRICE_FIELDS) {
    const value = fields[field];
    if (value !== undefined) rates[key] = usdPerMTokToNano(value);
  }
  return rates;
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`);
}

/**
 * The override that applies to a request, or undefined. `modelIds` are the lower-cased ids the request's model is
 * known by (as sent, normalised forms, the catalog model id). The most specific override wins: an exact id beats a
 * glob, a named provider beats none; among equals, the first in the list.
 */
export function findOverride(
  overrides: readonly CompiledOverride[],
  provider: string,
  modelIds: readonly string[],
): CompiledOverride | undefined {
  let best: CompiledOverride | undefined;
  let bestScore = -1;
  for (const override of overrides) {
    if (override.provider !== null && override.provider !== provider) continue;
    const { glob, pattern } = override;
    const matches = glob ? modelIds.some((id) => glob.test(id)) : modelIds.includes(pattern);
    if (!matches) continue;
    const score = (glob ? 0 : 2) + (override.provider === null ? 0 : 1);
    if (score > bestScore) {
      best = override;
      bestScore = score;
    }
  }
  return best;
}

/** The catalog card (if any) with the override's buckets replaced. */
export function applyOverride(catalogCard: RateCard | null, override: CompiledOverride): RateCard {
  if (catalogCard === null) return override.card;
  const tiers = new Map<number, Rates>();
  for (const tier of catalogCard.tiers) {
    const kept = withoutKeys(tier.rates, override.keys);
    if (Object.keys(kept).length > 0) tiers.set(tier.aboveInputTokens, kept);
  }
  for (const tier of override.card.tiers) {
    tiers.set(tier.aboveInputTokens, { ...tiers.get(tier.aboveInputTokens), ...tier.rates });
  }
  return { base: { ...withoutKeys(catalogCard.base, override.keys), ...override.card.base }, tiers: sortTiers(tiers) };
}

/**
 * Short hash of the compiled override set. Built from integer rates, so `3`, `"3"` and `"3.00"` hash the same: the
 * hash changes exactly when the prices that apply change.
 */
export function overridesHash(overrides: readonly CompiledOverride[]): string {
  const canonical = overrides.map((override) => ({
    provider: override.provider,
    model: override.pattern,
    base: canonicalRates(override.card.base),
    tiers: override.card.tiers.map((tier) => [tier.aboveInputTokens, canonicalRates(tier.rates)]),
  }));
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 8);
}

function canonicalRates(rates: Rates): Array<[RateKey, number]> {
  const out: Array<[RateKey, number]> = [];
  for (const key of RATE_KEYS) {
    const value = rates[key];
    if (value !== undefined) out.push([key, value]);
  }
  return out;
}
