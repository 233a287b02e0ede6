import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fixedWindowAt,
  parseRateWindow,
  RateWindowSchema,
  rateWindowIndex,
  slidingEstimate,
  slidingRetryAfterMs,
  slidingWindowAt,
  tryParseRateWindow,
} from "../../src/governance/periods.ts";

const refusal = (text: string) => {
  const result = tryParseRateWindow(text);
  assert.equal(result.ok, false, text);
  return result.ok ? "" : result.message;
};

describe("rate-limit window syntax", () => {
  it("parses s, m, h, d and multiples", () => {
    assert.deepEqual(parseRateWindow("1s"), { text: "1s", lengthMs: 1_000 });
    assert.deepEqual(parseRateWindow("1m"), { text: "1m", lengthMs: 60_000 });
    assert.deepEqual(parseRateWindow("1h"), { text: "1h", lengthMs: 3_600_000 });
    assert.deepEqual(parseRateWindow("1d"), { text: "1d", lengthMs: 86_400_000 });
    assert.deepEqual(parseRateWindow("10s"), { text: "10s", lengthMs: 10_000 });
  });

  it("refuses months and longer, wrong case, zero and garbage", () => {
    assert.match(refusal("1mo"), /at most days long; use a budget/);
    assert.match(refusal("1M"), /at most days long/);
    assert.match(refusal("1w"), /at most days long/);
    assert.match(refusal("1S"), /case-sensitive; write "1s"/);
    assert.match(refusal("0s"), /from 1 to 1000/);
    assert.match(refusal("minute"), /expected a count and a unit/);
    assert.throws(() => parseRateWindow("1x"), { name: "PeriodError", message: /unknown unit "x"/ });
    assert.equal(RateWindowSchema.parse("1m"), "1m");
    assert.match(RateWindowSchema.safeParse("1mo").error?.issues[0]?.message ?? "", /use a budget/);
  });
});

describe("fixed windows", () => {
  const minute = parseRateWindow("1m");

  it("align to the epoch and include the start, exclude the end", () => {
    const start = Date.parse("2026-05-05T10:07:00Z");
    assert.deepEqual(fixedWindowAt(minute, start), { index: start / 60_000, start, end: start + 60_000 });
    assert.equal(fixedWindowAt(minute, start + 59_999).start, start);
    assert.equal(fixedWindowAt(minute, start + 60_000).start, start + 60_000);
    assert.equal(rateWindowIndex(minute.lengthMs, start - 1), start / 60_000 - 1);
  });

  it("a 1d window is a UTC day", () => {
    const w = fixedWindowAt(parseRateWindow("1d"), Date.parse("2026-05-05T23:59:59.999Z"));
    assert.equal(w.start, Date.parse("2026-05-05T00:00:00Z"));
    assert.equal(w.end, Date.parse("2026-05-06T00:00:00Z"));
  });
});

describe("sliding windows", () => {
  const minute = parseRateWindow("1m");
  const start = Date.parse("2026-05-05T10:07:00Z");

  it("weigh the previous window by its share still inside the last minute", () => {
    assert.deepEqual(slidingWindowAt(minute, start + 15_000), {
      index: start / 60_000,
      previousIndex: start / 60_000 - 1,
      start,
      end: start + 60_000,
      previousWeight: 0.75,
    });
    assert.equal(slidingWindowAt(minute, start).previousWeight, 1);
    assert.equal(slidingEstimate(40, 10, 0.75), 40);
  });

  it("retry-after is 0 when the request fits now", () => {
    assert.equal(
      slidingRetryAfterMs(minute, start + 15_000, { limit: 100, previousCount: 40, currentCount: 10, cost: 1 }),
      0,
    );
  });

  it("retry-after waits for the previous window to drain when this window has room", () => {
    // 100 × (end − t)/60 s + 20 + 1 ≤ 100 → end − t ≤ 47.4 s → t = start + 12.6 s; now is start + 6 s.
    const wait = slidingRetryAfterMs(minute, start + 6_000, {
      limit: 100,
      previousCount: 100,
      currentCount: 20,
      cost: 1,
    });
    assert.equal(wait, 6_600);
    const later = start + 6_000 + (wait ?? 0);
    const { previousWeight } = slidingWindowAt(minute, later);
    assert.ok(slidingEstimate(100, 20, previousWeight) + 1 <= 100);
    assert.ok(slidingEstimate(100, 20, slidingWindowAt(minute, later - 1).previousWeight) + 1 > 100);
  });

  it("retry-after reaches into the next window when this one is full", () => {
    // Next window: 100 × (end + 60 s − t)/60 s + 1 ≤ 100 → t = end + 0.6 s.
    const now = start + 30_000;
    assert.equal(
      slidingRetryAfterMs(minute, now, { limit: 100, previousCount: 0, currentCount: 100, cost: 1 }),
      30_600,
    );
  });

  it("retry-after is null when the cost alone exceeds the limit", () => {
    assert.equal(
      slidingRetryAfterMs(minute, start, { limit: 100, previousCount: 0, currentCount: 0, cost: 101 }),
      null,
    );
  });
});
