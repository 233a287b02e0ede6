import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { MemoryCounterStore } from "../../src/counters/memory-store.ts";
import type { GatewayError } from "../../src/errors/catalog.ts";
import { BudgetGate, type BudgetRequest, streamCutError } from "../../src/governance/budget-gate.ts";
import type { BudgetHold } from "../../src/governance/budget-hold.ts";
import type { BudgetSnapshot } from "../../src/governance/entities/index.ts";
import { emptyUsage, type Usage } from "../../src/metering/usage.ts";
import type { Pricer } from "../../src/pipeline/runtime.ts";

/** Nano-dollars per token, like claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write, $15 out per MTok. */
const RATES = { input: 3000, cacheRead: 300, cacheWrite5m: 3750, cacheWrite1h: 6000, output: 15000 };
const CENT = 10_000_000;
const DOLLAR = 1_000_000_000;

const pricer: Pricer = {
  cost(_provider: string, model: string, u: Usage) {
    if (model === "unpriced") return { costNanoUsd: null, priceVersion: "t", warnings: [] };
    const cost =
      u.input * RATES.input +
      u.cacheRead * RATES.cacheRead +
      u.cacheWrite5m * RATES.cacheWrite5m +
      u.cacheWrite1h * RATES.cacheWrite1h +
      u.output * RATES.output;
    return { costNanoUsd: cost, priceVersion: "t", warnings: [] };
  },
};

function budget(limitNanoUsd: number, id = "b1"): BudgetSnapshot {
  return {
    id,
    name: "daily",
    limitNanoUsd,
    period: "never",
    mode: "calendar",
    timeZone: "UTC",
    anchorAt: null,
    createdAt: 0,
    updatedAt: 0,
    scopeType: "key",
    scopeId: "k1",
    provider: null,
    model: null,
    scopeName: "ada",
  };
}

let ids = 0;
function request(over: Partial<BudgetRequest> = {}): BudgetRequest {
  return {
    id: `r${++ids}`,
    key: null,
    provider: "anthropic",
    pricingProvider: "anthropic",
    model: "claude-sonnet-4-5",
    requestBytes: 4000, // 1000 tokens of input: $0.003
    maxOutputTokens: 1000,
    sessionId: null,
    stream: true,
    ...over,
  };
}

function usage(fields: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...fields };
}

/** Lets the background counter calls (top-ups, true-ups) land. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function setup(limit: number, enforcement = {}) {
  const clock = new ManualClock();
  const counters = new MemoryCounterStore({ clock });
  const gate = new BudgetGate(counters, pricer, clock, { granularityNanoUsd: CENT, ...enforcement });
  const b = budget(limit);
  const spend = async () => (await counters.get([`budget:${b.id}:0`]))[0] ?? { committed: 0, reserved: 0 };
  return { clock, counters, gate, b, spend };
}

function endAll(holds: (BudgetHold | null)[]): void {
  for (const h of holds) h?.end();
}

describe("budget admission", () => {
  test("reserves input from the body plus the typical output (capped by max_tokens)", async () => {
    const { gate, b, spend } = setup(DOLLAR);
    const hold = await gate.admit([b], request({ maxOutputTokens: 100 }));
    // 1000 input tokens × 3000 + 100 output tokens × 15000.
    assert.equal(hold?.held, 3_000_000 + 1_500_000);
    assert.equal(hold?.loweredMaxOutputTokens, null);
    assert.deepEqual(await spend(), { committed: 0, reserved: 4_500_000 });
    endAll([hold]);
  });

  test("cache-aware: a session's next request is priced as a cache read of the previous prompt", async () => {
    const { gate, b } = setup(DOLLAR);
    const first = await gate.admit([b], request({ sessionId: "s1", requestBytes: 400_000 }));
    assert.ok(first);
    // 100k tokens of fresh input: $0.30.
    assert.equal(first.estimate.inputNanoUsd, 100_000 * RATES.input);
    await gate.settle(first, 1, usage({ input: 10, cacheRead: 90_000, cacheWrite5m: 10_000, output: 300 }), "s1");
    const next = await gate.admit([b], request({ sessionId: "s1", requestBytes: 404_000 }));
    assert.ok(next);
    // The previous prompt (100,010 tokens) cached at $0.30/M, the 990 new ones written to the cache at $3.75/M.
    assert.equal(next.estimate.inputNanoUsd, 100_010 * RATES.cacheRead + 990 * RATES.cacheWrite5m);
    // The typical output is what the key's last request produced (300), not the default 1,024.
    assert.equal(next.estimate.outputTokens, 300);
    // Another session starts from scratch.
    const other = await gate.admit([b], request({ sessionId: "s2", requestBytes: 404_000 }));
    assert.equal(other?.estimate.inputNanoUsd, 101_000 * RATES.input);
    endAll([next, other]);
  });

  test("lowers max_tokens to what the remainder buys", async () => {
    const { gate, b, counters } = setup(10 * CENT, { minOutputTokens: 256 });
    await counters.seed([{ key: `budget:${b.id}:0`, committed: 4 * CENT }]);
    // 6¢ left: input 0.3¢ leaves 5.7¢ = 3,800 output tokens at $15/M; the client asked for 64,000.
    const hold = await gate.admit([b], request({ maxOutputTokens: 64_000 }));
    assert.equal(hold?.loweredMaxOutputTokens, 3_800);
    endAll([hold]);
  });

  test("refuses when the remainder buys fewer output tokens than the minimum", async () => {
    const { gate, b, counters } = setup(10 * CENT, { minOutputTokens: 256 });
    // The key's requests answer in ~50 tokens, so the estimate is small and fits …
    const first = await gate.admit([b], request());
    await gate.settle(first as BudgetHold, 0, usage({ input: 1000, output: 50 }), null);
    // … but what is left (input + 200 tokens) cannot buy a useful answer.
    await counters.seed([{ key: `budget:${b.id}:0`, committed: 10 * CENT - 3_000_000 - 200 * RATES.output }]);
    await assert.rejects(
      async () => gate.admit([b], request({ maxOutputTokens: 64_000 })),
      (err: GatewayError) => {
        assert.equal(err.code, "TG_BUDGET_EXHAUSTED");
        assert.match(err.message, /buys 200 output tokens, fewer than the 256/);
        return true;
      },
    );
    // Nothing stays held by the refused request.
    assert.deepEqual((await counters.get([`budget:${b.id}:0`]))[0]?.reserved, 0);
  });

  test("an estimate that does not fit and a remainder too small for a useful answer: a plain 402", async () => {
    const { gate, b, counters } = setup(10 * CENT, { minOutputTokens: 256 });
    await counters.seed([{ key: `budget:${b.id}:0`, committed: 10 * CENT - 5_000_000 }]);
    await assert.rejects(
      async () => gate.admit([b], request()),
      /is exhausted: \$0\.095000000 spent of its \$0\.100000000/,
    );
  });

  test("takes the whole remainder when the estimate does not fit but a useful answer still does", async () => {
    const { gate, b, counters } = setup(10 * CENT);
    // 1¢ left; the estimate (0.3¢ input + 1,000 × 1.5 milli-cents = 1.8¢) does not fit.
    await counters.seed([{ key: `budget:${b.id}:0`, committed: 9 * CENT }]);
    const hold = await gate.admit([b], request());
    assert.equal(hold?.held, CENT);
    assert.equal(hold?.loweredMaxOutputTokens, Math.floor((CENT - 3_000_000) / RATES.output));
    endAll([hold]);
  });

  test("a whole (non-streamed) response near the limit holds its lowered worst case", async () => {
    const { gate, b, counters, spend } = setup(10 * CENT);
    await counters.seed([{ key: `budget:${b.id}:0`, committed: 5 * CENT }]);
    const hold = await gate.admit([b], request({ maxOutputTokens: 64_000, stream: false }));
    // 5¢ left: all of it is held, so a parallel request cannot spend it too.
    const lowered = Math.floor((5 * CENT - 3_000_000) / RATES.output);
    assert.equal(hold?.loweredMaxOutputTokens, lowered);
    assert.equal(hold?.held, 3_000_000 + lowered * RATES.output);
    assert.equal((await spend()).reserved, hold?.held);
    endAll([hold]);
  });

  test("strict mode reserves the worst case: every byte a token at the cache-write rate, and all of max_tokens", async () => {
    const { gate, b } = setup(DOLLAR, { strict: true });
    const hold = await gate.admit([b], request({ requestBytes: 4000, maxOutputTokens: 1000 }));
    assert.equal(hold?.held, 4000 * RATES.cacheWrite5m + 1000 * RATES.output);
    // A client without max_tokens gets one, so the worst case is bounded.
    const uncapped = await gate.admit([b], request({ maxOutputTokens: null }));
    assert.equal(uncapped?.loweredMaxOutputTokens, 32_768);
    endAll([hold, uncapped]);
  });

  test("an unpriced model counting against a budget is refused with a way to add a price", async () => {
    const { gate, b } = setup(DOLLAR);
    await assert.rejects(
      async () => gate.admit([b], request({ model: "unpriced" })),
      /no known price.*price override/s,
    );
  });
});

describe("a stream's hold: true-up, top-up, cut", () => {
  test("true-up: the real input from message_start replaces the estimate's input part", async () => {
    const { gate, b, spend } = setup(DOLLAR);
    const hold = await gate.admit([b], request({ requestBytes: 400_000, maxOutputTokens: 1000 }));
    assert.ok(hold);
    const estimateOutput = hold.estimate.outputNanoUsd;
    // The provider reports the prompt as mostly a cache read: much cheaper than 100k fresh tokens.
    assert.equal(hold.progress(usage({ input: 10, cacheRead: 99_000 }), true, true), "ok");
    await settleMicrotasks();
    const realInput = 10 * RATES.input + 99_000 * RATES.cacheRead;
    assert.equal(hold.held, realInput + estimateOutput);
    assert.equal((await spend()).reserved, realInput + estimateOutput);
    endAll([hold]);
  });

  test("top-up: the hold stays one granularity step ahead of the running cost", async () => {
    const { gate, b, spend } = setup(DOLLAR);
    const hold = await gate.admit([b], request({ maxOutputTokens: 64_000 }));
    assert.ok(hold);
    const start = hold.held;
    // 8,000 output tokens estimated from text (×4/3 for safety) = 10,667 × 15,000 ≈ 16¢ + 0.3¢ input.
    hold.progress(usage({ output: 8_000 }), false, true);
    await settleMicrotasks();
    const running = 3_000_000 + Math.ceil(8_000 * (4 / 3)) * RATES.output;
    assert.ok(hold.held >= running + CENT, `held ${hold.held} ≥ running ${running} + 1¢`);
    assert.ok(hold.held > start);
    assert.equal((await spend()).reserved, hold.held);
    endAll([hold]);
  });

  test("cut: once a top-up is refused, the stream spends what it holds, then must stop", async () => {
    const { gate, b, spend } = setup(10 * CENT);
    const hold = await gate.admit([b], request({ maxOutputTokens: 64_000 }));
    assert.ok(hold);
    // Another request holds the rest of the budget.
    const other = await gate.admit([b], request({ maxOutputTokens: 64_000 }));
    assert.ok(other);
    const step = (tokens: number) => hold.progress(usage({ output: tokens }), false, true);
    let verdict: "ok" | "wait" | "cut" = "ok";
    let tokens = 0;
    while (verdict !== "cut" && tokens < 100_000) {
      tokens += 100;
      verdict = step(tokens);
      await settleMicrotasks();
    }
    assert.equal(verdict, "cut");
    assert.ok(hold.exhausted, "the refusing budget is known");
    const running = 3_000_000 + Math.ceil(tokens * (4 / 3)) * RATES.output;
    // Cut at the first step past what it holds: never more than one step (100 tokens ≈ 0.2¢) beyond.
    assert.ok(running > hold.held && running - hold.held <= Math.ceil(100 * (4 / 3)) * RATES.output);
    const { committed, reserved } = await spend();
    assert.ok(committed + reserved <= 10 * CENT, "holds never exceed the limit");
    const err = streamCutError(hold, 0);
    assert.equal(err.code, "TG_BUDGET_EXHAUSTED");
    assert.match(err.message, /Budget "daily" of key "ada" is exhausted.*cut short/);
    endAll([hold, other]);
  });

  test("a refused top-up takes whatever is left, so the last cents stay usable", async () => {
    const { gate, b, counters, spend } = setup(10 * CENT);
    const hold = await gate.admit([b], request({ maxOutputTokens: 64_000 }));
    assert.ok(hold);
    // Everything but 0.5¢ is spent elsewhere: a 1¢ top-up cannot fit, 0.5¢ can.
    const { reserved } = await spend();
    await counters.seed([{ key: `budget:${b.id}:0`, committed: 10 * CENT - reserved - 5_000_000 }]);
    const before = hold.held;
    hold.progress(usage({ output: Math.floor((before - 3_000_000) / RATES.output / (4 / 3)) }), false, true);
    await settleMicrotasks();
    assert.equal(hold.held, before + 5_000_000);
    const after = await spend();
    assert.equal(after.committed + after.reserved, 10 * CENT);
    endAll([hold]);
  });

  test("settlement commits the actual cost and learns the key's typical output", async () => {
    const { gate, b, spend } = setup(DOLLAR);
    const hold = await gate.admit([b], request());
    assert.ok(hold);
    const settled: string[] = [];
    gate.setSettleListener((items) => settled.push(...items.map((i) => i.counterKey)));
    await gate.settle(hold, 1234, usage({ input: 1000, output: 77 }), null);
    assert.deepEqual(await spend(), { committed: 1234, reserved: 0 });
    assert.deepEqual(settled, [`budget:${b.id}:0`]);
    const next = await gate.admit([b], request());
    assert.equal(next?.estimate.outputTokens, 77);
    endAll([next]);
  });

  test("renewal keeps a long stream's hold alive past the TTL; an abandoned one expires", async () => {
    const { gate, b, clock, spend } = setup(DOLLAR, { holdTtlMs: 60_000 });
    const kept = await gate.admit([b], request());
    const abandoned = await gate.admit([b], request());
    assert.ok(kept && abandoned);
    abandoned.end(); // as if its process died: nobody renews it
    for (let i = 0; i < 5; i++) {
      clock.advance(30_000);
      assert.equal(await kept.renew(), true);
    }
    assert.equal((await spend()).reserved, kept.held);
    endAll([kept]);
  });

  test("the gate's renewal sweep renews every running hold and forgets the settled and released ones", async () => {
    const { gate, b, clock, spend } = setup(DOLLAR, { holdTtlMs: 60_000 });
    const holds: BudgetHold[] = [];
    for (let i = 0; i < 6; i++) {
      const hold = await gate.admit([b], request());
      assert.ok(hold);
      holds.push(hold);
    }
    const [first, second, third, fourth, fifth, sixth] = holds as [BudgetHold, ...BudgetHold[]];
    // Ended out of order (first, middle, last), so the list's swap-removal is exercised.
    await gate.settle(first, 1000, null, null);
    gate.release(fourth as BudgetHold);
    gate.release(sixth as BudgetHold);
    const running = [second, third, fifth] as BudgetHold[];
    const heldByRunning = running.reduce((sum, h) => sum + h.held, 0);
    for (let step = 0; step < 6; step++) {
      clock.advance(25_000); // past a third of the TTL: due for renewal every time
      await gate.renewLive();
    }
    // 150 s after admission: without the sweep every hold would have expired at 60 s.
    assert.deepEqual(await spend(), { committed: 1000, reserved: heldByRunning });
    await gate.settle(third as BudgetHold, 2000, null, null);
    clock.advance(25_000);
    await gate.renewLive();
    assert.deepEqual(await spend(), { committed: 3000, reserved: heldByRunning - (third as BudgetHold).held });
    // A hold nobody renews expires; the sweep no longer renews an ended one.
    endAll(running);
    clock.advance(61_000);
    await gate.renewLive();
    assert.equal((await spend()).reserved, 0);
  });
});
