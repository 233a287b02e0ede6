/**
 * Wall-clock ("civil") arithmetic. A wall time is the local date and time a clock on the wall shows, stored as the
 * milliseconds a UTC instant with the same fields would have. Calendar math (add a month, find Monday) is then plain
 * UTC math; turning a wall time into a real instant is the time zone's job (zone.ts).
 */

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Wall time for a civil date and time (month 0-based; out-of-range fields roll over like Date.UTC). */
export function civilMs(year: number, month0: number, day: number, msOfDay = 0): number {
  if (year >= 0 && year < 100) {
    // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
    const d = new Date(0);
    d.setUTCFullYear(year, month0, day);
    return d.getTime() + msOfDay;
  }
  return Date.UTC(year, month0, day) + msOfDay;
}

export function daysInMonth(year: number, month0: number): number {
  return new Date(civilMs(year, month0 + 1, 0)).getUTCDate();
}

/** Months since January of year 0: a single number that orders and subtracts months. */
export function monthIndexOfWall(wall: number): number {
  const d = new Date(wall);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/** Wall time of 00:00 on the first day of the month with this index. */
export function wallOfMonthIndex(monthIndex: number, day = 1, msOfDay = 0): number {
  const year = Math.floor(monthIndex / 12);
  return civilMs(year, monthIndex - year * 12, day, msOfDay);
}

/** Days since 1970-01-01 (a Thursday) of a wall time. */
export function dayIndexOfWall(wall: number): number {
  return Math.floor(wall / DAY_MS);
}

/** Index of the Monday-to-Sunday week holding this day; week 0 starts Monday 1969-12-29. */
export function mondayWeekIndex(dayIndex: number): number {
  return Math.floor((dayIndex + 3) / 7);
}

/** Wall time of Monday 00:00 for a week index from mondayWeekIndex. */
export function wallOfMondayWeek(weekIndex: number): number {
  return (weekIndex * 7 - 3) * DAY_MS;
}

/** Milliseconds since the wall day's midnight. */
export function msOfDay(wall: number): number {
  return wall - dayIndexOfWall(wall) * DAY_MS;
}
