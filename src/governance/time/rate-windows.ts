/**
 * Rate-limit windows: `Ns`, `Nm`, `Nh`, `Nd` (seconds, minutes, hours, days; N from 1 to 1000, e.g. `1m`, `10s`).
 *
 * Rate limits protect capacity, not accounts, so their windows are fixed lengths of elapsed time aligned to the Unix
 * epoch (a `1d` window is a UTC day) — no time zones, and any process computes the same window ids without talking
 * to another. Window i covers [i·L, (i+1)·L).
 *
 * A sliding-window counter keeps the counts of the current and the previous fixed window and estimates the last L
 * milliseconds as previous × (share of the previous window still inside [now − L, now)) + current.
 */
import { z } from "zod";
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from "./civil.ts";
import { PeriodError } from "./errors.ts";

export interface RateWindow {
  /** Canonical spelling, e.g. `1m`. */
  readonly text: string;
  readonly lengthMs: number;
}

export const MAX_RATE_WINDOW_COUNT = 1000;

const UNIT_MS: Readonly<Record<string, number>> = { s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };

export type RateWindowParseResult = { ok: true; window: RateWindow } | { ok: false; message: string };

export function tryParseRateWindow(text: string): RateWindowParseResult {
  const problem = (why: string): RateWindowParseResult => ({
    ok: false,
    message: `invalid rate-limit window "${text}": ${why}`,
  });
  const match = /^(\d+)([a-zA-Z]+)$/.exec(text);
  if (!match) return problem("expected a count and a unit: s (seconds), m (minutes), h (hours) or d (days), e.g. 1m");
  const [, digits = "", unit = ""] = match;
  const unitMs = UNIT_MS[unit];
  if (unitMs === undefined) {
    if (unit === "mo" || unit === "M" || unit === "w" || unit === "q" || unit === "y" || unit === "Y") {
      return problem("rate-limit windows are at most days long; use a budget for longer periods");
    }
    const lower = UNIT_MS[unit.toLowerCase()];
    if (lower !== undefined) return problem(`units are case-sensitive; write "${digits}${unit.toLowerCase()}"`);
    return problem(`unknown unit "${unit}"; use s, m, h or d`);
  }
  const count = Number(digits);
  if (count < 1 || count > MAX_RATE_WINDOW_COUNT || digits.startsWith("0")) {
    return problem(`the count must be a whole number from 1 to ${MAX_RATE_WINDOW_COUNT} without leading zeros`);
  }
  return { ok: true, window: { text: `${count}${unit}`, lengthMs: count * unitMs } };
}

export function parseRateWindow(text: string): RateWindow {
  const result = tryParseRateWindow(text);
  if (!result.ok) throw new PeriodError(result.message);
  return result.window;
}

/** A rate-limit window string; outputs the canonical spelling. */
export const RateWindowSchema = z.string().transform((text, ctx) => {
  const result = tryParseRateWindow(text);
  if (result.ok) return result.window.text;
  ctx.addIssue({ code: "custom", message: result.message, input: text });
  return z.NEVER;
});

/** Index of the fixed window holding `nowMs`: the counter key. Allocation-free for the hot path. */
export function rateWindowIndex(lengthMs: number, nowMs: number): number {
  return Math.floor(nowMs / lengthMs);
}

export interface FixedWindowPosition {
  readonly index: number;
  readonly start: number;
  /** Exclusive; also when a fixed-window limit lets requests in again. */
  readonly end: number;
}

export function fixedWindowAt(window: RateWindow, nowMs: number): FixedWindowPosition {
  const index = rateWindowIndex(window.lengthMs, nowMs);
  const start = index * window.lengthMs;
  return { index, start, end: start + window.lengthMs };
}

export interface SlidingWindowPosition extends FixedWindowPosition {
  readonly previousIndex: number;
  /** Share of the previous fixed window inside the sliding window [now − L, now): 1 at the window start, → 0 at its end. */
  readonly previousWeight: number;
}

export function slidingWindowAt(window: RateWindow, nowMs: number): SlidingWindowPosition {
  const { index, start, end } = fixedWindowAt(window, nowMs);
  return { index, start, end, previousIndex: index - 1, previousWeight: (end - nowMs) / window.lengthMs };
}

/** The sliding-window estimate of what was used in the last L milliseconds. */
export function slidingEstimate(previousCount: number, currentCount: number, previousWeight: number): number {
  return previousCount * previousWeight + currentCount;
}

export interface SlidingWait {
  limit: number;
  previousCount: number;
  currentCount: number;
  /** What the request would add (1 for a request limit, its tokens for a token limit). */
  cost: number;
}

/**
 * Milliseconds until a request of `cost` fits the sliding window if nothing else arrives meanwhile (0 when it fits
 * now; the value for `retry-after`), or null when it never fits (cost above the limit).
 */
export function slidingRetryAfterMs(window: RateWindow, nowMs: number, wait: SlidingWait): number | null {
  const { limit, previousCount, currentCount, cost } = wait;
  if (cost > limit) return null;
  const length = window.lengthMs;
  const { end, previousWeight } = slidingWindowAt(window, nowMs);
  if (slidingEstimate(previousCount, currentCount, previousWeight) + cost <= limit) return 0;
  let fitsAt: number;
  if (currentCount + cost <= limit) {
    // Within this window, as the previous window's share drains: previous × (end − t)/L + current + cost ≤ limit.
    fitsAt = end - ((limit - currentCount - cost) * length) / previousCount;
  } else {
    // Only in the next window, as this window's count becomes the draining previous one.
    fitsAt = end + length - ((limit - cost) * length) / currentCount;
  }
  return Math.max(0, Math.ceil(fitsAt - nowMs));
}
