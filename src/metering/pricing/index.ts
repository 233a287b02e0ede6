/** Pricing: exact cost of a request in integer nano-USD, from the genai-prices catalog plus user overrides. */
export { BUNDLED_CATALOG_VERSION, GENAI_PRICES_VERSION, REMOTE_DATA_JSON_URL } from "./catalog-source.ts";
export type { CostComputation, CostOptions } from "./compute-cost.ts";
export { computeCost } from "./compute-cost.ts";
export { formatNanoUsd, usdPerMTokToNano } from "./decimal.ts";
export type { FallbackPrice } from "./fallback.ts";
export { FALLBACK_ENV_ORDER, fallbackPriceSchema } from "./fallback.ts";
export type { DecimalPrice, PriceOverride, PriceTierOverride } from "./overrides.ts";
export { decimalPriceSchema, priceOverrideSchema, priceOverridesSchema } from "./overrides.ts";
export type { CostResult, ModelPrice, PriceBookOptions, PriceSource } from "./price-book.ts";
export { PriceBook } from "./price-book.ts";
export type { PriceTier, RateCard, Rates } from "./rates.ts";
export { ratesForInputSize } from "./rates.ts";
