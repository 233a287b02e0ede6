import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BudgetPeriodSchema,
  calendarAlignmentProblem,
  compilePeriod,
  PeriodConfigSchema,
  PeriodError,
  parsePeriod,
  TimeZoneSchema,
  tryParsePeriod,
} from "../../src/governance/periods.ts";

function message(text: string): string {
  const result = tryParsePeriod(text);
  assert.equal(result.ok, false, `${text} should be refused`);
  return result.ok ? "" : result.message;
}

describe("parsePeriod", () => {
  it("accepts every documented spelling and canonicalises the aliases", () => {
    assert.deepEqual(parsePeriod("1h"), { unit: "hour", count: 1, text: "1h" });
    assert.deepEqual(parsePeriod("1d"), { unit: "day", count: 1, text: "1d" });
    assert.deepEqual(parsePeriod("1w"), { unit: "week", count: 1, text: "1w" });
    assert.deepEqual(parsePeriod("1mo"), { unit: "month", count: 1, text: "1mo" });
    assert.deepEqual(parsePeriod("1M"), { unit: "month", count: 1, text: "1mo" });
    assert.deepEqual(parsePeriod("1q"), { unit: "quarter", count: 1, text: "1q" });
    assert.deepEqual(parsePeriod("1y"), { unit: "year", count: 1, text: "1y" });
    assert.deepEqual(parsePeriod("1Y"), { unit: "year", count: 1, text: "1y" });
    assert.deepEqual(parsePeriod("never"), { unit: "never", text: "never" });
  });

  it("accepts multiples from 1 to 1000", () => {
    assert.deepEqual(parsePeriod("6h"), { unit: "hour", count: 6, text: "6h" });
    assert.deepEqual(parsePeriod("2w"), { unit: "week", count: 2, text: "2w" });
    assert.deepEqual(parsePeriod("6M"), { unit: "month", count: 6, text: "6mo" });
    assert.equal(parsePeriod("1000d").text, "1000d");
    assert.match(message("1001d"), /from 1 to 1000/);
    assert.match(message("0d"), /from 1 to 1000/);
    assert.match(message("01d"), /leading zeros/);
  });

  it("refuses minutes and seconds, pointing to months and the shortest period", () => {
    assert.match(message("1m"), /"m" means minutes.*write "1mo"/);
    assert.match(message("3m"), /write "3mo"/);
    assert.match(message("30s"), /seconds are no budget period; the shortest is 1h/);
  });

  it("explains case, words, spaces and garbage", () => {
    assert.match(message("1D"), /case-sensitive; write "1d"/);
    assert.match(message("1Mo"), /case-sensitive; write "1mo"/);
    assert.match(message("monthly"), /write "1mo"/);
    assert.match(message("Forever"), /write "never"/);
    assert.match(message(" 1d"), /remove the surrounding spaces/);
    assert.match(message(""), /it is empty/);
    assert.match(message("1x"), /unknown unit "x"/);
    assert.match(message("d"), /^invalid budget period "d": expected "never" or a count and a unit/);
    assert.match(message("1.5d"), /expected "never"/);
    assert.match(message("-1d"), /expected "never"/);
  });

  it("throws PeriodError with the same message", () => {
    assert.throws(
      () => parsePeriod("1m"),
      (e: unknown) => e instanceof PeriodError && /1mo/.test(e.message),
    );
  });
});

describe("calendar alignment", () => {
  it("allows counts that tile the calendar and refuses the rest", () => {
    for (const ok of ["1h", "2h", "3h", "4h", "6h", "8h", "12h", "24h", "1d", "1w", "1mo", "2mo", "3mo", "4mo"]) {
      assert.equal(calendarAlignmentProblem(parsePeriod(ok)), null, ok);
    }
    for (const ok of ["6mo", "12mo", "1q", "2q", "4q", "1y", "never"]) {
      assert.equal(calendarAlignmentProblem(parsePeriod(ok)), null, ok);
    }
    assert.match(calendarAlignmentProblem(parsePeriod("5h")) ?? "", /must divide a day.*use mode "rolling"/);
    assert.match(calendarAlignmentProblem(parsePeriod("5mo")) ?? "", /must divide a year/);
    assert.match(calendarAlignmentProblem(parsePeriod("3q")) ?? "", /1q, 2q or 4q/);
    assert.match(calendarAlignmentProblem(parsePeriod("2d")) ?? "", /calendar-aligned days take a count of 1/);
    assert.match(calendarAlignmentProblem(parsePeriod("2w")) ?? "", /weeks take a count of 1/);
    assert.match(calendarAlignmentProblem(parsePeriod("2y")) ?? "", /years take a count of 1/);
  });

  it("compilePeriod refuses a calendar period that cannot align, but rolls it", () => {
    assert.throws(() => compilePeriod({ period: "2w", mode: "calendar" }), PeriodError);
    assert.doesNotThrow(() => compilePeriod({ period: "2w", mode: "rolling", anchor: 0 }));
  });
});

describe("compilePeriod validation", () => {
  it("needs an anchor for rolling recurring periods, not for never", () => {
    assert.throws(() => compilePeriod({ period: "1mo", mode: "rolling" }), /needs an anchor/);
    assert.throws(() => compilePeriod({ period: "1d", mode: "rolling", anchor: Number.NaN }), /needs an anchor/);
    assert.doesNotThrow(() => compilePeriod({ period: "never", mode: "rolling" }));
  });

  it("refuses unknown zones and modes with a clear message", () => {
    assert.throws(() => compilePeriod({ period: "1d", mode: "calendar", timeZone: "Mars/Olympus" }), {
      name: "PeriodError",
      message: /unknown time zone "Mars\/Olympus": use an IANA name/,
    });
    const mode = "aligned" as unknown as "calendar";
    assert.throws(() => compilePeriod({ period: "1d", mode }), /invalid period mode "aligned"/);
  });

  it("refuses a time that is not a number", () => {
    const schedule = compilePeriod({ period: "1d", mode: "calendar" });
    assert.throws(() => schedule.windowAt(Number.NaN), RangeError);
    assert.throws(() => compilePeriod({ period: "never", mode: "calendar" }).windowAt(Number.NaN), RangeError);
  });
});

describe("schemas", () => {
  it("BudgetPeriodSchema outputs the canonical spelling and reports the parser's message", () => {
    assert.equal(BudgetPeriodSchema.parse("1M"), "1mo");
    assert.equal(BudgetPeriodSchema.parse("never"), "never");
    const bad = BudgetPeriodSchema.safeParse("1m");
    assert.equal(bad.success, false);
    assert.match(bad.error?.issues[0]?.message ?? "", /write "1mo"/);
    assert.equal(BudgetPeriodSchema.safeParse(5).success, false);
  });

  it("TimeZoneSchema canonicalises names and refuses unknown ones", () => {
    assert.equal(TimeZoneSchema.parse("utc"), "UTC");
    assert.equal(TimeZoneSchema.parse("US/Eastern"), "America/New_York");
    assert.equal(TimeZoneSchema.parse("Europe/Berlin"), "Europe/Berlin");
    const bad = TimeZoneSchema.safeParse("Europe/Atlantis");
    assert.match(bad.error?.issues[0]?.message ?? "", /unknown time zone/);
  });

  it("PeriodConfigSchema checks the period against the mode", () => {
    assert.deepEqual(PeriodConfigSchema.parse({ period: "1Y", mode: "calendar", timeZone: "Europe/Berlin" }), {
      period: "1y",
      mode: "calendar",
      timeZone: "Europe/Berlin",
    });
    assert.deepEqual(PeriodConfigSchema.parse({ period: "5h", mode: "rolling" }), { period: "5h", mode: "rolling" });
    const bad = PeriodConfigSchema.safeParse({ period: "5h", mode: "calendar" });
    assert.deepEqual(bad.error?.issues[0]?.path, ["period"]);
    assert.match(bad.error?.issues[0]?.message ?? "", /cannot be calendar-aligned/);
    const mode = PeriodConfigSchema.safeParse({ period: "1d", mode: "fixed" });
    assert.match(mode.error?.issues[0]?.message ?? "", /"calendar" or "rolling"/);
    assert.equal(PeriodConfigSchema.safeParse({ period: "1d", mode: "rolling", extra: 1 }).success, false);
  });
});
