import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePeriod, nextReset, type PeriodSchedule, periodWindow } from "../../src/governance/periods.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** ISO with an explicit offset, so each expectation reads as the local time it means. */
const at = (iso: string) => Date.parse(iso);

/** The successive window starts from the one holding `from`, by asking for the window at each end. */
function starts(schedule: PeriodSchedule, from: number, count: number): string[] {
  const out: string[] = [];
  let now = from;
  for (let i = 0; i < count; i++) {
    const { start, end } = schedule.windowAt(now);
    out.push(new Date(start).toISOString());
    assert.ok(end !== null);
    now = end;
  }
  return out;
}

describe("rolling fixed-length periods", () => {
  const anchor = at("2026-01-07T10:15:30.250Z");

  it("period n covers [anchor + n·L, anchor + (n+1)·L) for h, d, w and multiples", () => {
    for (const [period, length] of [
      ["1h", HOUR],
      ["6h", 6 * HOUR],
      ["1d", DAY],
      ["1w", 7 * DAY],
      ["2w", 14 * DAY],
    ] as const) {
      const schedule = compilePeriod({ period, mode: "rolling", anchor });
      for (const n of [0, 1, 5, 40]) {
        const inside = anchor + n * length + length / 3;
        assert.deepEqual(
          { ...schedule.windowAt(inside) },
          { start: anchor + n * length, end: anchor + (n + 1) * length },
          `${period} n=${n}`,
        );
      }
    }
  });

  it("includes the start and excludes the end", () => {
    const schedule = compilePeriod({ period: "1d", mode: "rolling", anchor });
    assert.equal(schedule.windowAt(anchor).start, anchor);
    assert.equal(schedule.windowAt(anchor + DAY - 1).start, anchor);
    assert.equal(schedule.windowAt(anchor + DAY).start, anchor + DAY);
    assert.equal(schedule.nextReset(anchor + DAY - 1), anchor + DAY);
    assert.equal(schedule.nextReset(anchor + DAY), anchor + 2 * DAY);
  });

  it("extends the same rule before the anchor (n < 0)", () => {
    const schedule = compilePeriod({ period: "1w", mode: "rolling", anchor });
    assert.deepEqual({ ...schedule.windowAt(anchor - 1) }, { start: anchor - 7 * DAY, end: anchor });
  });

  it("counts elapsed time: a rolling day stays 24 h across a DST change, whatever the zone", () => {
    const berlinMidnight = at("2026-03-28T00:00:00+01:00");
    const schedule = compilePeriod({
      period: "1d",
      mode: "rolling",
      anchor: berlinMidnight,
      timeZone: "Europe/Berlin",
    });
    const window = schedule.windowAt(at("2026-03-29T12:00:00+02:00"));
    assert.equal(window.start, at("2026-03-29T01:00:00+02:00"));
    assert.equal(window.end, at("2026-03-30T01:00:00+02:00"));
  });
});

describe("rolling month-based periods", () => {
  it("keeps the anchor's day, clamped to short months, without drifting (31 Jan → 29 Feb → 31 Mar)", () => {
    const schedule = compilePeriod({ period: "1mo", mode: "rolling", anchor: at("2024-01-31T10:00:00Z") });
    assert.deepEqual(starts(schedule, at("2024-01-31T10:00:00Z"), 6), [
      "2024-01-31T10:00:00.000Z",
      "2024-02-29T10:00:00.000Z",
      "2024-03-31T10:00:00.000Z",
      "2024-04-30T10:00:00.000Z",
      "2024-05-31T10:00:00.000Z",
      "2024-06-30T10:00:00.000Z",
    ]);
    const nonLeap = compilePeriod({ period: "1M", mode: "rolling", anchor: at("2023-01-31T00:00:00Z") });
    assert.deepEqual(starts(nonLeap, at("2023-02-15T00:00:00Z"), 2), [
      "2023-01-31T00:00:00.000Z",
      "2023-02-28T00:00:00.000Z",
    ]);
    assert.equal(nonLeap.nextReset(at("2023-02-28T00:00:00Z")), at("2023-03-31T00:00:00Z"));
  });

  it("switches exactly at the reset instant", () => {
    const schedule = compilePeriod({ period: "1mo", mode: "rolling", anchor: at("2024-01-31T10:00:00Z") });
    const reset = at("2024-02-29T10:00:00Z");
    assert.deepEqual({ ...schedule.windowAt(reset - 1) }, { start: at("2024-01-31T10:00:00Z"), end: reset });
    assert.deepEqual({ ...schedule.windowAt(reset) }, { start: reset, end: at("2024-03-31T10:00:00Z") });
  });

  it("finds the right period far from the anchor and before it", () => {
    const schedule = compilePeriod({ period: "1mo", mode: "rolling", anchor: at("2024-01-31T10:00:00Z") });
    assert.deepEqual(
      { ...schedule.windowAt(at("2031-03-01T00:00:00Z")) },
      { start: at("2031-02-28T10:00:00Z"), end: at("2031-03-31T10:00:00Z") },
    );
    assert.deepEqual(
      { ...schedule.windowAt(at("2023-12-31T10:00:00Z")) },
      { start: at("2023-12-31T10:00:00Z"), end: at("2024-01-31T10:00:00Z") },
    );
    assert.deepEqual(
      { ...schedule.windowAt(at("2023-12-31T09:59:59.999Z")) },
      { start: at("2023-11-30T10:00:00Z"), end: at("2023-12-31T10:00:00Z") },
    );
  });

  it("quarters and multiples of months count from the anchor's month", () => {
    const quarter = compilePeriod({ period: "1q", mode: "rolling", anchor: at("2023-11-30T08:00:00Z") });
    assert.deepEqual(starts(quarter, at("2023-11-30T08:00:00Z"), 5), [
      "2023-11-30T08:00:00.000Z",
      "2024-02-29T08:00:00.000Z",
      "2024-05-30T08:00:00.000Z",
      "2024-08-30T08:00:00.000Z",
      "2024-11-30T08:00:00.000Z",
    ]);
    const twoMonths = compilePeriod({ period: "2mo", mode: "rolling", anchor: at("2024-12-31T00:00:00Z") });
    assert.deepEqual(starts(twoMonths, at("2025-01-01T00:00:00Z"), 3), [
      "2024-12-31T00:00:00.000Z",
      "2025-02-28T00:00:00.000Z",
      "2025-04-30T00:00:00.000Z",
    ]);
  });

  it("years keep 29 February only in leap years", () => {
    const schedule = compilePeriod({ period: "1y", mode: "rolling", anchor: at("2024-02-29T12:00:00Z") });
    assert.deepEqual(starts(schedule, at("2024-03-01T00:00:00Z"), 5), [
      "2024-02-29T12:00:00.000Z",
      "2025-02-28T12:00:00.000Z",
      "2026-02-28T12:00:00.000Z",
      "2027-02-28T12:00:00.000Z",
      "2028-02-29T12:00:00.000Z",
    ]);
  });

  it("reads day and time of day on the zone's wall clock, across DST", () => {
    // 31 January 10:00 in Berlin is 09:00Z in winter; the March start is 10:00 summer time, 08:00Z.
    const schedule = compilePeriod({
      period: "1mo",
      mode: "rolling",
      anchor: at("2024-01-31T10:00:00+01:00"),
      timeZone: "Europe/Berlin",
    });
    assert.deepEqual(starts(schedule, at("2024-02-01T00:00:00Z"), 3), [
      "2024-01-31T09:00:00.000Z",
      "2024-02-29T09:00:00.000Z",
      "2024-03-31T08:00:00.000Z",
    ]);
    // A late-evening UTC anchor is already the next day in Tokyo: clamping follows the local date.
    const tokyo = compilePeriod({
      period: "1mo",
      mode: "rolling",
      anchor: at("2025-01-30T16:00:00Z"),
      timeZone: "Asia/Tokyo",
    });
    assert.equal(tokyo.nextReset(at("2025-02-01T00:00:00Z")), at("2025-02-28T01:00:00+09:00"));
  });

  it("a start in the skipped spring hour begins at the jump", () => {
    const schedule = compilePeriod({
      period: "1mo",
      mode: "rolling",
      anchor: at("2026-01-29T02:30:00+01:00"),
      timeZone: "Europe/Berlin",
    });
    // 29 March 2026 02:30 does not exist in Berlin: 02:00 CET jumps to 03:00 CEST (01:00Z).
    assert.equal(schedule.nextReset(at("2026-03-01T00:00:00Z")), at("2026-03-29T03:00:00+02:00"));
  });
});

describe("never", () => {
  it("is one window from 0 with no end, whatever the anchor and mode", () => {
    for (const spec of [
      { period: "never", mode: "rolling", anchor: at("2025-05-05T00:00:00Z") },
      { period: "never", mode: "calendar", timeZone: "Europe/Berlin" },
    ] as const) {
      assert.deepEqual({ ...periodWindow(spec, at("2030-01-01T00:00:00Z")) }, { start: 0, end: null });
      assert.equal(nextReset(spec, at("2030-01-01T00:00:00Z")), null);
      assert.equal(nextReset(spec, 0), null);
    }
  });
});

describe("the window cache", () => {
  it("returns the same frozen object within a window and recomputes outside it", () => {
    const schedule = compilePeriod({ period: "1mo", mode: "rolling", anchor: at("2024-01-31T10:00:00Z") });
    const first = schedule.windowAt(at("2024-02-10T00:00:00Z"));
    assert.equal(schedule.windowAt(at("2024-02-20T00:00:00Z")), first);
    assert.ok(Object.isFrozen(first));
    const later = schedule.windowAt(at("2024-06-10T00:00:00Z"));
    assert.notEqual(later, first);
    // Going back in time after a later lookup still answers correctly.
    assert.deepEqual({ ...schedule.windowAt(at("2024-02-10T00:00:00Z")) }, { ...first });
  });

  it("periodWindow and nextReset agree with a compiled schedule", () => {
    const spec = { period: "1w", mode: "rolling", anchor: at("2026-01-05T00:00:00Z") } as const;
    const now = at("2026-02-11T13:00:00Z");
    assert.deepEqual(
      { ...periodWindow(spec, now) },
      { start: at("2026-02-09T00:00:00Z"), end: at("2026-02-16T00:00:00Z") },
    );
    assert.equal(nextReset(spec, now), at("2026-02-16T00:00:00Z"));
  });
});
