/**
 * The fallback price: what a model the catalog and the overrides do not price is charged, when the operator sets
 * one (`pricing.fallback` or `TOLLGATE_PRICE_FALLBACK`). Without it such a request's cost is unknown (null), and a
 * request that counts against a budget is refused.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { usdPerMTokToNano } from "./decimal.ts";
import type { DecimalPrice } from "./overrides.ts";
import { decimalPriceSchema } from "./overrides.ts";
import type { RateCard, RateKey, Rates } from "./rates.ts";
import { RATE_KEYS } from "./rates.ts";

/** USD per million tokens, written as price overrides write them. Missing cache prices fall back to the input rate. */
export interface FallbackPrice {
  inputPerMTok: DecimalPrice;
  outputPerMTok: DecimalPrice;
  cacheReadPerMTok?: DecimalPrice;
  cacheWrite5mPerMTok?: DecimalPrice;
  cacheWrite1hPerMTok?: DecimalPrice;
}

// Input and output are required: a fallback that left either unpriced would still leave the cost unknown.
export const fallbackPriceSchema: z.ZodType<FallbackPrice> = z.strictObject({
  inputPerMTok: decimalPriceSchema,
  outputPerMTok: decimalPriceSchema,
  cacheReadPerMTok: decimalPriceSchema.optional(),
  cacheWrite5mPerMTok: decimalPriceSchema.optional(),
  cacheWrite1hPerMTok: decimalPriceSchema.optional(),
});

const FIELDS = [
  ["inputPerMTok", "input"],
  ["outputPerMTok", "output"],
  ["cacheReadPerMTok", "cacheRead"],
  ["cacheWrite5mPerMTok", "cacheWrite5m"],
  ["cacheWrite1hPerMTok", "cacheWrite1h"],
] as const satisfies ReadonlyArray<readonly [keyof FallbackPrice, RateKey]>;

/** The order `TOLLGATE_PRICE_FALLBACK` lists prices in: `input,output[,cacheRead[,cacheWrite5m[,cacheWrite1h]]]`. */
export const FALLBACK_ENV_ORDER: readonly (keyof FallbackPrice)[] = FIELDS.map(([field]) => field);

/** Validates a fallback price and turns it into an integer rate card. Throws a ZodError for invalid input. */
export function compileFallback(fallback: FallbackPrice): RateCard {
  const parsed = fallbackPriceSchema.parse(fallback);
  const base: Rates = {};
  for (const [field, key] of FIELDS) {
    const value = parsed[field];
    if (value !== undefined) base[key] = usdPerMTokToNano(value);
  }
  return { base, tiers: [] };
}

/** Short hash of the integer rates, so `3` and `"3.00"` give the same price version. */
export function fallbackHash(card: RateCard): string {
  const canonical: Array<[RateKey, number]> = [];
  for (const key of RATE_KEYS) {
    const value = card.base[key];
    if (value !== undefined) canonical.push([key, value]);
  }
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 8);
}
