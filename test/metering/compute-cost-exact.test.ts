import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createRng } from "../../bench/bodies/synthetic-text.ts";
import { computeCost } from "../../src/metering/pricing/compute-cost.ts";
import type { RateCard } from "../../src/metering/pricing/rates.ts";
import { emptyUsage, type Usage } from "../../src/metering/usage.ts";

// computeCost sums in plain numbers while that is exact and in BigInt beyond: both must give the BigInt answer,
// Σ tokens × rate ÷ 10⁶ rounded half-up, on either side of 2⁵³ and at the rounding edges.

/** The reference: every term in BigInt. */
function reference(card: RateCard, usage: Usage): number | null {
  const r = card.base;
  let total = 0n;
  const terms: Array<[number, number | undefined]> = [
    [usage.input, r.input],
    [usage.cacheRead, r.cacheRead],
    [usage.cacheWrite5m, r.cacheWrite5m],
    [usage.output, r.output],
  ];
  for (const [tokens, rate] of terms) if (tokens > 0) total += BigInt(tokens) * BigInt(rate as number);
  if (r.requestPerK !== undefined) total += BigInt(r.requestPerK) * 1000n;
  const nano = (total + 500_000n) / 1_000_000n;
  return nano > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(nano);
}

const card = (input: number, cacheRead: number, cacheWrite5m: number, output: number, requestPerK?: number) => ({
  base: { input, cacheRead, cacheWrite5m, output, ...(requestPerK === undefined ? {} : { requestPerK }) },
  tiers: [],
});

const usage = (input: number, cacheRead: number, cacheWrite5m: number, output: number): Usage => ({
  ...emptyUsage(),
  input,
  cacheRead,
  cacheWrite5m,
  output,
});

describe("computeCost is exact whether it sums in numbers or in BigInt", () => {
  test("10,000 seeded requests from tiny to enormous agree with the BigInt reference", () => {
    const next = createRng(20261127); // seeded: the same cases every run
    const pick = (max: number): number => Math.floor(next() ** 3 * max); // mostly small, sometimes huge
    for (let i = 0; i < 10_000; i++) {
      const c = card(pick(1e11), pick(1e10), pick(2e11), pick(5e11), next() < 0.1 ? pick(1e10) : undefined);
      const u = usage(pick(2e6), pick(5e7), pick(2e6), pick(1e6));
      assert.equal(computeCost(c, u, { claude: false }).costNanoUsd, reference(c, u), JSON.stringify({ c, u }));
    }
  });

  test("sums just below and just above 2⁵³, and halves rounded up", () => {
    const max = Number.MAX_SAFE_INTEGER;
    const cases: Array<[RateCard, Usage]> = [
      [card(1, 1, 1, 1), usage(max - 1, 0, 0, 0)], // one term at the edge, then + half a million is not safe
      [card(1_000_000, 1, 1, 1), usage(9_007_199_254, 740, 0, 0)],
      [card(3_000_000_000, 300_000_000, 1, 15_000_000_000), usage(1_000_000, 30_000_000, 0, 64_000)],
      [card(2, 1, 1, 1), usage(250_000, 0, 0, 0)], // exactly half a nano-USD: rounds up to 1
      [card(1, 1, 1, 1), usage(499_999, 0, 0, 0)], // just below half: 0
      [card(1, 1, 1, 1), usage(1_500_000, 0, 0, 0)], // 1.5 → 2
      [card(7, 1, 1, 1), usage(max, 0, 0, 0)], // past 2⁵³: summed in BigInt
      [card(10_000_000, 1, 1, 1), usage(max, 0, 0, 0)], // the cost itself above 2⁵³ nano-USD → unknown
    ];
    for (const [c, u] of cases) {
      assert.equal(computeCost(c, u, { claude: false }).costNanoUsd, reference(c, u), JSON.stringify({ c, u }));
    }
    assert.equal(computeCost(card(2, 1, 1, 1), usage(250_000, 0, 0, 0), { claude: false }).costNanoUsd, 1);
    // A product past 2⁵³ whose double is rounded across the half-way point: only exact arithmetic gets it right.
    let tokens = Number.MAX_SAFE_INTEGER;
    while ((3n * BigInt(tokens)) % 1_000_000n !== 499_999n || (3 * tokens) % 1_000_000 < 500_000) tokens--;
    const edge = usage(tokens, 0, 0, 0);
    assert.equal(computeCost(card(3, 1, 1, 1), edge, { claude: false }).costNanoUsd, reference(card(3, 1, 1, 1), edge));
    assert.equal(computeCost(card(7, 1, 1, 1), usage(max, 0, 0, 0), { claude: false }).costNanoUsd, 63_050_394_783);
    assert.equal(computeCost(card(10_000_000, 1, 1, 1), usage(max, 0, 0, 0), { claude: false }).costNanoUsd, null);
  });
});
