import type { IncomingHttpHeaders } from "node:http";
import type { Clock } from "../clock.ts";

/**
 * The retry policy of one model call, as pure functions: how long a provider asks us to wait, how long to back off
 * otherwise, how much waiting a call may spend in total, and what a failed upstream attempt means for the next one.
 * Only failures before the response is committed to the client are retried; the pipeline decides that.
 */

/** How the attempt loop goes on after a failed upstream attempt. */
export type FailureAction =
  /** Same target again after a delay (a 429'd key cools down, so the retry may land on another key). */
  | "retry"
  /** Another key of the same provider at once (this key's credential was refused: flag it). */
  | "next-key"
  /** The next target of the fallback list (this provider cannot serve the request). */
  | "next-target"
  /** Answer the client with this outcome: it is the client's fault (or not a failure). */
  | "final";

export interface UpstreamOutcome {
  /** The upstream's HTTP status; null when no response arrived (connect error, reset, timeout). */
  status: number | null;
  /** The socket/undici error code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT …) or the gateway's TG_UPSTREAM_* code. */
  errorCode?: string;
}

// Transient network failures before the first byte: the same target will likely answer a moment later.
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "TG_UPSTREAM_UNREACHABLE",
  "TG_UPSTREAM_RESET",
  "TG_UPSTREAM_TIMEOUT",
]);

// The request itself is wrong: another attempt anywhere gets the same answer.
const CLIENT_FAULTS = new Set([400, 404, 413, 422]);

/** What a failed attempt means for the next one (see FailureAction). */
export function classifyUpstreamFailure(outcome: UpstreamOutcome): FailureAction {
  const { status } = outcome;
  if (status === null) {
    // Unknown errors (DNS name not found, TLS certificate, a bad response) do not heal in a second: fail over.
    return outcome.errorCode !== undefined && TRANSIENT_CODES.has(outcome.errorCode) ? "retry" : "next-target";
  }
  if (status < 400) return "final";
  if (status === 401 || status === 403) return "next-key";
  if (status === 429 || status === 408) return "retry";
  if (CLIENT_FAULTS.has(status)) return "final";
  if (status < 500) return "final";
  // 501/505: the provider does not implement this; retrying it cannot help, another provider might.
  if (status === 501 || status === 505) return "next-target";
  return "retry";
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const NUMBER = /^\s*-?\d+(?:\.\d+)?\s*$/;
// RFC 9110 §5.6.7: IMF-fixdate, plus the obsolete RFC 850 and asctime forms recipients must accept. Date.parse alone
// is far too lenient ("1" is the year 2001), so only these shapes reach it.
const HTTP_DATES = [
  /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

function parseHttpDate(text: string): number | null {
  const trimmed = text.trim();
  if (!HTTP_DATES.some((re) => re.test(trimmed))) return null;
  // asctime has no zone: it is GMT by definition.
  const ms = Date.parse(trimmed.endsWith("GMT") ? trimmed : `${trimmed} GMT`);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * How long the provider asks us to wait, in ms: `retry-after-ms` (OpenAI; more precise) first, else `retry-after`
 * as seconds or an HTTP date. Null when absent or unreadable; a negative or past value is 0.
 */
export function parseRetryAfter(headers: IncomingHttpHeaders, nowMs: number): number | null {
  const ms = headerText(headers["retry-after-ms"]);
  if (ms !== undefined && NUMBER.test(ms)) return Math.max(0, Math.ceil(Number(ms)));
  const value = headerText(headers["retry-after"]);
  if (value === undefined) return null;
  if (NUMBER.test(value)) return Math.max(0, Math.ceil(Number(value) * 1000));
  const at = parseHttpDate(value);
  return at === null ? null : Math.max(0, at - nowMs);
}

export interface BackoffOptions {
  /** The first attempt's ceiling (default 500 ms). */
  baseMs?: number;
  /** No delay beyond this (default 8 s). */
  maxMs?: number;
  /** The config's names for the same (GatewayConfig.routing.retries can be passed as it is); baseMs/maxMs win. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Exponential backoff with full jitter (uniform in [0, min(max, base·2^attempt))): retries of many clients that
 * failed together spread out instead of arriving together again. `attempt` counts from 0 (the first retry).
 */
export function backoffDelayMs(attempt: number, random: () => number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? opts.baseDelayMs ?? 500;
  const max = opts.maxMs ?? opts.maxDelayMs ?? 8000;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, Math.floor(attempt)));
  return Math.floor(random() * ceiling);
}

export const DEFAULT_RETRY_BUDGET_MS = 30_000;

/**
 * The total time one call may spend retrying (default 30 s), counted from its creation on a Clock. Delays waited
 * are also counted through `spend`, and the larger of the two is what is spent: in production the clock covers the
 * waits (and the attempts), while under a ManualClock that a sleep does not move, the waits still use the budget up.
 */
export class RetryBudget {
  readonly totalMs: number;
  readonly #clock: Clock;
  readonly #start: number;
  #waited = 0;

  /** `totalMs` undefined: the default 30 s. */
  constructor(totalMs: number | undefined, clock: Clock) {
    this.totalMs = totalMs ?? DEFAULT_RETRY_BUDGET_MS;
    this.#clock = clock;
    this.#start = clock.now();
  }

  get spent(): number {
    return Math.max(this.#clock.now() - this.#start, this.#waited, 0);
  }

  get remaining(): number {
    return Math.max(0, this.totalMs - this.spent);
  }

  /** Whether waiting `delayMs` now stays within the budget. */
  fits(delayMs: number): boolean {
    return delayMs <= this.remaining;
  }

  /** A delay about to be waited. */
  spend(delayMs: number): void {
    this.#waited += Math.max(0, delayMs);
  }
}

export interface RetryDelayInput {
  /** 0 for the first retry. */
  attempt: number;
  /** From parseRetryAfter; null when the provider named no time. */
  retryAfterMs: number | null;
  budget: RetryBudget;
  random: () => number;
  backoff?: BackoffOptions;
}

/**
 * How long to wait before retrying, or null to give up. A provider's `retry-after` is honoured as given; when it is
 * beyond the budget, give up (return the 429: the agent's own retry logic then waits, not a held connection).
 */
export function retryDelayMs(input: RetryDelayInput): number | null {
  const delay = input.retryAfterMs ?? backoffDelayMs(input.attempt, input.random, input.backoff);
  return input.budget.fits(delay) ? delay : null;
}
