/** User price overrides: precedence over the catalog, globs, tiers, validation, exactness and version strings. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { PriceOverride } from "../../src/metering/pricing/index.ts";
import { PriceBook, priceOverrideSchema, priceOverridesSchema } from "../../src/metering/pricing/index.ts";
import type { Usage } from "../../src/metering/usage.ts";
import { ZERO_USAGE } from "../../src/metering/usage.ts";

function usage(parts: Partial<Usage>): Usage {
  return { ...ZERO_USAGE, ...parts };
}

function bookWith(overrides: PriceOverride[]): PriceBook {
  return new PriceBook({ overrides, clock: new ManualClock() });
}

const SONNET_REQUEST = usage({ input: 1200, cacheRead: 3000, cacheWrite5m: 100, cacheWrite1h: 50, output: 400 });

describe("price overrides", () => {
  it("an exact override wins over the catalog for the buckets it prices; the others keep catalog prices", () => {
    const book = bookWith([
      { provider: "anthropic", model: "claude-sonnet-4-5-20250929", inputPerMTok: "2.5", outputPerMTok: "12.5" },
    ]);
    // input $2.50 and output $12.50 from the override; read $0.30, 5m $3.75, 1h $6 from the catalog:
    // 1200 × 2.5 + 3000 × 0.30 + 100 × 3.75 + 50 × 6 + 400 × 12.5 = 3000 + 900 + 375 + 300 + 5000
    //   = 9575 $·tok/M = 9,575,000 nano-USD (catalog alone: 11,175,000)
    const result = book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST);
    assert.equal(result.costNanoUsd, 9_575_000);
    assert.equal(result.priceSource, "catalog+override");
    assert.equal(result.matchedModel, "claude-sonnet-4-5");
  });

  it("an overridden bucket drops the catalog's long-context tier; untouched buckets keep theirs", () => {
    const book = bookWith([{ provider: "anthropic", model: "claude-sonnet-4-5", inputPerMTok: "2.5" }]);
    // 250000 total input > 200k: input stays flat $2.50 (override), output takes the catalog tier $22.50:
    // 249000 × 2.5 + 1000 × 0.6 + 100 × 22.5 = 622500 + 600 + 2250 = 625350 $·tok/M = 625,350,000 nano-USD
    const result = book.cost(
      "anthropic",
      "claude-sonnet-4-5-20250929",
      usage({ input: 249_000, cacheRead: 1000, output: 100 }),
    );
    assert.equal(result.costNanoUsd, 625_350_000);
  });

  it("a glob applies where no exact override does, and the exact one beats the glob", () => {
    const book = bookWith([
      { model: "claude-*", inputPerMTok: "0.5", outputPerMTok: "2" },
      { provider: "anthropic", model: "claude-sonnet-4-5-20250929", inputPerMTok: "2.5", outputPerMTok: "12.5" },
    ]);
    // Haiku 4.5 through the glob: 1000 × 0.5 + 1000 × 2 = 500 + 2000 = 2500 $·tok/M = 2,500,000 nano-USD
    const haiku = book.cost("anthropic", "claude-haiku-4-5-20251001", usage({ input: 1000, output: 1000 }));
    assert.equal(haiku.costNanoUsd, 2_500_000);
    // Sonnet 4.5 through the exact override (listed after the glob): 9,575,000 as above
    assert.equal(book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST).costNanoUsd, 9_575_000);
  });

  it("matches the catalog model id too, and the provider in either spelling", () => {
    const book = bookWith([{ provider: "google", model: "gemini-2.5-pro", inputPerMTok: "1", outputPerMTok: "8" }]);
    // "gemini" (Tollgate) = "google" (catalog); models/gemini-2.5-pro resolves to catalog id gemini-2.5-pro.
    // 1000 × 1 + 1000 × 8 = 9000 $·tok/M = 9,000,000 nano-USD
    const result = book.cost("gemini", "models/gemini-2.5-pro", usage({ input: 1000, output: 1000 }));
    assert.equal(result.costNanoUsd, 9_000_000);
  });

  it("an override for another provider does not apply", () => {
    const book = bookWith([{ provider: "openai", model: "*", inputPerMTok: "100", outputPerMTok: "100" }]);
    // Catalog Sonnet 4.5 price: 11,175,000 (see pricing.test.ts)
    const result = book.cost("anthropic", "claude-sonnet-4-5-20250929", SONNET_REQUEST);
    assert.equal(result.costNanoUsd, 11_175_000);
    assert.equal(result.priceSource, "catalog");
  });

  it("prices a self-hosted model, with fallbacks for buckets it does not price", () => {
    const book = bookWith([{ provider: "ollama", model: "llama3*", inputPerMTok: "0.01", outputPerMTok: "0.02" }]);
    // cache reads fall back to the input rate: 1000 × 0.01 + 500 × 0.01 + 1000 × 0.02 = 10 + 5 + 20
    //   = 35 $·tok/M = 35,000 nano-USD
    const result = book.cost("ollama", "llama3.1:8b", usage({ input: 1000, cacheRead: 500, output: 1000 }));
    assert.equal(result.costNanoUsd, 35_000);
    assert.equal(result.priceSource, "override");
    assert.equal(result.matchedModel, "llama3.1:8b");
    assert.match(result.warnings.join("\n"), /cache reads priced at the input rate/);
    assert.equal(book.cost("ollama", "mistral", usage({ input: 1 })).costNanoUsd, null);
  });

  it("override tiers switch the whole request above the threshold", () => {
    const book = bookWith([
      {
        provider: "vllm",
        model: "qwen3-coder",
        inputPerMTok: "1",
        outputPerMTok: "2",
        tiers: [{ aboveInputTokens: 100_000, inputPerMTok: "2", outputPerMTok: "3" }],
      },
    ]);
    // At 100000: 100000 × 1 + 1000 × 2 = 102000 $·tok/M = 102,000,000 nano-USD
    assert.equal(book.cost("vllm", "qwen3-coder", usage({ input: 100_000, output: 1000 })).costNanoUsd, 102_000_000);
    // At 100001: 100001 × 2 + 1000 × 3 = 200002 + 3000 = 203002 $·tok/M = 203,002,000 nano-USD
    assert.equal(book.cost("vllm", "qwen3-coder", usage({ input: 100_001, output: 1000 })).costNanoUsd, 203_002_000);
  });

  it("is exact where float dollars are not", () => {
    const book = bookWith([
      { provider: "vllm", model: "a", inputPerMTok: 0.1, cacheReadPerMTok: 0.0375, outputPerMTok: 0.2 },
      { provider: "vllm", model: "b", inputPerMTok: 0.1, outputPerMTok: 0.2 },
    ]);
    // 1 × 0.1 + 9 × 0.0375 = 0.1 + 0.3375 = 0.4375 $·tok/M = 437.5 nano → half-up 438.
    // Float dollars: 1*0.1/1e6 + 9*0.0375/1e6 = 4.3749999999999994e-7 → Math.round(× 1e9) = 437 (one nano short).
    assert.equal(book.cost("vllm", "a", usage({ input: 1, cacheRead: 9 })).costNanoUsd, 438);
    // Guard that the example still shows the float error it is meant to show:
    assert.equal(Math.round(((1 * 0.1) / 1e6 + (9 * 0.0375) / 1e6) * 1e9), 437);
    // 7 × 0.1 + 7 × 0.2 = 0.7 + 1.4 = 2.1 $·tok/M = 2,100 nano exactly (float dollars: 2.1000000000000002e-6)
    assert.equal(book.cost("vllm", "b", usage({ input: 7, output: 7 })).costNanoUsd, 2100);
    assert.notEqual((7 * 0.1) / 1e6 + (7 * 0.2) / 1e6, 2.1e-6);
  });

  it("setOverrides replaces the set and clears cached lookups", () => {
    const book = bookWith([]);
    assert.equal(book.priceFor("anthropic", "claude-sonnet-4-5")?.base.input, 3_000_000_000);
    book.setOverrides([{ model: "claude-sonnet-4-5", inputPerMTok: "2" }]);
    assert.equal(book.priceFor("anthropic", "claude-sonnet-4-5")?.base.input, 2_000_000_000);
    assert.equal(book.priceFor("anthropic", "claude-sonnet-4-5")?.source, "catalog+override");
    book.setOverrides([]);
    assert.equal(book.priceFor("anthropic", "claude-sonnet-4-5")?.base.input, 3_000_000_000);
  });

  it("an invalid set is rejected and the previous one stays", () => {
    const book = bookWith([{ model: "claude-sonnet-4-5", inputPerMTok: "2" }]);
    const before = book.version;
    assert.throws(() => book.setOverrides([{ model: "x", inputPerMTok: "-1" }]));
    assert.equal(book.version, before);
    assert.equal(book.priceFor("anthropic", "claude-sonnet-4-5")?.base.input, 2_000_000_000);
  });
});

describe("override schemas", () => {
  it("accept decimal strings and numbers", () => {
    const parsed = priceOverridesSchema.parse([
      { provider: "anthropic", model: "claude-*", inputPerMTok: "3", cacheReadPerMTok: "0.30", outputPerMTok: 15 },
      { model: "m", inputPerMTok: "1", tiers: [{ aboveInputTokens: 200_000, inputPerMTok: "2" }] },
    ]);
    assert.equal(parsed.length, 2);
  });

  it("reject malformed overrides with a message", () => {
    const bad: unknown[] = [
      { model: "x" }, // no price
      { model: "x", inputPerMTok: "-1" },
      { model: "x", inputPerMTok: "1,5" },
      { model: "x", inputPerMTok: Number.NaN },
      { model: "x", inputPerMtok: "1" }, // misspelt field
      { model: "", inputPerMTok: "1" },
      { model: "x", inputPerMTok: "1", tiers: [{ aboveInputTokens: 10, outputPerMTok: "2" }] }, // tier without base
      { model: "x", inputPerMTok: "1", tiers: [{ aboveInputTokens: 10 }] }, // empty tier
      {
        model: "x",
        inputPerMTok: "1",
        tiers: [
          { aboveInputTokens: 10, inputPerMTok: "2" },
          { aboveInputTokens: 10, inputPerMTok: "3" },
        ],
      },
    ];
    for (const value of bad) {
      const result = priceOverrideSchema.safeParse(value);
      assert.equal(result.success, false, JSON.stringify(value));
    }
  });
});

describe("price version strings", () => {
  const pkg: unknown = JSON.parse(
    readFileSync(new URL("../../node_modules/@pydantic/genai-prices/package.json", import.meta.url), "utf8"),
  );
  const pkgVersion = typeof pkg === "object" && pkg !== null && "version" in pkg ? String(pkg.version) : "";

  it("is genai-prices@<package version> for the bundled catalog", () => {
    const book = bookWith([]);
    assert.equal(book.version, `genai-prices@${pkgVersion}`);
    assert.equal(book.cost("openai", "gpt-4o", usage({ input: 1 })).priceVersion, `genai-prices@${pkgVersion}`);
  });

  it("adds +overrides:<hash> that depends on the prices, not how they are written", () => {
    const a = bookWith([{ model: "gpt-4o", inputPerMTok: 3 }]);
    const b = bookWith([{ model: "GPT-4o", inputPerMTok: "3.000" }]);
    const c = bookWith([{ model: "gpt-4o", inputPerMTok: "3.5" }]);
    assert.match(a.version, new RegExp(`^genai-prices@${pkgVersion.replaceAll(".", "\\.")}\\+overrides:[0-9a-f]{8}$`));
    assert.equal(a.version, b.version);
    assert.notEqual(a.version, c.version);
    assert.equal(a.cost("openai", "gpt-4o", usage({ input: 1 })).priceVersion, a.version);
    a.setOverrides([]);
    assert.equal(a.version, `genai-prices@${pkgVersion}`);
  });
});
