import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allOverviewPaths, chartWindow, overviewPeriods, overviewRequests } from "../../src/shared/overview-plan.ts";

/** The overview's periods and requests (src/shared/overview-plan.ts), in the process's local time zone. */

describe("overview plan", () => {
  // Wednesday 2026-03-18 15:30 local time.
  const now = new Date(2026, 2, 18, 15, 30).getTime();

  it("compares today, this week and this month with the same elapsed span before", () => {
    const [today, week, month] = overviewPeriods(now);
    assert.ok(today && week && month);
    assert.equal(today.from, new Date(2026, 2, 18).getTime());
    assert.equal(today.prevFrom, new Date(2026, 2, 17).getTime());
    assert.equal(today.prevTo, new Date(2026, 2, 17, 15, 30).getTime());
    // Weeks start on Monday (the 16th).
    assert.equal(week.from, new Date(2026, 2, 16).getTime());
    assert.equal(week.prevFrom, new Date(2026, 2, 9).getTime());
    assert.equal(week.prevTo, new Date(2026, 2, 11, 15, 30).getTime());
    assert.equal(month.from, new Date(2026, 2, 1).getTime());
    assert.equal(month.prevFrom, new Date(2026, 1, 1).getTime());
    for (const p of [today, week, month]) assert.equal(p.to, now);
  });

  it("ends a shorter previous month at its own end, and never asks for an empty range", () => {
    const end = new Date(2026, 2, 31, 12).getTime();
    const month = overviewPeriods(end)[2];
    assert.equal(month?.prevTo, new Date(2026, 2, 1).getTime());
    const midnight = new Date(2026, 2, 18).getTime();
    for (const p of overviewPeriods(midnight)) {
      assert.ok(p.to > p.from);
      assert.ok(p.prevTo > p.prevFrom);
    }
  });

  it("groups the chart by hour for a day or a week and by UTC day for 30 days", () => {
    assert.deepEqual(chartWindow("24h", Date.UTC(2026, 2, 18, 15, 30)), {
      from: Date.UTC(2026, 2, 17, 16),
      to: Date.UTC(2026, 2, 18, 15, 30),
      unit: "hour",
    });
    assert.equal(chartWindow("30d", Date.UTC(2026, 2, 18, 15, 30)).from, Date.UTC(2026, 1, 17));
    const r = overviewRequests(now, "team", "30d");
    assert.match(r.chart, /group_by=day%2Cteam/);
    assert.equal(allOverviewPaths(r).length, 14);
    assert.ok(allOverviewPaths(r).every((p) => p.startsWith("/api/")));
  });
});
