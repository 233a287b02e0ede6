/**
 * The counter store: budget reservations, rate-limit windows and concurrency leases behind one interface, with an
 * in-process backend (memory-store.ts) and a shared one (redis-store.ts). Both pass test/counters/counter-cases.ts.
 *
 * Money is integer nano-dollars in JS numbers. Every amount, limit and delta must be a safe integer, and a
 * counter's committed + reserved must stay ≤ Number.MAX_SAFE_INTEGER (2^53 − 1 nano ≈ 9,007,199 USD per counter)
 * for the limit checks to be exact (Redis scripts compare in Lua doubles; Redis stores the values as int64).
 *
 * Counter keys are chosen by the caller and carry the budget period (`budget:key_123:1mo:2026-11`), so a new period
 * is a new counter. Time comes from the store's Clock for every operation (expiries, windows), never from the host
 * behind the caller's back, so tests move time without sleeping.
 */

/** One budget a reservation must fit. */
export interface BudgetItem {
  key: string;
  /** Nano-dollars to hold (≥ 0). A zero amount still enrols the counter in the reservation. */
  amount: number;
  /** The budget's limit in nano-dollars; pass Number.MAX_SAFE_INTEGER to count without a cap. */
  limit: number;
  /**
   * When the counter may be forgotten (ms since the epoch, store clock), e.g. the period's end plus a margin. The
   * latest expiry any call gives wins; a counter never given one never expires; one holding a live reservation
   * lives at least as long as the reservation.
   */
  expireAtMs?: number | undefined;
}

export interface ReserveRequest {
  /** Unique per reservation (e.g. the request id). */
  id: string;
  items: readonly BudgetItem[];
  /** The reservation disappears after this long unless renewed (a crashed process's holds free themselves). */
  ttlMs: number;
}

/** Which budget said no, and what it held at that moment. */
export interface LimitRefusal {
  ok: false;
  reason: "limit";
  key: string;
  /** Position of the refusing item in the request's items. */
  index: number;
  committed: number;
  reserved: number;
  limit: number;
  /** The amount (reserve) or delta (adjust) that did not fit. */
  requested: number;
}

/** `degraded` is set only by a fail-open Redis store answering while Redis is unreachable. */
export interface Admitted {
  ok: true;
  degraded?: true;
}

/**
 * `headroom`: the least any item's budget has left after this hold (limit − committed − reserved, this hold
 * included), so a caller can size what it asks for next (lower max_tokens) without another round trip. Absent
 * only on a degraded (fail-open) answer.
 */
export type ReserveResult = (Admitted & { headroom?: number }) | LimitRefusal | { ok: false; reason: "duplicate_id" };

export interface AdjustItem {
  key: string;
  /** Positive: top-up (must fit the limit). Negative: true-down (always succeeds; a hold never goes below 0). */
  delta: number;
  limit: number;
  expireAtMs?: number | undefined;
}

export interface AdjustOptions {
  /** Also renew the reservation to now + ttlMs, in the same atomic step. */
  ttlMs?: number | undefined;
}

export type AdjustResult = Admitted | LimitRefusal | { ok: false; reason: "unknown_reservation" };

export interface SettleItem {
  key: string;
  /** Actual cost in nano-dollars (≥ 0); added to committed spend even above the limit: the money is spent. */
  amount: number;
  expireAtMs?: number | undefined;
}

export interface SettleResult {
  /** Whether the reservation was still live (false: unknown, already settled, or expired). */
  found: boolean;
  degraded?: true;
}

export interface RenewResult {
  ok: boolean;
  degraded?: true;
}

export interface CounterValue {
  committed: number;
  /** Sum of the live reservations' holds. */
  reserved: number;
}

export interface SeedItem {
  key: string;
  /** The committed spend to set (from the database); live reservations are kept. */
  committed: number;
  expireAtMs?: number | undefined;
}

export interface SeedOptions {
  /** Also mark the store as seeded (see isSeeded), in the same step. */
  markSeeded?: boolean | undefined;
  /**
   * Only set counters that do not exist: a counter with committed spend (booked or seeded, even 0) or a live
   * reservation is left as it is. For shared counters, which outrun the request log they are rebuilt from.
   */
  onlyIfAbsent?: boolean | undefined;
}

/** One rate limit a hit must fit: at most `limit` units in any sliding window of `windowMs`. */
export interface RateItem {
  key: string;
  limit: number;
  windowMs: number;
  /** Units this hit uses (requests: 1, tokens: the estimate). Default 1. */
  cost?: number | undefined;
}

export interface HitOptions {
  /**
   * Record the cost without checking (e.g. actual tokens once the response is known): always `ok`, may take the
   * window above its limit (later hits wait), and may be negative (a refund, booked in the current bucket).
   */
  force?: boolean | undefined;
}

export type HitResult =
  | Admitted
  | {
      ok: false;
      key: string;
      index: number;
      /** Units counted in the window for that key, this hit excluded. */
      current: number;
      limit: number;
      /** When this hit would fit, assuming nothing else arrives; windowMs when it never can (cost > limit). */
      retryAfterMs: number;
    };

/** A rate window by its key and length. */
export interface RateWindowRef {
  key: string;
  windowMs: number;
}

export type LeaseResult = Admitted | { ok: false; reason: "full"; active: number };

export interface CounterStore {
  /** True when other gateway processes share these counters (Redis): they, not one process's log, are the truth. */
  readonly shared: boolean;
  /**
   * Holds `amount` on every item atomically: succeeds only if committed + reserved + amount ≤ limit for every
   * item; otherwise changes nothing and names the first item that did not fit.
   */
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /** True-up / top-up a live reservation atomically (all items or none). Items may enrol new counters. */
  adjust(id: string, items: readonly AdjustItem[], options?: AdjustOptions): Promise<AdjustResult>;
  /**
   * Settles: drops the reservation (on all its counters) and adds each item's actual amount to committed spend.
   * Always applies the amounts, even when the reservation is gone. Not idempotent: call once per request.
   */
  commit(id: string, items: readonly SettleItem[]): Promise<SettleResult>;
  /** Drops a reservation without cost. */
  release(id: string): Promise<SettleResult>;
  /** Moves a live reservation's expiry to now + ttlMs. */
  renew(id: string, ttlMs: number): Promise<RenewResult>;
  /** Current values, in the order of `keys` (unknown or expired counters read as zero). */
  get(keys: readonly string[]): Promise<CounterValue[]>;
  /** Sets committed spend (rebuilding from the database); reservations in flight are kept. See onlyIfAbsent. */
  seed(items: readonly SeedItem[], options?: SeedOptions): Promise<void>;
  /** False until seed(…, { markSeeded: true }); a Redis that lost its data reads false again. */
  isSeeded(): Promise<boolean>;
  /** Rate limits, all items or none (a refused hit counts nowhere). */
  hit(items: readonly RateItem[], options?: HitOptions): Promise<HitResult>;
  /**
   * Units counted now in each rate window (`windowMs` as the window was hit with; 0 when unknown or hit with another
   * length). Read-only: for figures such as routing rules' `tokens_used`.
   */
  windowTotals(windows: readonly RateWindowRef[]): Promise<number[]>;
  /** Takes one of `max` concurrent slots under `key`; acquiring a lease id already held renews it. */
  acquire(key: string, max: number, leaseId: string, ttlMs: number): Promise<LeaseResult>;
  renewLease(key: string, leaseId: string, ttlMs: number): Promise<RenewResult>;
  releaseLease(key: string, leaseId: string): Promise<SettleResult>;
  close(): Promise<void>;
  /**
   * The same operations answered at once, by a store that does its work synchronously (in process). The gates use
   * them on every request: no promise, no await turn, no suspended function per counter call. Absent for Redis.
   * They throw where the promise API rejects.
   */
  readonly immediate?: ImmediateCounterOps;
}

/** The per-request subset of CounterStore, synchronous (see CounterStore.immediate). */
export interface ImmediateCounterOps {
  reserve(request: ReserveRequest): ReserveResult;
  commit(id: string, items: readonly SettleItem[]): SettleResult;
  release(id: string): SettleResult;
  hit(items: readonly RateItem[], options?: HitOptions): HitResult;
  acquire(key: string, max: number, leaseId: string, ttlMs: number): LeaseResult;
  releaseLease(key: string, leaseId: string): SettleResult;
}
