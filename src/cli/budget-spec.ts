import { InvalidArgumentError } from "commander";
import { calendarAlignmentProblem, tryParsePeriod } from "../governance/time/period-syntax.ts";

/**
 * The CLI's short spellings of budgets and rate limits.
 *
 * Budget: `AMOUNT/PERIOD[:MODE]` — `50/month`, `$12.50/1mo`, `5/day`, `200/never`, `20/2w:rolling`.
 *   AMOUNT: USD, at most 9 decimals, an optional leading `$`.
 *   PERIOD: `hour`, `day`, `week`, `month`, `quarter`, `year`, `never`, or the gateway's period syntax (`6h`, `1d`,
 *   `1w`, `1mo`, `3mo`, `1q`, `1y`).
 *   MODE: `calendar` (the default: windows start on the clock, e.g. the 1st of the month) or `rolling` (windows of
 *   the period's length from the moment the budget is created — needed for periods such as `2w` or `5h`).
 *
 * Rate limit: `60rpm`, `10rps`, `1000rph`, `5000rpd` (requests per second/minute/hour/day), `100000tpm`, `tps`,
 * `tph`, `tpd` (tokens), `5concurrent` (requests in flight), or `N req/WINDOW` / `N tok/WINDOW` for any window
 * (`500req/10s`, `2Mtok/1d`). Counts may end in `k` (thousand) or `M` (million).
 */

export class SpecError extends Error {
  override name = "SpecError";
}

export type BudgetMode = "calendar" | "rolling";

export interface BudgetSpec {
  /** Decimal USD text as the API takes it (`"12.5"`). */
  limitUsd: string;
  /** Canonical period (`1mo`, `1d`, `never`). */
  period: string;
  mode: BudgetMode;
}

const PERIOD_WORDS: Readonly<Record<string, string>> = {
  hour: "1h",
  hourly: "1h",
  day: "1d",
  daily: "1d",
  week: "1w",
  weekly: "1w",
  month: "1mo",
  monthly: "1mo",
  quarter: "1q",
  quarterly: "1q",
  year: "1y",
  yearly: "1y",
  never: "never",
  total: "never",
};

const AMOUNT = /^\$?(\d+)(?:\.(\d{1,9}))?$/;

const BUDGET_HELP =
  "expected AMOUNT/PERIOD such as 50/month, 50/1mo, 5/day or 200/never (optionally :rolling, e.g. 20/2w:rolling)";

export function parseBudgetSpec(text: string): BudgetSpec {
  const spec = text.trim();
  const slash = spec.indexOf("/");
  if (slash < 0) throw new SpecError(`invalid budget "${text}": ${BUDGET_HELP}`);
  const amountText = spec.slice(0, slash).trim();
  let periodText = spec.slice(slash + 1).trim();
  let mode: BudgetMode = "calendar";
  const colon = periodText.indexOf(":");
  if (colon >= 0) {
    const modeText = periodText
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    if (modeText !== "calendar" && modeText !== "rolling")
      throw new SpecError(`invalid budget "${text}": the mode after ":" is "calendar" or "rolling"`);
    mode = modeText;
    periodText = periodText.slice(0, colon).trim();
  }

  const amount = AMOUNT.exec(amountText);
  if (!amount) {
    throw new SpecError(
      `invalid budget "${text}": "${amountText}" is not a USD amount (a non-negative number with at most 9 decimals)`,
    );
  }
  const whole = (amount[1] ?? "0").replace(/^0+(?=\d)/, "");
  const fraction = (amount[2] ?? "").replace(/0+$/, "");
  // The API's limit is a safe integer of nano-dollars.
  if (BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, "0")) > BigInt(Number.MAX_SAFE_INTEGER))
    throw new SpecError(`invalid budget "${text}": the amount must be below 9,007,199 USD`);
  const limitUsd = fraction ? `${whole}.${fraction}` : whole;

  const word = PERIOD_WORDS[periodText.toLowerCase()];
  const parsed = tryParsePeriod(word ?? periodText);
  if (!parsed.ok) throw new SpecError(`invalid budget "${text}": ${parsed.message.replace(/^invalid budget /, "")}`);
  if (mode === "calendar") {
    const problem = calendarAlignmentProblem(parsed.period);
    if (problem)
      throw new SpecError(`invalid budget "${text}": ${problem} (write "${amountText}/${periodText}:rolling")`);
  }
  return { limitUsd, period: parsed.period.text, mode };
}

/** One rate limit as the API takes it (a key's `rateLimits` entry or a `/api/rate-limits` body without scope). */
export interface RateSpec {
  window?: string;
  maxRequests?: number;
  maxTokens?: number;
  maxConcurrent?: number;
}

const RATE_WINDOWS: Readonly<Record<string, string>> = { s: "1s", m: "1m", h: "1h", d: "1d" };
const MULTIPLIERS: Readonly<Record<string, number>> = { "": 1, k: 1_000, K: 1_000, M: 1_000_000 };
const SHORT_RATE = /^(\d+)(k|K|M)?\s*(r|t)p(s|m|h|d)$/;
const LONG_RATE = /^(\d+)(k|K|M)?\s*(req|requests|tok|tokens)\s*\/\s*(\d+)(s|m|h|d)$/;
const CONCURRENT = /^(\d+)(k|K)?\s*(concurrent|conc)$/;
const MAX_WINDOW_COUNT = 1000;
const MAX_CONCURRENT = 1_000_000;

const RATE_HELP =
  "expected e.g. 60rpm, 100000tpm, 5concurrent, 500req/10s or 2Mtok/1d " +
  "(r = requests, t = tokens; per s, m, h or d)";

function count(text: string, digits: string, suffix: string | undefined): number {
  const n = Number(digits) * (MULTIPLIERS[suffix ?? ""] ?? 1);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new SpecError(`invalid rate limit "${text}": the count must be at least 1`);
  return n;
}

export function parseRateSpec(text: string): RateSpec {
  const spec = text.trim();
  const short = SHORT_RATE.exec(spec);
  if (short) {
    const n = count(text, short[1] ?? "", short[2]);
    const window = RATE_WINDOWS[short[4] ?? ""] ?? "1m";
    return short[3] === "r" ? { window, maxRequests: n } : { window, maxTokens: n };
  }
  const long = LONG_RATE.exec(spec);
  if (long) {
    const n = count(text, long[1] ?? "", long[2]);
    const windowCount = Number(long[4]);
    if (windowCount < 1 || windowCount > MAX_WINDOW_COUNT || (long[4] ?? "").startsWith("0"))
      throw new SpecError(`invalid rate limit "${text}": the window is 1 to ${MAX_WINDOW_COUNT} s, m, h or d`);
    const window = `${windowCount}${long[5]}`;
    return long[3]?.startsWith("req") ? { window, maxRequests: n } : { window, maxTokens: n };
  }
  const concurrent = CONCURRENT.exec(spec);
  if (concurrent) {
    const n = count(text, concurrent[1] ?? "", concurrent[2]);
    if (n > MAX_CONCURRENT) throw new SpecError(`invalid rate limit "${text}": at most ${MAX_CONCURRENT} concurrent`);
    return { maxConcurrent: n };
  }
  throw new SpecError(`invalid rate limit "${text}": ${RATE_HELP}`);
}

/** `30d`, `12h`, `90m`, `2w`, `45s` → milliseconds; null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!match) return null;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as "s"];
  return Number(match[1]) * unit;
}

/**
 * A point in time given as a duration before now (`7d`), an ISO 8601 date or date-time (`2026-05-01`), or epoch
 * milliseconds; → epoch ms.
 */
export function parseTimeAgo(text: string, now: number): number {
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  if (/^\d{10,}$/.test(text.trim())) return Number(text.trim());
  const at = Date.parse(text);
  if (Number.isFinite(at) && /^\d{4}-\d{2}-\d{2}/.test(text.trim())) return at;
  throw new SpecError(`invalid time "${text}": expected a duration such as 7d, 12h, 30m, or a date such as 2026-05-01`);
}

/** For repeatable options: `--budget a --budget b` → ["a", "b"]. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `team=payments`, `env=ci` → { team: "payments", env: "ci" }. */
export function parseLabels(specs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new SpecError(`invalid label "${spec}": expected NAME=VALUE, e.g. env=ci`);
    labels[spec.slice(0, eq).trim()] = spec.slice(eq + 1).trim();
  }
  return labels;
}

/** `a,b, c` → ["a", "b", "c"]; `none` or an empty text → null (no restriction). */
export function parseList(text: string): string[] | null {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return items.length === 0 || (items.length === 1 && items[0] === "none") ? null : items;
}

/** An option value that must be a whole number ≥ 1 (commander reports the error as a usage error). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of at least 1.`);
  return n;
}
