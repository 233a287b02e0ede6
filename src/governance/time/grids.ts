/** The nominal window starts of calendar-aligned periods and of rolling month-based periods, as wall-clock grids. */
import {
  civilMs,
  DAY_MS,
  dayIndexOfWall,
  daysInMonth,
  HOUR_MS,
  mondayWeekIndex,
  monthIndexOfWall,
  msOfDay,
  wallOfMondayWeek,
  wallOfMonthIndex,
} from "./civil.ts";
import type { RecurringPeriod } from "./period-syntax.ts";
import type { WallGrid } from "./window-search.ts";

/** Months in one unit of the month-based periods. */
export function monthsPerUnit(unit: "month" | "quarter" | "year"): number {
  return unit === "month" ? 1 : unit === "quarter" ? 3 : 12;
}

/**
 * Calendar alignment (the count is assumed valid, see calendarAlignmentProblem):
 * `Nh` starts at local hours divisible by N, `1d` at midnight, `1w` at Monday 00:00, `Nmo` at 00:00 on the 1st of
 * months divisible by N counted from January (so `1q` starts January, April, July and October), `1y` on 1 January.
 */
export function calendarGrid(period: RecurringPeriod): WallGrid {
  switch (period.unit) {
    case "hour": {
      const step = period.count * HOUR_MS;
      return {
        indexOfWall: (wall) => Math.floor(wall / step),
        wallOfIndex: (index) => index * step,
        repeatedStartsReset: true,
      };
    }
    case "day":
      return { indexOfWall: dayIndexOfWall, wallOfIndex: (index) => index * DAY_MS, repeatedStartsReset: false };
    case "week":
      return {
        indexOfWall: (wall) => mondayWeekIndex(dayIndexOfWall(wall)),
        wallOfIndex: wallOfMondayWeek,
        repeatedStartsReset: false,
      };
    case "month":
    case "quarter":
    case "year": {
      const months = period.count * monthsPerUnit(period.unit);
      return {
        indexOfWall: (wall) => Math.floor(monthIndexOfWall(wall) / months),
        wallOfIndex: (index) => wallOfMonthIndex(index * months),
        repeatedStartsReset: false,
      };
    }
    default: {
      const unreachable: never = period.unit;
      return unreachable;
    }
  }
}

/**
 * Rolling month-based periods: period n starts `n × months` months after the anchor, on the anchor's day of the
 * month — or the month's last day when it is shorter — at the anchor's time of day, all read on the wall clock of
 * the zone. Each start is computed from the anchor, not from the previous start, so an anchor on 31 January gives
 * 28 (or 29) February, then 31 March.
 */
export function rollingMonthGrid(anchorWall: number, months: number): WallGrid {
  const anchorMonth = monthIndexOfWall(anchorWall);
  const anchorDay = new Date(anchorWall).getUTCDate();
  const anchorTime = msOfDay(anchorWall);
  return {
    indexOfWall: (wall) => Math.floor((monthIndexOfWall(wall) - anchorMonth) / months),
    wallOfIndex: (index) => {
      const month = anchorMonth + index * months;
      const year = Math.floor(month / 12);
      const month0 = month - year * 12;
      return civilMs(year, month0, Math.min(anchorDay, daysInMonth(year, month0)), anchorTime);
    },
    repeatedStartsReset: false,
  };
}
