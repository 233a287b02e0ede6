import type { Clock } from "../../clock.ts";
import { systemClock } from "../../clock.ts";
import type { Usage } from "../usage.ts";
import type { CatalogMatch, PriceVariant } from "./catalog.ts";
import { findModel, findProvider, variantAt } from "./catalog.ts";
import type { FetchCatalogOptions, LoadedCatalog } from "./catalog-source.ts";
import { bundledCatalog, catalogFromFile, catalogFromUrl, REMOTE_DATA_JSON_URL } from "./catalog-source.ts";
import { computeCost } from "./compute-cost.ts";
import type { FallbackPrice } from "./fallback.ts";
import { compileFallback, fallbackHash } from "./fallback.ts";
import type { CompiledOverride, PriceOverride } from "./overrides.ts";
import { applyOverride, compileOverrides, findOverride, overridesHash } from "./overrides.ts";
import { canonicalProvider, resolveProviderName } from "./providers.ts";
import type { PriceTier, RateCard, Rates } from "./rates.ts";

/** Where a model's prices came from; `fallback`: nothing priced the model, the configured fallback price did. */
export type PriceSource = "catalog" | "override" | "catalog+override" | "fallback";

/** A model's prices in force now, in integer nano-USD per million tokens (see `Rates`). */
export interface ModelPrice {
  /** Catalog provider id whose model matched (a fallback provider's, if it came from one); else the provider given. */
  provider: string;
  /** Catalog model id; or the model as requested when only an override or the fallback prices it. */
  model: string;
  source: PriceSource;
  base: Rates;
  /** Long-context tiers: above `aboveInputTokens` total input tokens their rates apply to the whole request. */
  tiers: readonly PriceTier[];
  priceVersion: string;
}

export interface CostResult {
  /**
   * Integer nano-USD (1e-9 USD), or null when the price is unknown — never 0 for "unknown". A JS number is exact here:
   * Number.MAX_SAFE_INTEGER nano-USD is ~9 million USD, and larger results are reported as unknown.
   */
  costNanoUsd: number | null;
  /**
   * Exactly which prices applied: catalog version, plus `+overrides:<hash>` when overrides are set, plus
   * `+fallback:<hash>` when the fallback price priced this request.
   */
  priceVersion: string;
  warnings: string[];
  /**
   * Catalog model id the request was priced as (or the requested model when only an override priced it); null when
   * unknown or charged at the fallback price.
   */
  matchedModel: string | null;
  priceSource: PriceSource | null;
}

export interface PriceBookOptions {
  overrides?: readonly PriceOverride[];
  /** Picks conditional prices (start dates, time-of-day windows); defaults to the system clock. */
  clock?: Clock;
  /** Charged for models nothing else prices (with a warning) instead of leaving their cost unknown. */
  fallback?: FallbackPrice | null;
}

type Resolution = Priced | { kind: "unknown"; warning: string };

interface Priced {
  kind: "priced";
  provider: string;
  model: string;
  source: PriceSource;
  variants: readonly PriceVariant[];
  claude: boolean;
  /** Why the request was charged at the fallback price (only for `source: "fallback"`). */
  warning?: string;
}

/** Lookups cached per provider+model; cleared when full so arbitrary model names cannot grow memory unbounded. */
const MAX_CACHED_LOOKUPS = 10_000;

/**
 * Prices requests. Lookups are synchronous, do no I/O and are cached per provider+model (the cache is dropped when
 * the catalog or the overrides change); only the conditional-price choice and the arithmetic run per request.
 */
export class PriceBook {
  #loaded: LoadedCatalog;
  #overrides: CompiledOverride[] = [];
  #overrideInput: PriceOverride[] = [];
  #version = "";
  #clock: Clock;
  #fallback: { card: RateCard; version: string } | null;
  #cache = new Map<string, Resolution>();
  /** The last lookup: a request is priced several times (estimate, settlement) for one provider and model. */
  #lastProvider = "";
  #lastModel = "";
  #lastResolution: Resolution | null = null;
  #refreshStarted = 0;
  #refreshApplied = 0;

  constructor(options: PriceBookOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#loaded = bundledCatalog();
    const fallback = options.fallback ? compileFallback(options.fallback) : null;
    this.#fallback = fallback && { card: fallback, version: `+fallback:${fallbackHash(fallback)}` };
    this.setOverrides(options.overrides ?? []);
  }

  /** `genai-prices@<version>[+<data hash>][+overrides:<hash>]`. */
  get version(): string {
    return this.#version;
  }

  /** The catalog part of `version`. */
  get catalogVersion(): string {
    return this.#loaded.version;
  }

  /** The overrides in force, as validated. */
  get overrides(): readonly PriceOverride[] {
    return this.#overrideInput;
  }

  /** Replaces all overrides. Throws a ZodError (and changes nothing) if one is invalid. */
  setOverrides(overrides: readonly PriceOverride[]): void {
    const compiled = compileOverrides(overrides);
    this.#overrides = compiled;
    this.#overrideInput = structuredClone([...overrides]);
    this.#invalidate();
  }

  /** Replaces the catalog with a JSON file's (genai-prices data format). On error the current catalog stays. */
  async refreshFromFile(path: string): Promise<void> {
    const ticket = ++this.#refreshStarted;
    this.#applyCatalog(await catalogFromFile(path), ticket);
  }

  /** Replaces the catalog with data fetched from `url` (the genai-prices remote data by default). */
  async refreshFromUrl(url: string = REMOTE_DATA_JSON_URL, options?: FetchCatalogOptions): Promise<void> {
    const ticket = ++this.#refreshStarted;
    this.#applyCatalog(await catalogFromUrl(url, options), ticket);
  }

  /**
   * Cost of one request. Unknown provider or model: `costNanoUsd: null` with a warning; or, with a fallback price
   * configured, the cost at that price (`priceSource: "fallback"`, `matchedModel: null`) with a warning.
   */
  cost(provider: string, model: string, usage: Usage): CostResult {
    const current = this.#current(provider, model);
    if (current.kind === "unknown") {
      return {
        costNanoUsd: null,
        priceVersion: this.#version,
        warnings: [current.warning],
        matchedModel: null,
        priceSource: null,
      };
    }
    const { resolution, card } = current;
    const computed = computeCost(card, usage, { claude: resolution.claude });
    const fallback = resolution.source === "fallback";
    return {
      costNanoUsd: computed.costNanoUsd,
      priceVersion: this.#versionOf(resolution),
      warnings: resolution.warning === undefined ? computed.warnings : [resolution.warning, ...computed.warnings],
      matchedModel: fallback ? null : resolution.model,
      priceSource: resolution.source,
    };
  }

  /**
   * The prices in force now for a model (for `/api/pricing` and budget estimates), or null if unknown. A model only
   * the fallback prices gets the fallback price (`source: "fallback"`): that is what its requests are charged.
   */
  priceFor(provider: string, model: string): ModelPrice | null {
    const current = this.#current(provider, model);
    if (current.kind === "unknown") return null;
    const { resolution, card } = current;
    return {
      provider: resolution.provider,
      model: resolution.model,
      source: resolution.source,
      base: { ...card.base },
      tiers: card.tiers.map((tier) => ({ aboveInputTokens: tier.aboveInputTokens, rates: { ...tier.rates } })),
      priceVersion: this.#versionOf(resolution),
    };
  }

  /** The rate card in force now, or why there is none. */
  #current(
    provider: string,
    model: string,
  ): { kind: "priced"; resolution: Priced; card: RateCard } | { kind: "unknown"; warning: string } {
    const resolution = this.#resolve(provider, model);
    if (resolution.kind === "unknown") return resolution;
    const variant = variantAt(resolution.variants, this.#clock.now());
    if (variant && !(this.#fallback && isEmpty(variant.card))) {
      return { kind: "priced", resolution, card: variant.card };
    }
    // No prices in force: every one is conditional and none applies now, or the catalog lists an empty price set.
    const fallback = this.#fallbackFor(provider, model);
    if (fallback && this.#fallback) return { kind: "priced", resolution: fallback, card: this.#fallback.card };
    return { kind: "unknown", warning: "price unknown: the catalog entry has no prices" };
  }

  #versionOf(resolution: Priced): string {
    return resolution.source === "fallback" ? `${this.#version}${this.#fallback?.version ?? ""}` : this.#version;
  }

  #fallbackFor(provider: string, model: string): Priced | null {
    if (this.#fallback === null) return null;
    return {
      kind: "priced",
      provider: resolveProviderName(provider).name,
      model,
      source: "fallback",
      variants: [{ condition: null, card: this.#fallback.card }],
      claude: candidateIds(model).some((id) => id.includes("claude")),
      warning: `price unknown for ${provider}/${model}: charged at the fallback price; add a price override to price it exactly`,
    };
  }

  #applyCatalog(loaded: LoadedCatalog, ticket: number): void {
    // A slower, older refresh must not overwrite a newer one that already landed.
    if (ticket < this.#refreshApplied) return;
    this.#refreshApplied = ticket;
    this.#loaded = loaded;
    this.#invalidate();
  }

  #invalidate(): void {
    this.#cache.clear();
    this.#lastResolution = null;
    const suffix = this.#overrides.length > 0 ? `+overrides:${overridesHash(this.#overrides)}` : "";
    this.#version = `${this.#loaded.version}${suffix}`;
  }

  #resolve(provider: string, model: string): Resolution {
    const last = this.#lastResolution;
    if (last !== null && provider === this.#lastProvider && model === this.#lastModel) return last;
    // No new key string per call for the common case above: building and hashing one per lookup showed in profiles.
    const key = `${provider}\u0000${model}`;
    let resolution = this.#cache.get(key);
    if (resolution === undefined) {
      if (this.#cache.size >= MAX_CACHED_LOOKUPS) this.#cache.clear();
      resolution = this.#lookUp(provider, model);
      this.#cache.set(key, resolution);
    }
    this.#lastProvider = provider;
    this.#lastModel = model;
    this.#lastResolution = resolution;
    return resolution;
  }

  #lookUp(provider: string, model: string): Resolution {
    const resolution = this.#lookUpPriced(provider, model);
    return resolution.kind === "priced" ? resolution : (this.#fallbackFor(provider, model) ?? resolution);
  }

  #lookUpPriced(provider: string, model: string): Resolution {
    const ref = resolveProviderName(provider);
    const ids = candidateIds(model);
    const { catalog, version } = this.#loaded;
    const catalogProvider = ref.kind === "catalog" ? findProvider(catalog, ref.catalogId) : undefined;
    let match: CatalogMatch | undefined;
    for (const id of catalogProvider ? ids : []) {
      match = catalogProvider && findModel(catalog, catalogProvider, id);
      if (match) break;
    }
    const overrideIds = match ? [...ids, match.model.id.toLowerCase()] : ids;
    const override = findOverride(this.#overrides, canonicalProvider(provider), overrideIds);

    if (match) {
      const variants = override
        ? match.model.variants.map((variant) => ({
            condition: variant.condition,
            card: applyOverride(variant.card, override),
          }))
        : match.model.variants;
      return {
        kind: "priced",
        provider: match.providerId,
        model: match.model.id,
        source: override ? "catalog+override" : "catalog",
        variants,
        claude: match.model.id.toLowerCase().includes("claude"),
      };
    }
    if (override) {
      return {
        kind: "priced",
        provider: ref.name,
        model,
        source: "override",
        variants: [{ condition: null, card: override.card }],
        claude: ids.some((id) => id.includes("claude")),
      };
    }
    if (ref.kind === "self-hosted") {
      return {
        kind: "unknown",
        warning: `price unknown: ${ref.name} is self-hosted and has no catalog prices; add a price override for "${model}"`,
      };
    }
    if (!catalogProvider) {
      return {
        kind: "unknown",
        warning: `price unknown: provider "${provider}" is not in the price catalog (${version})`,
      };
    }
    return {
      kind: "unknown",
      warning: `price unknown: no price for model "${model}" of provider "${catalogProvider.id}" in ${version}`,
    };
  }
}

function isEmpty(card: RateCard): boolean {
  return Object.keys(card.base).length === 0 && card.tiers.length === 0;
}

/**
 * The ids a reported model is tried under, in order: as sent; without Gemini's `models/` prefix; the last path
 * segment (`anthropic/claude-sonnet-4.5` sent to Anthropic, `publishers/google/models/gemini-2.5-pro`).
 */
function candidateIds(model: string): string[] {
  const id = model.trim().toLowerCase();
  const ids = [id];
  if (id.startsWith("models/")) ids.push(id.slice("models/".length));
  const slash = id.lastIndexOf("/");
  if (slash >= 0 && slash < id.length - 1) ids.push(id.slice(slash + 1));
  return [...new Set(ids)];
}
