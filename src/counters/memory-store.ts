import { type Clock, systemClock } from "../clock.ts";
import type {
  AdjustItem,
  AdjustOptions,
  AdjustResult,
  Admitted,
  BudgetItem,
  CounterStore,
  CounterValue,
  HitOptions,
  HitResult,
  ImmediateCounterOps,
  LeaseResult,
  LimitRefusal,
  RateItem,
  RateWindowRef,
  RenewResult,
  ReserveRequest,
  ReserveResult,
  SeedItem,
  SeedOptions,
  SettleItem,
  SettleResult,
} from "./counter-store.ts";
import { type Expiring, ExpiryHeap } from "./expiry-heap.ts";
import { IdTable } from "./id-table.ts";
import { DEFAULT_BUCKETS_PER_WINDOW, SlidingWindow } from "./sliding-window.ts";
import {
  checkName,
  checkNonNegative,
  checkPositive,
  validateAdjustItems,
  validateBudgetItems,
  validateRateItems,
  validateSeedItems,
  validateSettleItems,
} from "./validate.ts";

export interface MemoryCounterStoreOptions {
  clock?: Clock;
  /** Buckets per rate-limit window (precision: a unit is forgotten at most windowMs / buckets late). */
  bucketsPerWindow?: number;
  /** Clock time between sweeps that forget expired counters, stale windows and dead leases. */
  sweepIntervalMs?: number;
}

/** `expireAtMs` is Infinity for a counter that was never given an expiry. */
interface Counter {
  committed: number;
  reserved: number;
  expireAtMs: number;
  /** Committed spend was booked or seeded (even 0): the counter exists for seed's onlyIfAbsent. */
  booked: boolean;
  /** Live reservations holding this counter (zero-amount holds included). */
  holds: number;
}

interface Reservation extends Expiring {
  readonly id: string;
  /** Its slot in the reservations table (IdTable.add). */
  slot: number;
  readonly keys: string[];
  readonly counters: Counter[];
  readonly amounts: number[];
}

// Shared answers and settled promises: the common answers allocate nothing on the hot path.
const ADMITTED: Admitted = Object.freeze({ ok: true as const });
const ADMITTED_P = Promise.resolve(ADMITTED);
const DUPLICATE: ReserveResult = Object.freeze({ ok: false as const, reason: "duplicate_id" as const });
const FOUND: SettleResult = Object.freeze({ found: true });
const NOT_FOUND: SettleResult = Object.freeze({ found: false });
const UNKNOWN_P: Promise<AdjustResult> = Promise.resolve(
  Object.freeze({ ok: false as const, reason: "unknown_reservation" as const }),
);
const FOUND_P: Promise<SettleResult> = Promise.resolve(FOUND);
const NOT_FOUND_P: Promise<SettleResult> = Promise.resolve(NOT_FOUND);
const RENEWED_P: Promise<RenewResult> = Promise.resolve(Object.freeze({ ok: true }));
const NOT_RENEWED_P: Promise<RenewResult> = Promise.resolve(Object.freeze({ ok: false }));
const VOID_P: Promise<void> = Promise.resolve();

/** Entries examined per operation while a sweep is in progress (bounds the pause any one request sees). */
const SWEEP_BATCH = 256;

/** Expiry only grows (max of what callers give); a counter holding a live reservation outlives it. */
function extendExpiry(counter: Counter, expireAtMs: number | undefined, floorMs: number): void {
  if (
    expireAtMs !== undefined &&
    (counter.expireAtMs === Number.POSITIVE_INFINITY || expireAtMs > counter.expireAtMs)
  ) {
    counter.expireAtMs = expireAtMs;
  }
  if (counter.expireAtMs !== Number.POSITIVE_INFINITY && floorMs > counter.expireAtMs) counter.expireAtMs = floorMs;
}

function refusal(
  item: BudgetItem | AdjustItem,
  index: number,
  counter: Counter | undefined,
  requested: number,
): LimitRefusal {
  return {
    ok: false,
    reason: "limit",
    key: item.key,
    index,
    committed: counter === undefined ? 0 : counter.committed,
    reserved: counter === undefined ? 0 : counter.reserved,
    limit: item.limit,
    requested,
  };
}

/**
 * Counters in this process: one gateway process, no sharing. Every operation is synchronous inside (the promise
 * only satisfies the shared interface; `immediate` skips it), so a JS turn is the atomic unit: no interleaving can
 * split a check from its write. Expired reservations are dropped through an expiry heap on every call; old counters, windows and
 * leases are forgotten by an incremental sweep.
 */
export class MemoryCounterStore implements CounterStore {
  readonly shared = false;
  readonly #clock: Clock;
  readonly #buckets: number;
  readonly #sweepIntervalMs: number;
  readonly #counters = new Map<string, Counter>();
  /** Not a Map of reservations: see id-table.ts (a Map under churn gets every reservation promoted). */
  readonly #reservations = new IdTable<Reservation>();
  readonly #heap = new ExpiryHeap<Reservation>();
  readonly #windows = new Map<string, SlidingWindow>();
  readonly #leases = new Map<string, Map<string, number>>();
  readonly #hitWindows: SlidingWindow[] = [];
  readonly #hitBuckets: number[] = [];
  /** #reserve's scratch: the counters its check found, by item. */
  readonly #found: (Counter | undefined)[] = [];
  #seeded = false;
  #nextSweepAtMs: number;
  #sweep: Iterator<void> | undefined;

  constructor(options: MemoryCounterStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#buckets = options.bucketsPerWindow ?? DEFAULT_BUCKETS_PER_WINDOW;
    checkPositive(this.#buckets, "bucketsPerWindow");
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.#nextSweepAtMs = this.#clock.now() + this.#sweepIntervalMs;
  }

  readonly immediate: ImmediateCounterOps = {
    reserve: (request) => this.#reserve(request),
    commit: (id, items) => this.#commit(id, items),
    release: (id) => this.#release(id),
    hit: (items, options) => this.#hit(items, options?.force === true),
    acquire: (key, max, leaseId, ttlMs) => this.#acquire(key, max, leaseId, ttlMs),
    releaseLease: (key, leaseId) => this.#releaseLease(key, leaseId),
  };

  reserve(request: ReserveRequest): Promise<ReserveResult> {
    try {
      return Promise.resolve(this.#reserve(request));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  adjust(id: string, items: readonly AdjustItem[], options?: AdjustOptions): Promise<AdjustResult> {
    try {
      return this.#adjust(id, items, options?.ttlMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  commit(id: string, items: readonly SettleItem[]): Promise<SettleResult> {
    try {
      return this.#commit(id, items) === FOUND ? FOUND_P : NOT_FOUND_P;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  release(id: string): Promise<SettleResult> {
    try {
      return this.#release(id) === FOUND ? FOUND_P : NOT_FOUND_P;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  renew(id: string, ttlMs: number): Promise<RenewResult> {
    try {
      checkName(id, "id");
      checkPositive(ttlMs, "ttlMs");
      const now = this.#now();
      const reservation = this.#reservations.get(id);
      if (reservation === undefined) return NOT_RENEWED_P;
      this.#moveExpiry(reservation, now + ttlMs);
      return RENEWED_P;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  get(keys: readonly string[]): Promise<CounterValue[]> {
    try {
      const now = this.#now();
      const values: CounterValue[] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        checkName(key, `keys[${i}]`);
        const counter = this.#live(key, now);
        values[i] =
          counter === undefined
            ? { committed: 0, reserved: 0 }
            : { committed: counter.committed, reserved: counter.reserved };
      }
      return Promise.resolve(values);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  seed(items: readonly SeedItem[], options?: SeedOptions): Promise<void> {
    try {
      validateSeedItems(items);
      const now = this.#now();
      const onlyIfAbsent = options?.onlyIfAbsent === true;
      for (const item of items) {
        const counter = this.#counterFor(item.key, now);
        if (onlyIfAbsent && (counter.booked || counter.holds > 0)) continue;
        counter.committed = item.committed;
        counter.booked = true;
        extendExpiry(counter, item.expireAtMs, Number.NEGATIVE_INFINITY);
      }
      if (options?.markSeeded === true) this.#seeded = true;
      return VOID_P;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  isSeeded(): Promise<boolean> {
    return Promise.resolve(this.#seeded);
  }

  hit(items: readonly RateItem[], options?: HitOptions): Promise<HitResult> {
    try {
      const result = this.#hit(items, options?.force === true);
      return result === ADMITTED ? ADMITTED_P : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  windowTotals(windows: readonly RateWindowRef[]): Promise<number[]> {
    try {
      const now = this.#now();
      return Promise.resolve(
        windows.map(({ key, windowMs }) => {
          checkName(key, "key");
          const window = this.#windows.get(key);
          if (window === undefined || window.windowMs !== windowMs) return 0;
          window.slide(now);
          return window.total;
        }),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  acquire(key: string, max: number, leaseId: string, ttlMs: number): Promise<LeaseResult> {
    try {
      const result = this.#acquire(key, max, leaseId, ttlMs);
      return result === ADMITTED ? ADMITTED_P : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  renewLease(key: string, leaseId: string, ttlMs: number): Promise<RenewResult> {
    try {
      checkName(key, "key");
      checkName(leaseId, "leaseId");
      checkPositive(ttlMs, "ttlMs");
      const now = this.#now();
      const leases = this.#leases.get(key);
      const held = leases?.get(leaseId);
      if (leases === undefined || held === undefined) return NOT_RENEWED_P;
      if (held <= now) {
        leases.delete(leaseId);
        return NOT_RENEWED_P;
      }
      leases.set(leaseId, now + ttlMs);
      return RENEWED_P;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  releaseLease(key: string, leaseId: string): Promise<SettleResult> {
    try {
      return this.#releaseLease(key, leaseId) === FOUND ? FOUND_P : NOT_FOUND_P;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    return VOID_P;
  }

  /** Committed spend of every live counter, for persisting the in-process store (restore with seed()). */
  snapshot(): SeedItem[] {
    const now = this.#now();
    const items: SeedItem[] = [];
    for (const [key, counter] of this.#counters) {
      if (counter.expireAtMs <= now && counter.reserved === 0) continue;
      items.push({
        key,
        committed: counter.committed,
        expireAtMs: counter.expireAtMs === Number.POSITIVE_INFINITY ? undefined : counter.expireAtMs,
      });
    }
    return items;
  }

  /** A budget counter's value now, synchronously (routing rules read it per request); undefined when unknown. */
  peek(key: string): CounterValue | undefined {
    const counter = this.#live(key, this.#now());
    return counter === undefined ? undefined : { committed: counter.committed, reserved: counter.reserved };
  }

  /** Units in a rate window now, synchronously; undefined when the window is unknown. */
  peekWindow(key: string): number | undefined {
    const window = this.#windows.get(key);
    if (window === undefined) return undefined;
    window.slide(this.#clock.now());
    return window.total;
  }

  /** Entries held (counters, reservations, rate windows, lease sets): lets tests see that old state is forgotten. */
  get sizes(): { counters: number; reservations: number; windows: number; leaseSets: number } {
    return {
      counters: this.#counters.size,
      reservations: this.#reservations.size,
      windows: this.#windows.size,
      leaseSets: this.#leases.size,
    };
  }

  #commit(id: string, items: readonly SettleItem[]): SettleResult {
    checkName(id, "id");
    validateSettleItems(items);
    const now = this.#now();
    const reservation = this.#reservations.get(id);
    if (reservation !== undefined) this.#drop(reservation);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as SettleItem;
      const counter = this.#counterFor(item.key, now);
      counter.committed += item.amount;
      counter.booked = true;
      extendExpiry(counter, item.expireAtMs, Number.NEGATIVE_INFINITY);
    }
    return reservation === undefined ? NOT_FOUND : FOUND;
  }

  #release(id: string): SettleResult {
    checkName(id, "id");
    this.#now();
    const reservation = this.#reservations.get(id);
    if (reservation === undefined) return NOT_FOUND;
    this.#drop(reservation);
    return FOUND;
  }

  #acquire(key: string, max: number, leaseId: string, ttlMs: number): LeaseResult {
    checkName(key, "key");
    checkNonNegative(max, "max");
    checkName(leaseId, "leaseId");
    checkPositive(ttlMs, "ttlMs");
    const now = this.#now();
    let leases = this.#leases.get(key);
    if (leases === undefined) {
      leases = new Map();
      this.#leases.set(key, leases);
    }
    const held = leases.get(leaseId);
    if (held !== undefined && held > now) {
      leases.set(leaseId, now + ttlMs);
      return ADMITTED;
    }
    if (held !== undefined) leases.delete(leaseId);
    // Dead leases are only looked for when they could matter: at the cap.
    if (leases.size >= max) {
      for (const [id, expiresAtMs] of leases) if (expiresAtMs <= now) leases.delete(id);
      if (leases.size >= max) return { ok: false, reason: "full", active: leases.size };
    }
    leases.set(leaseId, now + ttlMs);
    return ADMITTED;
  }

  #releaseLease(key: string, leaseId: string): SettleResult {
    checkName(key, "key");
    checkName(leaseId, "leaseId");
    const now = this.#now();
    const leases = this.#leases.get(key);
    const held = leases?.get(leaseId);
    if (leases === undefined || held === undefined) return NOT_FOUND;
    leases.delete(leaseId);
    return held > now ? FOUND : NOT_FOUND;
  }

  #reserve(request: ReserveRequest): ReserveResult {
    checkName(request.id, "id");
    checkPositive(request.ttlMs, "ttlMs");
    const items = request.items;
    validateBudgetItems(items);
    const now = this.#now();
    if (this.#reservations.has(request.id)) return DUPLICATE;
    let headroom = Number.MAX_SAFE_INTEGER;
    // The counters looked up for the check are the ones charged below (one lookup per key, not two).
    const found = this.#found;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as BudgetItem;
      const counter = this.#live(item.key, now);
      const used = counter === undefined ? 0 : counter.committed + counter.reserved;
      if (used + item.amount > item.limit) {
        found.length = 0;
        return refusal(item, i, counter, item.amount);
      }
      headroom = Math.min(headroom, item.limit - used - item.amount);
      found[i] = counter;
    }
    const expiresAtMs = now + request.ttlMs;
    const reservation: Reservation = {
      id: request.id,
      slot: -1,
      expiresAtMs,
      heapIndex: -1,
      keys: new Array(items.length),
      counters: new Array(items.length),
      amounts: new Array(items.length),
    };
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as BudgetItem;
      const counter = found[i] ?? this.#counterFor(item.key, now);
      counter.reserved += item.amount;
      counter.holds++;
      extendExpiry(counter, item.expireAtMs, expiresAtMs);
      reservation.keys[i] = item.key;
      reservation.counters[i] = counter;
      reservation.amounts[i] = item.amount;
    }
    found.length = 0;
    reservation.slot = this.#reservations.add(request.id, reservation);
    this.#heap.push(reservation);
    return { ok: true, headroom };
  }

  #adjust(id: string, items: readonly AdjustItem[], ttlMs: number | undefined): Promise<AdjustResult> {
    checkName(id, "id");
    validateAdjustItems(items);
    if (ttlMs !== undefined) checkPositive(ttlMs, "ttlMs");
    const now = this.#now();
    const reservation = this.#reservations.get(id);
    if (reservation === undefined) return UNKNOWN_P;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as AdjustItem;
      if (item.delta <= 0) continue;
      const counter = this.#live(item.key, now);
      const used = counter === undefined ? 0 : counter.committed + counter.reserved;
      if (used + item.delta > item.limit) return Promise.resolve(refusal(item, i, counter, item.delta));
    }
    const expiresAtMs = ttlMs === undefined ? reservation.expiresAtMs : now + ttlMs;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as AdjustItem;
      let slot = reservation.keys.indexOf(item.key);
      if (slot < 0) {
        slot = reservation.keys.length;
        const counter = this.#counterFor(item.key, now);
        counter.holds++;
        reservation.keys.push(item.key);
        reservation.counters.push(counter);
        reservation.amounts.push(0);
      }
      const counter = reservation.counters[slot] as Counter;
      const held = reservation.amounts[slot] as number;
      const next = Math.max(0, held + item.delta);
      counter.reserved += next - held;
      reservation.amounts[slot] = next;
      extendExpiry(counter, item.expireAtMs, expiresAtMs);
    }
    if (ttlMs !== undefined) this.#moveExpiry(reservation, expiresAtMs);
    return ADMITTED_P;
  }

  #hit(items: readonly RateItem[], force: boolean): HitResult {
    validateRateItems(items, force);
    const now = this.#now();
    const windows = this.#hitWindows;
    const buckets = this.#hitBuckets;
    let worst = -1;
    let worstRetry = -1;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as RateItem;
      let window = this.#windows.get(item.key);
      if (window === undefined || window.windowMs !== item.windowMs) {
        window = new SlidingWindow(item.windowMs, this.#buckets, now);
        this.#windows.set(item.key, window);
      }
      windows[i] = window;
      buckets[i] = window.slide(now);
      const cost = item.cost ?? 1;
      if (!force && window.total + cost > item.limit) {
        const retry = window.retryAfterMs(now, cost, item.limit);
        if (retry > worstRetry) {
          worst = i;
          worstRetry = retry;
        }
      }
    }
    if (worst >= 0) {
      const item = items[worst] as RateItem;
      windows.length = 0;
      return {
        ok: false,
        key: item.key,
        index: worst,
        current: (this.#windows.get(item.key) as SlidingWindow).total,
        limit: item.limit,
        retryAfterMs: worstRetry,
      };
    }
    for (let i = 0; i < items.length; i++) {
      (windows[i] as SlidingWindow).add(buckets[i] as number, (items[i] as RateItem).cost ?? 1);
    }
    windows.length = 0;
    return ADMITTED;
  }

  /** The clock reading for one operation; drops expired reservations and advances the sweep first. */
  #now(): number {
    const now = this.#clock.now();
    for (let top = this.#heap.peek(); top !== undefined && top.expiresAtMs <= now; top = this.#heap.peek()) {
      this.#drop(top);
    }
    if (this.#sweep !== undefined || now >= this.#nextSweepAtMs) this.#sweepStep(now);
    return now;
  }

  #drop(reservation: Reservation): void {
    this.#heap.remove(reservation);
    this.#reservations.deleteAt(reservation.id, reservation.slot);
    for (let i = 0; i < reservation.counters.length; i++) {
      const counter = reservation.counters[i] as Counter;
      counter.reserved -= reservation.amounts[i] as number;
      counter.holds--;
    }
  }

  #moveExpiry(reservation: Reservation, expiresAtMs: number): void {
    reservation.expiresAtMs = expiresAtMs;
    this.#heap.update(reservation);
    for (const counter of reservation.counters) extendExpiry(counter, undefined, expiresAtMs);
  }

  /** The counter if it exists and has not expired (an expired one is forgotten here). */
  #live(key: string, now: number): Counter | undefined {
    const counter = this.#counters.get(key);
    if (counter !== undefined && counter.expireAtMs <= now && counter.reserved === 0) {
      this.#counters.delete(key);
      return undefined;
    }
    return counter;
  }

  #counterFor(key: string, now: number): Counter {
    let counter = this.#live(key, now);
    if (counter === undefined) {
      counter = { committed: 0, reserved: 0, expireAtMs: Number.POSITIVE_INFINITY, booked: false, holds: 0 };
      this.#counters.set(key, counter);
    }
    return counter;
  }

  #sweepStep(now: number): void {
    this.#sweep ??= this.#sweepAll(now);
    for (let i = 0; i < SWEEP_BATCH; i++) {
      if (this.#sweep.next().done === true) {
        this.#sweep = undefined;
        this.#nextSweepAtMs = now + this.#sweepIntervalMs;
        return;
      }
    }
  }

  /** One pass over all state, yielding per entry so the work spreads over many operations. */
  *#sweepAll(now: number): Generator<void> {
    for (const [key, counter] of this.#counters) {
      if (counter.expireAtMs <= now && counter.reserved === 0) this.#counters.delete(key);
      yield;
    }
    for (const [key, window] of this.#windows) {
      if (window.isStale(now)) this.#windows.delete(key);
      yield;
    }
    for (const [key, leases] of this.#leases) {
      for (const [id, expiresAtMs] of leases) if (expiresAtMs <= now) leases.delete(id);
      if (leases.size === 0) this.#leases.delete(key);
      yield;
    }
  }
}
