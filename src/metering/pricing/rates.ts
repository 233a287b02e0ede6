/**
 * Resolved prices for one model, in integers. Every rate is nano-USD (1e-9 USD) per million tokens, except
 * `requestPerK` (nano-USD per 1000 requests, the catalog's `requests_kcount`). Numbers rather than bigints so a
 * rate card serialises to JSON as is (for `/api/pricing`); every value is a safe integer.
 */
export interface Rates {
  /** Uncached input tokens (`input_mtok`). */
  input?: number;
  /** Prompt-cache reads (`cache_read_mtok`). */
  cacheRead?: number;
  /** Cache writes with the default 5-minute TTL (`cache_write_5m_mtok`, else `cache_write_mtok`). */
  cacheWrite5m?: number;
  /** Cache writes with a 1-hour TTL (`cache_write_1h_mtok`). */
  cacheWrite1h?: number;
  /** Output tokens, reasoning included unless `reasoning` is set (`output_mtok`). */
  output?: number;
  /** The reasoning part of output, when the model prices it apart (`output_reasoning_mtok`, rare). */
  reasoning?: number;
  /** A flat fee per request, in nano-USD per 1000 requests (`requests_kcount`, e.g. Perplexity). */
  requestPerK?: number;
}

export type RateKey = keyof Rates;

export const RATE_KEYS: readonly RateKey[] = [
  "input",
  "cacheRead",
  "cacheWrite5m",
  "cacheWrite1h",
  "output",
  "reasoning",
  "requestPerK",
];

/**
 * A long-context tier. Once the request's total input tokens (uncached + cache reads + cache writes) are strictly
 * above `aboveInputTokens`, the rates it lists replace the base rates for the WHOLE request — every token of those
 * buckets, not only the part above the threshold. That is how Anthropic and Google bill long prompts and how
 * genai-prices defines `TieredPrices` (price = last tier whose `start` < input tokens).
 */
export interface PriceTier {
  aboveInputTokens: number;
  rates: Rates;
}

/** Base rates plus long-context tiers, sorted by ascending threshold. */
export interface RateCard {
  base: Rates;
  tiers: readonly PriceTier[];
}

/** The rates that apply to a request with `totalInputTokens` input tokens. */
export function ratesForInputSize(card: RateCard, totalInputTokens: number): Rates {
  if (card.tiers.length === 0) return card.base;
  let rates = card.base;
  for (const tier of card.tiers) {
    if (totalInputTokens > tier.aboveInputTokens) rates = { ...rates, ...tier.rates };
  }
  return rates;
}

/** Copy of `rates` without the given keys. */
export function withoutKeys(rates: Rates, keys: ReadonlySet<RateKey>): Rates {
  const out: Rates = {};
  for (const key of RATE_KEYS) {
    const value = rates[key];
    if (value !== undefined && !keys.has(key)) out[key] = value;
  }
  return out;
}

/** Tiers keyed by threshold → a list sorted by ascending threshold. */
export function sortTiers(tiers: ReadonlyMap<number, Rates>): PriceTier[] {
  return [...tiers.entries()]
    .sort(([a], [b]) => a - b)
    .map(([aboveInputTokens, rates]) => ({ aboveInputTokens, rates }));
}
