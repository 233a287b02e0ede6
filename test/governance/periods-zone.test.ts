import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { civilMs, daysInMonth, mondayWeekIndex, wallOfMondayWeek } from "../../src/governance/time/civil.ts";
import { TimeZone } from "../../src/governance/time/zone.ts";

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

describe("TimeZone", () => {
  const berlin = TimeZone.get("Europe/Berlin");

  it("reads offsets on both sides of a change", () => {
    assert.equal(berlin.offsetAt(at("2026-03-29T00:59:59Z")), HOUR);
    assert.equal(berlin.offsetAt(at("2026-03-29T01:00:00Z")), 2 * HOUR);
    assert.equal(TimeZone.get("Asia/Kathmandu").offsetAt(at("2026-01-01T00:00:00Z")), 5.75 * HOUR);
    assert.equal(TimeZone.UTC.offsetAt(at("2026-03-29T01:00:00Z")), 0);
  });

  it("finds one instant for a normal wall time, two in the repeated hour, none in the skipped one", () => {
    assert.deepEqual(berlin.instantsAtWall(Date.UTC(2026, 5, 1, 12)), [at("2026-06-01T12:00:00+02:00")]);
    assert.deepEqual(berlin.instantsAtWall(Date.UTC(2026, 9, 25, 2, 30)), [
      at("2026-10-25T02:30:00+02:00"),
      at("2026-10-25T02:30:00+01:00"),
    ]);
    assert.deepEqual(berlin.instantsAtWall(Date.UTC(2026, 2, 29, 2, 30)), []);
  });

  it("places a skipped wall time at the jump, to the millisecond", () => {
    const jump = at("2026-03-29T03:00:00+02:00");
    assert.equal(berlin.firstInstantAtWall(Date.UTC(2026, 2, 29, 2, 0)), jump);
    assert.equal(berlin.firstInstantAtWall(Date.UTC(2026, 2, 29, 2, 59, 59, 999)), jump);
    assert.equal(berlin.firstInstantAtWall(Date.UTC(2026, 2, 29, 3, 0)), jump);
    assert.equal(berlin.firstInstantAtWall(Date.UTC(2026, 2, 29, 1, 59, 59, 999)), jump - 1);
  });

  it("canonicalises names, shares instances and refuses unknown zones", () => {
    assert.equal(TimeZone.get("US/Eastern").name, "America/New_York");
    assert.equal(TimeZone.get("utc"), TimeZone.UTC);
    assert.equal(TimeZone.get("Europe/Berlin"), berlin);
    assert.throws(() => TimeZone.get("Nowhere/Special"), { name: "PeriodError" });
  });
});

describe("civil arithmetic", () => {
  it("handles leap years, years below 100 and Monday weeks", () => {
    assert.equal(daysInMonth(2024, 1), 29);
    assert.equal(daysInMonth(2100, 1), 28);
    assert.equal(daysInMonth(2000, 1), 29);
    assert.equal(new Date(civilMs(50, 0, 1)).getUTCFullYear(), 50);
    const thursday = Math.floor(at("2026-01-01T00:00:00Z") / 86_400_000);
    assert.equal(wallOfMondayWeek(mondayWeekIndex(thursday)), at("2025-12-29T00:00:00Z"));
    assert.equal(wallOfMondayWeek(mondayWeekIndex(thursday - 3)), at("2025-12-29T00:00:00Z"));
    assert.equal(wallOfMondayWeek(mondayWeekIndex(thursday - 4)), at("2025-12-22T00:00:00Z"));
  });
});
