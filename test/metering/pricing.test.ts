/**
 * Costs from the bundled genai-prices catalog. Expected values are worked out by hand from the catalog's published
 * rates (USD per million tokens, checked in node_modules/@pydantic/genai-prices and against the providers' pricing
 * pages); "$·tok/M" below means Σ tokens × USD-per-million, so nano-USD = that × 1000.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { BUNDLED_CATALOG_VERSION, PriceBook } from "../../src/metering/pricing/index.ts";
import type { Usage } from "../../src/metering/usage.ts";
import { ZERO_USAGE } from "../../src/metering/usage.ts";

function usage(parts: Partial<Usage>): Usage {
  return { ...ZERO_USAGE, ...parts };
}

describe("PriceBook with the bundled catalog", () => {
  const book = new PriceBook({ clock: new ManualClock(Date.UTC(2026, 0, 1, 12)) });

  it("prices every Anthropic bucket at its own rate (Claude Sonnet 4.5)", () => {
    // Sonnet 4.5: input $3, cache read $0.30, 5m write $3.75, 1h write $6, output $15 (anthropic.com/pricing).
    // 1200 × 3 + 3000 × 0.30 + 100 × 3.75 + 50 × 6 + 400 × 15
    //   = 3600 + 900 + 375 + 300 + 6000 = 11175 $·tok/M = $0.011175 = 11,175,000 nano-USD
    const result = book.cost(
      "anthropic",
      "claude-sonnet-4-5-20250929",
      usage({ input: 1200, cacheRead: 3000, cacheWrite5m: 100, cacheWrite1h: 50, output: 400 }),
    );
    assert.deepEqual(result, {
      costNanoUsd: 11_175_000,
      priceVersion: BUNDLED_CATALOG_VERSION,
      warnings: [],
      matchedModel: "claude-sonnet-4-5",
      priceSource: "catalog",
    });
  });

  it("prices OpenAI cached prompt tokens at the cached rate (buckets already split)", () => {
    // gpt-4o: input $2.50, cached input $1.25, output $10. prompt_tokens 2000 of which cached 1500 → input 500.
    // 500 × 2.5 + 1500 × 1.25 + 300 × 10 = 1250 + 1875 + 3000 = 6125 $·tok/M = 6,125,000 nano-USD
    const result = book.cost("openai", "gpt-4o-2024-08-06", usage({ input: 500, cacheRead: 1500, output: 300 }));
    assert.equal(result.costNanoUsd, 6_125_000);
    assert.equal(result.matchedModel, "gpt-4o");
    assert.deepEqual(result.warnings, []);
  });

  it("prices Gemini, with the models/ prefix and the Tollgate provider name", () => {
    // gemini-2.5-pro ≤200k: input $1.25, cache read $0.125, output $10 (thinking is part of output).
    // 10000 × 1.25 + 2000 × 0.125 + 1500 × 10 = 12500 + 250 + 15000 = 27750 $·tok/M = 27,750,000 nano-USD
    const result = book.cost(
      "gemini",
      "models/gemini-2.5-pro",
      usage({ input: 10_000, cacheRead: 2000, output: 1500, reasoning: 1000 }),
    );
    assert.equal(result.costNanoUsd, 27_750_000);
    assert.equal(result.matchedModel, "gemini-2.5-pro");
  });

  it("does not add reasoning tokens on top of output", () => {
    // gpt-5: input $1.25, output $10. 1000 output tokens of which 800 reasoning.
    // 1000 × 1.25 + 1000 × 10 = 1250 + 10000 = 11250 $·tok/M = 11,250,000 (double-counting would give 19,250,000)
    const result = book.cost("openai", "gpt-5", usage({ input: 1000, output: 1000, reasoning: 800 }));
    assert.equal(result.costNanoUsd, 11_250_000);
  });

  it("prices reasoning apart only where the catalog has a reasoning rate", () => {
    // perplexity sonar-deep-research: input $2, output $8, output_reasoning $3.
    // 1000 × 2 + (1000 − 800) × 8 + 800 × 3 = 2000 + 1600 + 2400 = 6000 $·tok/M = 6,000,000 nano-USD
    const result = book.cost("perplexity", "sonar-deep-research", usage({ input: 1000, output: 1000, reasoning: 800 }));
    assert.equal(result.costNanoUsd, 6_000_000);
  });

  it("adds a per-request fee (requests_kcount)", () => {
    // perplexity sonar: input $1, output $1, $12 per 1000 requests.
    // 1000 × 1 + 1000 × 1 = 2000 $·tok/M = 2,000,000 nano; + $12/1000 = $0.012 = 12,000,000 nano → 14,000,000
    const result = book.cost("perplexity", "sonar", usage({ input: 1000, output: 1000 }));
    assert.equal(result.costNanoUsd, 14_000_000);
  });

  describe("long-context tiers (whole request at the higher rate, measured on total input)", () => {
    it("Claude Sonnet 4.5 at exactly 200,000 input tokens stays at base rates", () => {
      // 150000 × 3 + 50000 × 0.30 + 1000 × 15 = 450000 + 15000 + 15000 = 480000 $·tok/M = 480,000,000 nano
      const result = book.cost(
        "anthropic",
        "claude-sonnet-4-5-20250929",
        usage({ input: 150_000, cacheRead: 50_000, output: 1000 }),
      );
      assert.equal(result.costNanoUsd, 480_000_000);
    });

    it("Claude Sonnet 4.5 at 200,001 input tokens bills every bucket at the long-context rates", () => {
      // >200k: input $6, cache read $0.60, 5m write $7.50, output $22.50.
      // 150000 × 6 + 50000 × 0.6 + 1 × 7.5 + 1000 × 22.5 = 900000 + 30000 + 7.5 + 22500
      //   = 952507.5 $·tok/M = 952,507,500 nano-USD
      const result = book.cost(
        "anthropic",
        "claude-sonnet-4-5-20250929",
        usage({ input: 150_000, cacheRead: 50_000, cacheWrite5m: 1, output: 1000 }),
      );
      assert.equal(result.costNanoUsd, 952_507_500);
    });

    it("counts cache reads and writes toward the threshold, not just uncached input", () => {
      // total input = 1000 + 199001 + 100 = 200101 > 200000 → tier: input $6, read $0.60, 1h write $12, output $22.50
      // 1000 × 6 + 199001 × 0.6 + 100 × 12 + 500 × 22.5 = 6000 + 119400.6 + 1200 + 11250
      //   = 137850.6 $·tok/M = 137,850,600 nano-USD (base rates would give 70,800,300)
      const result = book.cost(
        "anthropic",
        "claude-sonnet-4-5",
        usage({ input: 1000, cacheRead: 199_001, cacheWrite1h: 100, output: 500 }),
      );
      assert.equal(result.costNanoUsd, 137_850_600);
    });

    it("Gemini 2.5 Pro on both sides of 200k", () => {
      // At 200000: 190000 × 1.25 + 10000 × 0.125 + 2000 × 10 = 237500 + 1250 + 20000 = 258750 → 258,750,000 nano
      const at = book.cost("gemini", "gemini-2.5-pro", usage({ input: 190_000, cacheRead: 10_000, output: 2000 }));
      assert.equal(at.costNanoUsd, 258_750_000);
      // At 200001 (>200k: input $2.50, read $0.25, output $15):
      // 190001 × 2.5 + 10000 × 0.25 + 2000 × 15 = 475002.5 + 2500 + 30000 = 507502.5 → 507,502,500 nano
      const above = book.cost("gemini", "gemini-2.5-pro", usage({ input: 190_001, cacheRead: 10_000, output: 2000 }));
      assert.equal(above.costNanoUsd, 507_502_500);
    });
  });

  it("unknown model → null and a warning, never 0", () => {
    const result = book.cost("openai", "gpt-does-not-exist", usage({ input: 1000, output: 1000 }));
    assert.equal(result.costNanoUsd, null);
    assert.equal(result.matchedModel, null);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? "", /price unknown.*gpt-does-not-exist/);
  });

  it("unknown provider → null and a warning", () => {
    const result = book.cost("no-such-provider", "gpt-4o", usage({ input: 1000 }));
    assert.equal(result.costNanoUsd, null);
    assert.match(result.warnings[0] ?? "", /provider "no-such-provider"/);
  });

  it("self-hosted providers have no catalog prices → null unless overridden", () => {
    for (const provider of ["ollama", "vllm", "lmstudio"]) {
      // llama-3.3-70b-versatile is in the catalog under groq; a local server must not borrow that price.
      const result = book.cost(provider, "llama-3.3-70b-versatile", usage({ input: 1000, output: 10 }));
      assert.equal(result.costNanoUsd, null, provider);
      assert.match(result.warnings[0] ?? "", /self-hosted/);
    }
  });

  it("a model with no token prices in the catalog is unknown, not free", () => {
    // github-copilot gpt-4o is listed with an empty price set.
    const result = book.cost("github-copilot", "gpt-4o", usage({ input: 1000, output: 100 }));
    assert.equal(result.costNanoUsd, null);
    assert.ok(result.warnings.some((warning) => warning.startsWith("price unknown")));
  });

  it("resolves model ids the way providers report them", () => {
    const cases: Array<[string, string, string]> = [
      ["anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"],
      ["anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4-0"],
      ["anthropic", "anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"],
      ["openai", "gpt-4o-2024-08-06", "gpt-4o"],
      ["gemini", "models/gemini-2.5-pro", "gemini-2.5-pro"],
      ["google", "gemini-2.5-flash", "gemini-2.5-flash"],
      ["openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"],
      ["xai", "grok-4", "grok-4-0709"],
      ["groq", "llama-3.3-70b-versatile", "llama-3.3-70b-versatile"],
      ["deepseek", "deepseek-chat", "deepseek-chat"],
      ["mistral", "mistral-large-latest", "mistral-large"],
      ["together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/Llama-3.3-70B-Instruct-Turbo"],
      ["fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct", "llama-v3p1-8b-instruct"],
      ["cerebras", "gpt-oss-120b", "gpt-oss-120b"],
    ];
    for (const [provider, model, expected] of cases) {
      assert.equal(book.priceFor(provider, model)?.model, expected, `${provider} ${model}`);
    }
  });

  it("Claude without a 1-hour cache-write price: 2× base input, with a warning", () => {
    // openrouter anthropic/claude-sonnet-4.5 lists no cache_write_1h_mtok; Anthropic documents 1h writes at 2× input.
    // 1000 × 3 + 1000 × (2 × 3) = 3000 + 6000 = 9000 $·tok/M = 9,000,000 nano-USD
    const result = book.cost("openrouter", "anthropic/claude-sonnet-4.5", usage({ input: 1000, cacheWrite1h: 1000 }));
    assert.equal(result.costNanoUsd, 9_000_000);
    assert.match(result.warnings.join("\n"), /2× the input rate/);
  });

  it("cache reads without a cache price fall back to the input price, with a warning", () => {
    // groq llama-3.3-70b-versatile: input $0.59, output $0.79, no cache price.
    // 1000 × 0.59 + 1000 × 0.59 + 1000 × 0.79 = 590 + 590 + 790 = 1970 $·tok/M = 1,970,000 nano-USD
    const result = book.cost("groq", "llama-3.3-70b-versatile", usage({ input: 1000, cacheRead: 1000, output: 1000 }));
    assert.equal(result.costNanoUsd, 1_970_000);
    assert.match(result.warnings.join("\n"), /cache reads priced at the input rate/);
  });

  it("rejects usage that is not a token count", () => {
    const result = book.cost("openai", "gpt-4o", usage({ input: -1 }));
    assert.equal(result.costNanoUsd, null);
    assert.match(result.warnings[0] ?? "", /invalid usage/);
  });

  it("priceFor exposes integer nano-USD per million tokens and the tiers", () => {
    const price = book.priceFor("anthropic", "claude-sonnet-4-5-20250929");
    assert.deepEqual(price, {
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      source: "catalog",
      base: {
        input: 3_000_000_000,
        cacheRead: 300_000_000,
        cacheWrite5m: 3_750_000_000,
        cacheWrite1h: 6_000_000_000,
        output: 15_000_000_000,
      },
      tiers: [
        {
          aboveInputTokens: 200_000,
          rates: {
            input: 6_000_000_000,
            cacheRead: 600_000_000,
            cacheWrite5m: 7_500_000_000,
            cacheWrite1h: 12_000_000_000,
            output: 22_500_000_000,
          },
        },
      ],
      priceVersion: BUNDLED_CATALOG_VERSION,
    });
    assert.equal(book.priceFor("openai", "gpt-does-not-exist"), null);
  });
});

describe("conditional catalog prices follow the injected clock", () => {
  it("start date: Claude Sonnet 4.6 drops its long-context surcharge from 2026-03-13", () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 12, 23, 59, 59));
    const book = new PriceBook({ clock });
    const longPrompt = usage({ input: 250_000 });
    // Before: 250000 > 200000 → 250000 × $6 = 1,500,000 $·tok/M = 1,500,000,000 nano-USD
    assert.equal(book.cost("anthropic", "claude-sonnet-4-6", longPrompt).costNanoUsd, 1_500_000_000);
    clock.set(Date.UTC(2026, 2, 13));
    // From the start date: flat 250000 × $3 = 750,000 $·tok/M = 750,000,000 nano-USD
    assert.equal(book.cost("anthropic", "claude-sonnet-4-6", longPrompt).costNanoUsd, 750_000_000);
  });

  it("time of day: DeepSeek off-peak prices outside 00:30–16:30 UTC", () => {
    const clock = new ManualClock(Date.UTC(2025, 5, 1, 12, 0));
    const book = new PriceBook({ clock });
    const request = usage({ input: 1000, cacheRead: 1000, output: 1000 });
    // Standard (12:00 UTC): 1000 × 0.27 + 1000 × 0.07 + 1000 × 1.1 = 270 + 70 + 1100 = 1440 → 1,440,000 nano
    assert.equal(book.cost("deepseek", "deepseek-chat", request).costNanoUsd, 1_440_000);
    clock.set(Date.UTC(2025, 5, 1, 20, 0));
    // Off-peak (20:00 UTC): 1000 × 0.135 + 1000 × 0.035 + 1000 × 0.55 = 135 + 35 + 550 = 720 → 720,000 nano
    assert.equal(book.cost("deepseek", "deepseek-chat", request).costNanoUsd, 720_000);
  });
});
