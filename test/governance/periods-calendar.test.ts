import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePeriod, type PeriodSpec, periodWindow } from "../../src/governance/periods.ts";

const HOUR = 3_600_000;
/** ISO with an explicit offset, so each expectation reads as the local time it means. */
const at = (iso: string) => Date.parse(iso);
const windowOf = (spec: PeriodSpec, now: number) => ({ ...periodWindow(spec, now) });
const span = (spec: PeriodSpec, now: number) => {
  const { start, end } = periodWindow(spec, now);
  assert.ok(end !== null);
  return (end - start) / HOUR;
};

const berlinDay: PeriodSpec = { period: "1d", mode: "calendar", timeZone: "Europe/Berlin" };
const newYorkDay: PeriodSpec = { period: "1d", mode: "calendar", timeZone: "America/New_York" };

describe("calendar days", () => {
  it("run from local midnight to local midnight in Europe/Berlin, 23 h and 25 h on the change days", () => {
    assert.deepEqual(windowOf(berlinDay, at("2026-03-29T12:00:00+02:00")), {
      start: at("2026-03-29T00:00:00+01:00"),
      end: at("2026-03-30T00:00:00+02:00"),
    });
    assert.equal(span(berlinDay, at("2026-03-29T12:00:00+02:00")), 23);
    assert.deepEqual(windowOf(berlinDay, at("2026-10-25T12:00:00+01:00")), {
      start: at("2026-10-25T00:00:00+02:00"),
      end: at("2026-10-26T00:00:00+01:00"),
    });
    assert.equal(span(berlinDay, at("2026-10-25T12:00:00+01:00")), 25);
    assert.equal(span(berlinDay, at("2026-03-28T12:00:00+01:00")), 24);
    assert.equal(span(berlinDay, at("2026-03-30T12:00:00+02:00")), 24);
  });

  it("do the same in America/New_York", () => {
    assert.deepEqual(windowOf(newYorkDay, at("2026-03-08T12:00:00-04:00")), {
      start: at("2026-03-08T00:00:00-05:00"),
      end: at("2026-03-09T00:00:00-04:00"),
    });
    assert.equal(span(newYorkDay, at("2026-03-08T01:59:59-05:00")), 23);
    assert.deepEqual(windowOf(newYorkDay, at("2026-11-01T01:30:00-05:00")), {
      start: at("2026-11-01T00:00:00-04:00"),
      end: at("2026-11-02T00:00:00-05:00"),
    });
    assert.equal(span(newYorkDay, at("2026-11-01T01:30:00-04:00")), 25);
  });

  it("include the midnight instant and exclude the next one", () => {
    const midnight = at("2026-10-26T00:00:00+01:00");
    assert.equal(periodWindow(berlinDay, midnight - 1).end, midnight);
    assert.equal(periodWindow(berlinDay, midnight).start, midnight);
    assert.equal(compilePeriod(berlinDay).nextReset(midnight - 1), midnight);
  });

  it("start at the jump where midnight itself is skipped (Santiago, Beirut, Havana)", () => {
    // America/Santiago, 7 September 2025: 00:00 -04 jumps to 01:00 -03.
    const santiago: PeriodSpec = { period: "1d", mode: "calendar", timeZone: "America/Santiago" };
    assert.deepEqual(windowOf(santiago, at("2025-09-07T12:00:00-03:00")), {
      start: at("2025-09-07T01:00:00-03:00"),
      end: at("2025-09-08T00:00:00-03:00"),
    });
    assert.equal(periodWindow(santiago, at("2025-09-06T23:59:59-04:00")).end, at("2025-09-07T01:00:00-03:00"));
    // Asia/Beirut, 31 March 2024: 00:00 +02 jumps to 01:00 +03.
    const beirut: PeriodSpec = { period: "1d", mode: "calendar", timeZone: "Asia/Beirut" };
    assert.equal(periodWindow(beirut, at("2024-03-31T12:00:00+03:00")).start, at("2024-03-31T01:00:00+03:00"));
    // America/Havana, 8 March 2026: 00:00 -05 jumps to 01:00 -04.
    const havana: PeriodSpec = { period: "1d", mode: "calendar", timeZone: "America/Havana" };
    assert.equal(periodWindow(havana, at("2026-03-08T12:00:00-04:00")).start, at("2026-03-08T01:00:00-04:00"));
  });

  it("reset once where the clock shows midnight twice (Havana, 2 November 2025: 01:00 -04 → 00:00 -05)", () => {
    const havana: PeriodSpec = { period: "1d", mode: "calendar", timeZone: "America/Havana" };
    const day = { start: at("2025-11-02T00:00:00-04:00"), end: at("2025-11-03T00:00:00-05:00") };
    assert.deepEqual(windowOf(havana, at("2025-11-02T00:30:00-04:00")), day);
    assert.deepEqual(windowOf(havana, at("2025-11-02T00:30:00-05:00")), day);
  });

  it("never yield an empty window when a whole date is skipped (Samoa, 30 December 2011)", () => {
    const apia: PeriodSpec = { period: "1d", mode: "calendar", timeZone: "Pacific/Apia" };
    const jump = at("2011-12-30T00:00:00-10:00");
    assert.deepEqual(windowOf(apia, jump - 1), { start: at("2011-12-29T00:00:00-10:00"), end: jump });
    assert.deepEqual(windowOf(apia, jump), { start: jump, end: at("2012-01-01T00:00:00+14:00") });
    assert.equal(jump, at("2011-12-31T00:00:00+14:00"));
  });
});

describe("calendar weeks, months, quarters and years", () => {
  it("weeks start Monday 00:00 local, also over a DST change", () => {
    const week: PeriodSpec = { period: "1w", mode: "calendar", timeZone: "Europe/Berlin" };
    assert.deepEqual(windowOf(week, at("2026-03-29T12:00:00+02:00")), {
      start: at("2026-03-23T00:00:00+01:00"),
      end: at("2026-03-30T00:00:00+02:00"),
    });
    const monday = at("2026-03-30T00:00:00+02:00");
    assert.equal(periodWindow(week, monday).start, monday);
    assert.equal(periodWindow(week, monday - 1).end, monday);
    const utcWeek: PeriodSpec = { period: "1w", mode: "calendar" };
    assert.deepEqual(windowOf(utcWeek, at("2026-01-01T00:00:00Z")), {
      start: at("2025-12-29T00:00:00Z"),
      end: at("2026-01-05T00:00:00Z"),
    });
  });

  it("months start on the 1st at 00:00 local, whatever their length", () => {
    const month: PeriodSpec = { period: "1mo", mode: "calendar", timeZone: "America/New_York" };
    assert.deepEqual(windowOf(month, at("2024-02-29T23:59:59.999-05:00")), {
      start: at("2024-02-01T00:00:00-05:00"),
      end: at("2024-03-01T00:00:00-05:00"),
    });
    assert.deepEqual(windowOf(month, at("2024-03-01T00:00:00-05:00")), {
      start: at("2024-03-01T00:00:00-05:00"),
      end: at("2024-04-01T00:00:00-04:00"),
    });
    const utc: PeriodSpec = { period: "1M", mode: "calendar" };
    assert.deepEqual(windowOf(utc, at("2026-12-31T23:59:59.999Z")), {
      start: at("2026-12-01T00:00:00Z"),
      end: at("2027-01-01T00:00:00Z"),
    });
  });

  it("quarters start in January, April, July and October; years on 1 January", () => {
    const quarter: PeriodSpec = { period: "1q", mode: "calendar", timeZone: "Europe/Berlin" };
    assert.deepEqual(windowOf(quarter, at("2026-03-31T23:59:59.999+02:00")), {
      start: at("2026-01-01T00:00:00+01:00"),
      end: at("2026-04-01T00:00:00+02:00"),
    });
    assert.deepEqual(windowOf(quarter, at("2026-04-01T00:00:00+02:00")), {
      start: at("2026-04-01T00:00:00+02:00"),
      end: at("2026-07-01T00:00:00+02:00"),
    });
    assert.deepEqual(windowOf(quarter, at("2026-11-15T00:00:00+01:00")), {
      start: at("2026-10-01T00:00:00+02:00"),
      end: at("2027-01-01T00:00:00+01:00"),
    });
    const year: PeriodSpec = { period: "1y", mode: "calendar", timeZone: "Asia/Tokyo" };
    assert.deepEqual(windowOf(year, at("2026-01-01T00:00:00+09:00")), {
      start: at("2026-01-01T00:00:00+09:00"),
      end: at("2027-01-01T00:00:00+09:00"),
    });
    assert.equal(periodWindow(year, at("2025-12-31T23:59:59.999+09:00")).end, at("2026-01-01T00:00:00+09:00"));
  });

  it("multiples tile from midnight and January", () => {
    const sixHours: PeriodSpec = { period: "6h", mode: "calendar", timeZone: "Asia/Kolkata" };
    assert.deepEqual(windowOf(sixHours, at("2026-05-05T13:00:00+05:30")), {
      start: at("2026-05-05T12:00:00+05:30"),
      end: at("2026-05-05T18:00:00+05:30"),
    });
    const twoMonths: PeriodSpec = { period: "2mo", mode: "calendar" };
    assert.deepEqual(windowOf(twoMonths, at("2026-04-10T00:00:00Z")), {
      start: at("2026-03-01T00:00:00Z"),
      end: at("2026-05-01T00:00:00Z"),
    });
    const halfYear: PeriodSpec = { period: "2q", mode: "calendar" };
    assert.equal(periodWindow(halfYear, at("2026-08-10T00:00:00Z")).start, at("2026-07-01T00:00:00Z"));
  });
});

describe("calendar hours", () => {
  const hour: PeriodSpec = { period: "1h", mode: "calendar", timeZone: "Europe/Berlin" };

  it("the skipped spring hour has no window; the hour before ends at the jump", () => {
    assert.deepEqual(windowOf(hour, at("2026-03-29T01:30:00+01:00")), {
      start: at("2026-03-29T01:00:00+01:00"),
      end: at("2026-03-29T03:00:00+02:00"),
    });
  });

  it("the repeated autumn hour is an hour of its own", () => {
    assert.deepEqual(windowOf(hour, at("2026-10-25T02:30:00+02:00")), {
      start: at("2026-10-25T02:00:00+02:00"),
      end: at("2026-10-25T02:00:00+01:00"),
    });
    assert.deepEqual(windowOf(hour, at("2026-10-25T02:30:00+01:00")), {
      start: at("2026-10-25T02:00:00+01:00"),
      end: at("2026-10-25T03:00:00+01:00"),
    });
  });

  it("follow half-hour zones", () => {
    const kolkata: PeriodSpec = { period: "1h", mode: "calendar", timeZone: "Asia/Kolkata" };
    assert.equal(periodWindow(kolkata, at("2026-05-05T10:00:00Z")).start, at("2026-05-05T09:30:00Z"));
  });
});

/**
 * Steps a clock minute by minute from `from` to `to` (inclusive) and records every reset: each time the window's
 * start changes. Checks on the way that windows are contiguous and that `now` is always inside its window.
 */
function stepResets(spec: PeriodSpec, from: number, to: number): number[] {
  const schedule = compilePeriod(spec);
  let current = schedule.windowAt(from);
  const resets: number[] = [];
  for (let now = from; now <= to; now += 60_000) {
    const window = schedule.windowAt(now);
    assert.ok(window.start <= now && (window.end === null || now < window.end), `now inside its window`);
    if (window.start !== current.start) {
      assert.equal(window.start, current.end, "the next window starts where the last one ended");
      assert.equal(window.start, now, "the reset is seen at the first minute of the new window");
      resets.push(now);
      current = window;
    }
  }
  return resets;
}

describe("stepping a clock minute by minute across a month with a DST change", () => {
  const zone = "Europe/Berlin";

  it("March 2026 in Berlin: 31 midnights, 743 hours, 5 Mondays, one month start", () => {
    const from = at("2026-03-01T00:00:00+01:00");
    const to = at("2026-04-01T00:00:00+02:00");
    const days = stepResets({ period: "1d", mode: "calendar", timeZone: zone }, from, to);
    const expectedMidnights = Array.from({ length: 31 }, (_, i) => {
      const day = i + 2; // 2 March … 1 April
      return Date.UTC(2026, 2, day) - (day <= 29 ? 1 : 2) * HOUR; // CET until the 29th's 02:00, then CEST
    });
    assert.deepEqual(days, expectedMidnights);
    assert.equal(stepResets({ period: "1h", mode: "calendar", timeZone: zone }, from, to).length, 31 * 24 - 1);
    assert.deepEqual(stepResets({ period: "1w", mode: "calendar", timeZone: zone }, from, to), [
      at("2026-03-02T00:00:00+01:00"),
      at("2026-03-09T00:00:00+01:00"),
      at("2026-03-16T00:00:00+01:00"),
      at("2026-03-23T00:00:00+01:00"),
      at("2026-03-30T00:00:00+02:00"),
    ]);
    assert.deepEqual(stepResets({ period: "1mo", mode: "calendar", timeZone: zone }, from, to), [to]);
  });

  it("October 2026 in Berlin: 31 midnights, 745 hours", () => {
    const from = at("2026-10-01T00:00:00+02:00");
    const to = at("2026-11-01T00:00:00+01:00");
    const days = stepResets({ period: "1d", mode: "calendar", timeZone: zone }, from, to);
    assert.equal(days.length, 31);
    assert.equal(days[24], at("2026-10-26T00:00:00+01:00"));
    assert.equal(((days[24] ?? 0) - (days[23] ?? 0)) / HOUR, 25);
    assert.equal(stepResets({ period: "1h", mode: "calendar", timeZone: zone }, from, to).length, 31 * 24 + 1);
  });

  it("November 2025 in Havana (midnight shown twice): one reset per day", () => {
    const from = at("2025-11-01T00:00:00-04:00");
    const to = at("2025-12-01T00:00:00-05:00");
    const days = stepResets({ period: "1d", mode: "calendar", timeZone: "America/Havana" }, from, to);
    assert.equal(days.length, 30);
    assert.equal(new Set(days).size, 30);
  });

  it("a rolling day in the same month resets every 24 h of elapsed time", () => {
    const anchor = at("2026-02-15T09:00:00+01:00");
    const from = at("2026-03-01T00:00:00+01:00");
    const resets = stepResets({ period: "1d", mode: "rolling", anchor, timeZone: zone }, from, from + 31 * 24 * HOUR);
    assert.equal(resets.length, 31);
    for (let i = 1; i < resets.length; i++) assert.equal((resets[i] ?? 0) - (resets[i - 1] ?? 0), 24 * HOUR);
  });
});

describe("shared calendar schedules", () => {
  it("share one cached window per (period, mode, zone)", () => {
    const a = compilePeriod({ period: "1M", mode: "calendar", timeZone: "Europe/Berlin" });
    const b = compilePeriod({ period: "1mo", mode: "calendar", timeZone: "Europe/Berlin" });
    assert.equal(a, b);
    const now = at("2026-06-10T00:00:00Z");
    assert.equal(a.windowAt(now), b.windowAt(now + 1000));
    assert.notEqual(compilePeriod({ period: "1mo", mode: "calendar", timeZone: "UTC" }), a);
    assert.equal(a.timeZone, "Europe/Berlin");
    assert.equal(a.anchor, null);
  });
});
