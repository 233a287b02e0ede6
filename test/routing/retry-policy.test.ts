import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import {
  backoffDelayMs,
  classifyUpstreamFailure,
  parseRetryAfter,
  RetryBudget,
  retryDelayMs,
} from "../../src/routing/retry-policy.ts";

/** Deterministic [0, 1) numbers (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe("parseRetryAfter", () => {
  it("reads seconds, fractional seconds and negative seconds", () => {
    assert.equal(parseRetryAfter({ "retry-after": "7" }, NOW), 7000);
    assert.equal(parseRetryAfter({ "retry-after": " 1.5 " }, NOW), 1500);
    assert.equal(parseRetryAfter({ "retry-after": "0" }, NOW), 0);
    assert.equal(parseRetryAfter({ "retry-after": "-3" }, NOW), 0);
  });

  it("reads HTTP dates in all three RFC 9110 forms, past dates as 0", () => {
    assert.equal(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 12:00:30 GMT" }, NOW), 30_000);
    assert.equal(parseRetryAfter({ "retry-after": "Thursday, 01-Jan-26 12:01:00 GMT" }, NOW), 60_000);
    assert.equal(parseRetryAfter({ "retry-after": "Thu Jan  1 12:00:05 2026" }, NOW), 5000);
    assert.equal(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 11:00:00 GMT" }, NOW), 0);
  });

  it("prefers retry-after-ms, falling back to retry-after when it is junk", () => {
    assert.equal(parseRetryAfter({ "retry-after-ms": "250", "retry-after": "1" }, NOW), 250);
    assert.equal(parseRetryAfter({ "retry-after-ms": "12.2" }, NOW), 13);
    assert.equal(parseRetryAfter({ "retry-after-ms": "-5" }, NOW), 0);
    assert.equal(parseRetryAfter({ "retry-after-ms": "soon", "retry-after": "2" }, NOW), 2000);
  });

  it("answers null for junk and absence", () => {
    for (const junk of [
      "",
      "soon",
      "1e3",
      "12abc",
      "1",
      "Thu, 01 Jan 2026",
      "2026-01-01T12:00:00Z",
      "Foo, 99 Bar 2026 99:99:99 GMT",
    ]) {
      const expected = junk === "1" ? 1000 : null;
      assert.equal(parseRetryAfter({ "retry-after": junk }, NOW), expected, junk);
    }
    assert.equal(parseRetryAfter({}, NOW), null);
    assert.equal(parseRetryAfter({ "retry-after-ms": "x" }, NOW), null);
  });
});

describe("backoffDelayMs", () => {
  it("stays within [0, min(max, base·2^attempt)) and its ceiling grows until the max", () => {
    const random = seeded(42);
    const means: number[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(8000, 500 * 2 ** attempt);
      let sum = 0;
      let highest = 0;
      for (let i = 0; i < 2000; i++) {
        const d = backoffDelayMs(attempt, random);
        assert.ok(Number.isInteger(d) && d >= 0 && d < ceiling, `attempt ${attempt}: ${d}`);
        sum += d;
        highest = Math.max(highest, d);
      }
      assert.ok(highest > ceiling * 0.95, "full jitter reaches near the ceiling");
      means.push(sum / 2000);
    }
    for (let i = 1; i < 5; i++)
      assert.ok((means[i] ?? 0) > (means[i - 1] ?? 0) * 1.7, `mean grows: ${means.join(", ")}`);
    // Capped at 8 s from attempt 4 on.
    assert.ok(Math.abs((means[7] ?? 0) - 4000) < 200, `capped mean ${means[7]}`);
  });

  it("takes base and max", () => {
    assert.equal(
      backoffDelayMs(0, () => 0.999999, { baseMs: 100 }),
      99,
    );
    assert.equal(
      backoffDelayMs(10, () => 0.5, { baseMs: 100, maxMs: 1000 }),
      500,
    );
    assert.equal(
      backoffDelayMs(2000, () => 0.5),
      4000,
    );
    assert.equal(
      backoffDelayMs(-1, () => 0.5),
      250,
    );
    // The config's names (GatewayConfig.routing.retries passed as it is).
    assert.equal(
      backoffDelayMs(10, () => 0.5, { baseDelayMs: 100, maxDelayMs: 1000 }),
      500,
    );
  });
});

describe("RetryBudget", () => {
  it("counts time on its clock", () => {
    const clock = new ManualClock();
    const budget = new RetryBudget(undefined, clock);
    assert.equal(budget.totalMs, 30_000);
    assert.equal(budget.spent, 0);
    assert.equal(budget.remaining, 30_000);
    assert.ok(budget.fits(30_000));
    clock.advance(12_000);
    assert.equal(budget.spent, 12_000);
    assert.equal(budget.remaining, 18_000);
    assert.ok(budget.fits(18_000));
    assert.ok(!budget.fits(18_001));
    clock.advance(40_000);
    assert.equal(budget.remaining, 0);
    assert.ok(!budget.fits(1));
  });

  it("counts the delays spent when the clock does not move (a ManualClock under a fake sleep)", () => {
    const clock = new ManualClock();
    const budget = new RetryBudget(5000, clock);
    budget.spend(2000);
    assert.equal(budget.spent, 2000);
    budget.spend(2500);
    assert.equal(budget.remaining, 500);
    assert.ok(!budget.fits(501));
    // The clock catching up with the waits does not count them twice.
    clock.advance(4500);
    assert.equal(budget.spent, 4500);
    clock.advance(100);
    assert.equal(budget.spent, 4600);
  });

  it("gives up when retry-after exceeds what is left, else waits as told", () => {
    const clock = new ManualClock();
    const budget = new RetryBudget(10_000, clock);
    const random = () => 0.5;
    assert.equal(retryDelayMs({ attempt: 0, retryAfterMs: 4000, budget, random }), 4000);
    assert.equal(retryDelayMs({ attempt: 0, retryAfterMs: 60_000, budget, random }), null);
    assert.equal(retryDelayMs({ attempt: 1, retryAfterMs: null, budget, random }), 500);
    clock.advance(9_800);
    assert.equal(retryDelayMs({ attempt: 1, retryAfterMs: null, budget, random }), null);
    assert.equal(retryDelayMs({ attempt: 0, retryAfterMs: 0, budget, random }), 0);
  });
});

describe("classifyUpstreamFailure", () => {
  const table: [number | null, string | undefined, string][] = [
    [null, "ECONNREFUSED", "retry"],
    [null, "ECONNRESET", "retry"],
    [null, "UND_ERR_CONNECT_TIMEOUT", "retry"],
    [null, "UND_ERR_HEADERS_TIMEOUT", "retry"],
    [null, "TG_UPSTREAM_TIMEOUT", "retry"],
    [null, "TG_UPSTREAM_RESET", "retry"],
    [null, "ENOTFOUND", "next-target"],
    [null, "CERT_HAS_EXPIRED", "next-target"],
    [null, undefined, "next-target"],
    [500, undefined, "retry"],
    [502, undefined, "retry"],
    [503, undefined, "retry"],
    [504, undefined, "retry"],
    [529, undefined, "retry"],
    [501, undefined, "next-target"],
    [429, undefined, "retry"],
    [408, undefined, "retry"],
    [401, undefined, "next-key"],
    [403, undefined, "next-key"],
    [400, undefined, "final"],
    [404, undefined, "final"],
    [413, undefined, "final"],
    [422, undefined, "final"],
    [409, undefined, "final"],
    [200, undefined, "final"],
  ];
  for (const [status, errorCode, expected] of table) {
    it(`${status ?? "no response"}${errorCode ? ` ${errorCode}` : ""} → ${expected}`, () => {
      assert.equal(classifyUpstreamFailure(errorCode === undefined ? { status } : { status, errorCode }), expected);
    });
  }
});
