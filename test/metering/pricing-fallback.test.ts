/** The fallback price: what models nothing else prices are charged, exactly, and only those. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { FallbackPrice, PriceOverride } from "../../src/metering/pricing/index.ts";
import { PriceBook } from "../../src/metering/pricing/index.ts";
import type { Usage } from "../../src/metering/usage.ts";
import { ZERO_USAGE } from "../../src/metering/usage.ts";

function usage(parts: Partial<Usage>): Usage {
  return { ...ZERO_USAGE, ...parts };
}

function book(fallback: FallbackPrice | null, overrides: PriceOverride[] = []): PriceBook {
  return new PriceBook({ fallback, overrides, clock: new ManualClock() });
}

const FALLBACK: FallbackPrice = { inputPerMTok: "3", outputPerMTok: "15" };

describe("fallback price", () => {
  it("prices an unknown model at the fallback, exactly, with a warning naming provider and model", () => {
    const result = book(FALLBACK).cost("openai", "gpt-does-not-exist", usage({ input: 1000, output: 500 }));
    // 1000 × 3 + 500 × 15 = 3000 + 7500 = 10500 $·tok/M = 10,500,000 nano-USD
    assert.equal(result.costNanoUsd, 10_500_000);
    assert.equal(result.priceSource, "fallback");
    assert.equal(result.matchedModel, null);
    assert.deepEqual(result.warnings, [
      "price unknown for openai/gpt-does-not-exist: charged at the fallback price; add a price override to price it exactly",
    ]);
  });

  it("without a fallback the same model stays unknown (null, never 0)", () => {
    const result = book(null).cost("openai", "gpt-does-not-exist", usage({ input: 1000, output: 500 }));
    assert.equal(result.costNanoUsd, null);
    assert.equal(result.priceSource, null);
  });

  it("does not touch models the catalog or an override prices", () => {
    const request = usage({ input: 1200, cacheRead: 3000, output: 400 });
    const plain = book(null).cost("anthropic", "claude-sonnet-4-5-20250929", request);
    const withFallback = book({ inputPerMTok: "100", outputPerMTok: "100" });
    const catalog = withFallback.cost("anthropic", "claude-sonnet-4-5-20250929", request);
    assert.deepEqual(catalog, plain);
    assert.equal(catalog.priceSource, "catalog");

    const overridden = book(FALLBACK, [{ model: "my-model", inputPerMTok: "1", outputPerMTok: "2" }]);
    const result = overridden.cost("openai", "my-model", usage({ input: 1000, output: 1000 }));
    // 1000 × 1 + 1000 × 2 = 3000 $·tok/M
    assert.equal(result.costNanoUsd, 3_000_000);
    assert.equal(result.priceSource, "override");
  });

  it("also prices unknown providers, self-hosted servers and catalog entries with an empty price set", () => {
    const prices = book(FALLBACK);
    const tokens = usage({ input: 1000, output: 100 });
    // 1000 × 3 + 100 × 15 = 4500 $·tok/M
    for (const [provider, model] of [
      ["no-such-provider", "gpt-4o"],
      ["ollama", "llama-3.3-70b-versatile"],
      ["github-copilot", "gpt-4o"],
    ] as const) {
      const result = prices.cost(provider, model, tokens);
      assert.equal(result.costNanoUsd, 4_500_000, `${provider}/${model}`);
      assert.equal(result.priceSource, "fallback", `${provider}/${model}`);
      assert.match(result.warnings[0] ?? "", new RegExp(`^price unknown for ${provider}/${model}: charged`));
    }
  });

  it("is exact with decimal prices and prices cache buckets at their rate, else at the input rate", () => {
    const prices = book({ inputPerMTok: "0.1", outputPerMTok: "0.2", cacheReadPerMTok: "0.01" });
    // 3 × 0.1 + 3 × 0.2 = 0.9 $·tok/M = 900 nano-USD (floats would give 0.30000000000000004 + …)
    assert.equal(prices.cost("x", "m", usage({ input: 3, output: 3 })).costNanoUsd, 900);
    // cache read at its own rate: 1,000,000 × 0.01 = $0.01; cache write at the input rate: 1,000,000 × 0.1 = $0.1
    const cached = prices.cost("x", "m", usage({ cacheRead: 1_000_000, cacheWrite5m: 1_000_000 }));
    assert.equal(cached.costNanoUsd, 110_000_000);
    assert.ok(cached.warnings.some((w) => /5-minute cache writes priced at the input rate/.test(w)));
  });

  it("marks the price version of fallback-priced results only, by the prices and not how they are written", () => {
    const a = book({ inputPerMTok: 3, outputPerMTok: "15.00" });
    const b = book({ inputPerMTok: "3.0", outputPerMTok: 15 });
    const c = book({ inputPerMTok: "3", outputPerMTok: "16" });
    const tokens = usage({ input: 1 });
    const versionA = a.cost("openai", "gpt-does-not-exist", tokens).priceVersion;
    assert.match(versionA, /\+fallback:[0-9a-f]{8}$/);
    assert.ok(versionA.startsWith(`${a.version}+fallback:`), versionA);
    assert.equal(b.cost("openai", "gpt-does-not-exist", tokens).priceVersion, versionA);
    assert.notEqual(c.cost("openai", "gpt-does-not-exist", tokens).priceVersion, versionA);
    // The book's version and catalog-priced rows are unchanged by a fallback.
    assert.equal(a.version, book(null).version);
    assert.equal(a.cost("openai", "gpt-4o", tokens).priceVersion, a.version);
  });

  it("priceFor answers the fallback price for an unknown model, and null without a fallback", () => {
    const price = book(FALLBACK).priceFor("openai", "gpt-does-not-exist");
    assert.ok(price);
    assert.equal(price.source, "fallback");
    assert.equal(price.model, "gpt-does-not-exist");
    assert.deepEqual(price.base, { input: 3_000_000_000, output: 15_000_000_000 });
    assert.deepEqual(price.tiers, []);
    assert.match(price.priceVersion, /\+fallback:/);
    assert.equal(book(null).priceFor("openai", "gpt-does-not-exist"), null);
  });

  it("refuses an invalid fallback: input and output are both required, prices non-negative decimals", () => {
    assert.throws(() => book({ inputPerMTok: "3" } as FallbackPrice));
    assert.throws(() => book({ inputPerMTok: "-1", outputPerMTok: "15" }));
    assert.throws(() => book({ inputPerMTok: "3", outputPerMTok: "15", extra: "1" } as FallbackPrice));
  });
});
