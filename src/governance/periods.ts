/**
 * Budget periods: which window an instant falls in, and when that window resets.
 *
 * Periods (time/period-syntax.ts): `never`, or a count and a unit — `Nh`, `Nd`, `Nw`, `Nmo`/`NM`, `Nq`, `Ny`/`NY`.
 *
 * Rolling mode — windows repeat from the budget's anchor (normally its creation time):
 * - hours, days and weeks have a fixed length L (1 h, 24 h, 7 × 24 h of elapsed time; DST does not stretch them):
 *   period n covers [anchor + n·L, anchor + (n+1)·L), for every integer n.
 * - months, quarters and years: period n starts n × (count × 1, 3 or 12) months after the anchor, on the anchor's day
 *   of the month, or on the month's last day when the month is shorter, at the anchor's time of day, read on the wall
 *   clock of the time zone (UTC unless set). Each start is counted from the anchor, so an anchor on 31 January resets
 *   on 28 February (29 in leap years), then 31 March, 30 April… Period n covers [start n, start n+1).
 *
 * Calendar mode — windows follow the wall clock of the time zone (UTC unless set): `Nh` starts at local hours
 * divisible by N, `1d` at midnight, `1w` at Monday 00:00, `Nmo` at 00:00 on the 1st of every Nth month from January,
 * `1q` at 00:00 on 1 January, April, July and October, `1y` at 00:00 on 1 January.
 *
 * Both modes turn a wall time into an instant the same way: the first instant the clock shows it; when the clock
 * jumps over it (spring forward), the instant of the jump. So a day in Europe/Berlin lasts 23 or 25 hours on the days
 * the clocks change, and where midnight itself is skipped (America/Santiago, Asia/Beirut, America/Havana) the day
 * starts at the first instant after the jump. In calendar hours the repeated autumn hour is an hour of its own.
 *
 * `never`: one window for all time, start 0 and end null, whatever the mode and anchor.
 *
 * Every window includes its start and excludes its end. `start` identifies the window: use it as the counter bucket.
 *
 * Hot path: compile a spec once (compilePeriod) and keep the schedule with the budget. A schedule remembers the last
 * window it computed, so asking again within the same window costs two comparisons and allocates nothing; calendar
 * schedules are shared per (period, mode, zone), so all budgets on the same calendar share one cached window.
 */
import { z } from "zod";
import { DAY_MS, HOUR_MS, WEEK_MS } from "./time/civil.ts";
import { PeriodError } from "./time/errors.ts";
import { calendarGrid, monthsPerUnit, rollingMonthGrid } from "./time/grids.ts";
import {
  calendarAlignmentProblem,
  type ParsedPeriod,
  PERIOD_MODES,
  type PeriodMode,
  parsePeriod,
  type RecurringPeriod,
  tryParsePeriod,
} from "./time/period-syntax.ts";
import { type WallGrid, windowAround } from "./time/window-search.ts";
import { TimeZone } from "./time/zone.ts";

export { PeriodError } from "./time/errors.ts";
export {
  calendarAlignmentProblem,
  MAX_PERIOD_COUNT,
  type NeverPeriod,
  type ParsedPeriod,
  PERIOD_MODES,
  type PeriodMode,
  type PeriodUnit,
  parsePeriod,
  type RecurringPeriod,
  tryParsePeriod,
} from "./time/period-syntax.ts";

export interface PeriodSpec {
  /** A period string (`1d`, `1mo`, `never`…) or an already parsed one. */
  period: string | ParsedPeriod;
  mode: PeriodMode;
  /** IANA zone for calendar mode and for rolling month-based periods; default UTC. */
  timeZone?: string | undefined;
  /** Epoch ms where rolling period 0 starts; required for rolling recurring periods, ignored otherwise. */
  anchor?: number | null | undefined;
}

/** [start, end) in epoch ms; `end` is null for `never`. */
export interface PeriodWindow {
  readonly start: number;
  readonly end: number | null;
}

export interface PeriodSchedule {
  readonly period: ParsedPeriod;
  readonly mode: PeriodMode;
  /** Canonical zone name. */
  readonly timeZone: string;
  /** The rolling anchor; null in calendar mode and for `never`. */
  readonly anchor: number | null;
  /** The window holding `nowMs`. The same object is returned while `nowMs` stays in it; it is frozen. */
  windowAt(nowMs: number): PeriodWindow;
  /** When the window holding `nowMs` ends; null for `never`. */
  nextReset(nowMs: number): number | null;
}

const NEVER_WINDOW: PeriodWindow = Object.freeze({ start: 0, end: null });

class NeverSchedule implements PeriodSchedule {
  readonly period: ParsedPeriod;
  readonly mode: PeriodMode;
  readonly timeZone: string;
  readonly anchor = null;
  constructor(period: ParsedPeriod, mode: PeriodMode, timeZone: string) {
    this.period = period;
    this.mode = mode;
    this.timeZone = timeZone;
  }
  windowAt(nowMs: number): PeriodWindow {
    checkInstant(nowMs);
    return NEVER_WINDOW;
  }
  nextReset(nowMs: number): null {
    checkInstant(nowMs);
    return null;
  }
}

/** Keeps the last window; a lookup inside it is two comparisons. */
abstract class CachingSchedule implements PeriodSchedule {
  readonly period: RecurringPeriod;
  readonly mode: PeriodMode;
  readonly timeZone: string;
  readonly anchor: number | null;
  #start = 0;
  #end = 0;
  #window: PeriodWindow | null = null;

  constructor(period: RecurringPeriod, mode: PeriodMode, timeZone: string, anchor: number | null) {
    this.period = period;
    this.mode = mode;
    this.timeZone = timeZone;
    this.anchor = anchor;
  }

  windowAt(nowMs: number): PeriodWindow {
    if (this.#window !== null && nowMs >= this.#start && nowMs < this.#end) return this.#window;
    checkInstant(nowMs);
    const { start, end } = this.compute(nowMs);
    this.#start = start;
    this.#end = end;
    this.#window = Object.freeze({ start, end });
    return this.#window;
  }

  nextReset(nowMs: number): number {
    this.windowAt(nowMs);
    return this.#end;
  }

  protected abstract compute(nowMs: number): { start: number; end: number };
}

class FixedLengthSchedule extends CachingSchedule {
  readonly #anchor: number;
  readonly #length: number;
  constructor(period: RecurringPeriod, timeZone: string, anchor: number, length: number) {
    super(period, "rolling", timeZone, anchor);
    this.#anchor = anchor;
    this.#length = length;
  }
  protected compute(nowMs: number): { start: number; end: number } {
    const start = this.#anchor + Math.floor((nowMs - this.#anchor) / this.#length) * this.#length;
    return { start, end: start + this.#length };
  }
}

class WallGridSchedule extends CachingSchedule {
  readonly #grid: WallGrid;
  readonly #zone: TimeZone;
  constructor(period: RecurringPeriod, mode: PeriodMode, zone: TimeZone, anchor: number | null, grid: WallGrid) {
    super(period, mode, zone.name, anchor);
    this.#zone = zone;
    this.#grid = grid;
  }
  protected compute(nowMs: number): { start: number; end: number } {
    return windowAround(this.#grid, this.#zone, nowMs);
  }
}

function checkInstant(ms: number): void {
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${ms} (expected epoch milliseconds)`);
}

const FIXED_LENGTH: Partial<Record<RecurringPeriod["unit"], number>> = { hour: HOUR_MS, day: DAY_MS, week: WEEK_MS };

const MAX_SHARED = 1_000;
const sharedCalendars = new Map<string, PeriodSchedule>();

/**
 * Validates a spec and builds its schedule. Throws PeriodError (bad period, zone, mode or missing anchor).
 * Calendar and `never` schedules are shared per (period, mode, zone); rolling schedules are per anchor.
 */
export function compilePeriod(spec: PeriodSpec): PeriodSchedule {
  const period = typeof spec.period === "string" ? parsePeriod(spec.period) : spec.period;
  const mode = spec.mode;
  if (!PERIOD_MODES.includes(mode)) throw new PeriodError(`invalid period mode "${mode}": use "calendar" or "rolling"`);
  const zone = TimeZone.get(spec.timeZone ?? "UTC");
  if (period.unit === "never" || mode === "calendar") {
    const key = `${period.text}|${mode}|${zone.name}`;
    const shared = sharedCalendars.get(key);
    if (shared) return shared;
    let schedule: PeriodSchedule;
    if (period.unit === "never") schedule = new NeverSchedule(period, mode, zone.name);
    else {
      const problem = calendarAlignmentProblem(period);
      if (problem) throw new PeriodError(problem);
      schedule = new WallGridSchedule(period, mode, zone, null, calendarGrid(period));
    }
    if (sharedCalendars.size >= MAX_SHARED) sharedCalendars.clear();
    sharedCalendars.set(key, schedule);
    return schedule;
  }
  const anchor = spec.anchor;
  if (anchor === undefined || anchor === null || !Number.isFinite(anchor)) {
    throw new PeriodError(
      `a rolling "${period.text}" period needs an anchor: the epoch-ms instant its first window starts (usually when the budget was created)`,
    );
  }
  const unitLength = FIXED_LENGTH[period.unit];
  if (unitLength !== undefined) return new FixedLengthSchedule(period, zone.name, anchor, period.count * unitLength);
  const months = period.count * monthsPerUnit(period.unit as "month" | "quarter" | "year");
  return new WallGridSchedule(period, mode, zone, anchor, rollingMonthGrid(zone.wallAt(anchor), months));
}

const MAX_MEMOIZED = 4_096;
const memoized = new Map<string, PeriodSchedule>();

function memoizedSchedule(spec: PeriodSpec): PeriodSchedule {
  const periodText = typeof spec.period === "string" ? spec.period : spec.period.text;
  const key = `${periodText}|${spec.mode}|${spec.timeZone ?? "UTC"}|${spec.anchor ?? ""}`;
  let schedule = memoized.get(key);
  if (!schedule) {
    schedule = compilePeriod(spec);
    if (memoized.size >= MAX_MEMOIZED) memoized.clear();
    memoized.set(key, schedule);
  }
  return schedule;
}

/** The window holding `nowMs`. Convenience over compilePeriod with a bounded memo; keep a schedule on hot paths. */
export function periodWindow(spec: PeriodSpec, nowMs: number): PeriodWindow {
  return memoizedSchedule(spec).windowAt(nowMs);
}

/** When the window holding `nowMs` ends (the next reset), or null for `never`. */
export function nextReset(spec: PeriodSpec, nowMs: number): number | null {
  return memoizedSchedule(spec).nextReset(nowMs);
}

// ---------- schemas ----------

/** A budget period string; outputs the canonical spelling (`1M` → `1mo`, `1Y` → `1y`). */
export const BudgetPeriodSchema = z.string().transform((text, ctx) => {
  const result = tryParsePeriod(text);
  if (result.ok) return result.period.text;
  ctx.addIssue({ code: "custom", message: result.message, input: text });
  return z.NEVER;
});

export const PeriodModeSchema = z.enum(["calendar", "rolling"], { error: 'must be "calendar" or "rolling"' });

/** An IANA time zone; outputs the canonical name (`US/Eastern` → `America/New_York`). */
export const TimeZoneSchema = z.string().transform((name, ctx) => {
  try {
    return TimeZone.get(name).name;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error), input: name });
    return z.NEVER;
  }
});

/** Period, mode and zone as configured; refuses calendar alignment a period cannot have (e.g. `5h`, `2w`). */
export const PeriodConfigSchema = z
  .strictObject({ period: BudgetPeriodSchema, mode: PeriodModeSchema, timeZone: TimeZoneSchema.optional() })
  .superRefine((config, ctx) => {
    if (config.mode !== "calendar") return;
    const problem = calendarAlignmentProblem(parsePeriod(config.period));
    if (problem) ctx.addIssue({ code: "custom", path: ["period"], message: problem });
  });

export type PeriodConfig = z.output<typeof PeriodConfigSchema>;

export {
  type FixedWindowPosition,
  fixedWindowAt,
  MAX_RATE_WINDOW_COUNT,
  parseRateWindow,
  type RateWindow,
  RateWindowSchema,
  rateWindowIndex,
  type SlidingWait,
  type SlidingWindowPosition,
  slidingEstimate,
  slidingRetryAfterMs,
  slidingWindowAt,
  tryParseRateWindow,
} from "./time/rate-windows.ts";
