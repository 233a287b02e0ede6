/**
 * Budget period syntax: `never`, or a count and a unit — `h` hours, `d` days, `w` weeks, `mo` (or `M`) months,
 * `q` quarters, `y` (or `Y`) years. The count runs from 1 to 1000, so multiples like `6h`, `2w` or `6mo` work.
 *
 * Multiples are allowed because rolling windows of any length are well defined. Calendar alignment needs windows
 * that tile the calendar, so there only counts that divide the next larger unit are allowed: hours dividing a day
 * (`1h` `2h` `3h` `4h` `6h` `8h` `12h` `24h`), months dividing a year (`1mo` `2mo` `3mo` `4mo` `6mo` `12mo`),
 * quarters dividing a year (`1q` `2q` `4q`), and a count of 1 for days, weeks and years.
 * `m` alone is refused: it means minutes in rate-limit windows, and a budget period never is one.
 */
import { PeriodError } from "./errors.ts";

export type PeriodUnit = "hour" | "day" | "week" | "month" | "quarter" | "year";
export type PeriodMode = "rolling" | "calendar";
export const PERIOD_MODES: readonly PeriodMode[] = ["calendar", "rolling"];

/** A period that repeats: `count` × `unit`. `text` is the canonical spelling (`1M` → `1mo`, `1Y` → `1y`). */
export interface RecurringPeriod {
  readonly unit: PeriodUnit;
  readonly count: number;
  readonly text: string;
}

/** Prepaid credit: one window for all time, never reset. */
export interface NeverPeriod {
  readonly unit: "never";
  readonly text: "never";
}

export type ParsedPeriod = RecurringPeriod | NeverPeriod;

export const MAX_PERIOD_COUNT = 1000;

const UNITS: Readonly<Record<string, { unit: PeriodUnit; canonical: string }>> = {
  h: { unit: "hour", canonical: "h" },
  d: { unit: "day", canonical: "d" },
  w: { unit: "week", canonical: "w" },
  mo: { unit: "month", canonical: "mo" },
  M: { unit: "month", canonical: "mo" },
  q: { unit: "quarter", canonical: "q" },
  y: { unit: "year", canonical: "y" },
  Y: { unit: "year", canonical: "y" },
};

const WORDS: Readonly<Record<string, string>> = {
  hourly: "1h",
  daily: "1d",
  weekly: "1w",
  monthly: "1mo",
  quarterly: "1q",
  yearly: "1y",
  annual: "1y",
  annually: "1y",
  none: "never",
  forever: "never",
  lifetime: "never",
  prepaid: "never",
};

const EXPECTED =
  'expected "never" or a count and a unit: h (hours), d (days), w (weeks), mo or M (months), q (quarters), ' +
  "y or Y (years), e.g. 1d, 2w, 1mo";

const NEVER: NeverPeriod = { unit: "never", text: "never" };
const parsed = new Map<string, ParsedPeriod>();

export type PeriodParseResult = { ok: true; period: ParsedPeriod } | { ok: false; message: string };

/** Parses a budget period; never throws. */
export function tryParsePeriod(text: string): PeriodParseResult {
  const cached = parsed.get(text);
  if (cached) return { ok: true, period: cached };
  const problem = (why: string): PeriodParseResult => ({
    ok: false,
    message: `invalid budget period "${text}": ${why}`,
  });
  if (text === "never") return { ok: true, period: NEVER };
  const match = /^(\d+)([a-zA-Z]+)$/.exec(text);
  if (!match) {
    const word = WORDS[text.trim().toLowerCase()];
    if (word) return problem(`write "${word}"`);
    if (text.trim() !== text && tryParsePeriod(text.trim()).ok) return problem("remove the surrounding spaces");
    return problem(text === "" ? `it is empty; ${EXPECTED}` : EXPECTED);
  }
  const [, digits = "", unitText = ""] = match;
  const count = Number(digits);
  const unit = UNITS[unitText];
  if (!unit) {
    if (unitText === "m") return problem(`"m" means minutes, which is no budget period; write "${count}mo" for months`);
    if (unitText === "s") return problem("seconds are no budget period; the shortest is 1h");
    const lower = UNITS[unitText.toLowerCase()];
    if (lower) return problem(`units are case-sensitive; write "${count}${lower.canonical}"`);
    return problem(`unknown unit "${unitText}"; ${EXPECTED}`);
  }
  if (count < 1 || count > MAX_PERIOD_COUNT || digits.startsWith("0")) {
    return problem(`the count must be a whole number from 1 to ${MAX_PERIOD_COUNT} without leading zeros`);
  }
  const period: RecurringPeriod = { unit: unit.unit, count, text: `${count}${unit.canonical}` };
  if (parsed.size >= 1_000) parsed.clear();
  parsed.set(text, period);
  return { ok: true, period };
}

/** Parses a budget period; throws PeriodError with a message saying what to write instead. */
export function parsePeriod(text: string): ParsedPeriod {
  const result = tryParsePeriod(text);
  if (!result.ok) throw new PeriodError(result.message);
  return result.period;
}

/** Why this period cannot be calendar-aligned, or null when it can. */
export function calendarAlignmentProblem(period: ParsedPeriod): string | null {
  if (period.unit === "never") return null;
  const fits = (divides: number) => divides % period.count === 0;
  const refuse = (why: string) =>
    `"${period.text}" cannot be calendar-aligned: ${why}; use mode "rolling" for a window of that length`;
  switch (period.unit) {
    case "hour":
      return fits(24) ? null : refuse("calendar hours must divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h or 24h)");
    case "month":
      return fits(12) ? null : refuse("calendar months must divide a year (1mo, 2mo, 3mo, 4mo, 6mo or 12mo)");
    case "quarter":
      return fits(4) ? null : refuse("calendar quarters must divide a year (1q, 2q or 4q)");
    case "day":
    case "week":
    case "year":
      return period.count === 1 ? null : refuse(`calendar-aligned ${period.unit}s take a count of 1`);
    default: {
      const unreachable: never = period;
      return unreachable;
    }
  }
}
