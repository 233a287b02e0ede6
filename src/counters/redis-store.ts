import { Redis, type RedisOptions } from "ioredis";
import type { Clock } from "../clock.ts";
import type {
  AdjustItem,
  AdjustOptions,
  AdjustResult,
  Admitted,
  CounterStore,
  CounterValue,
  HitOptions,
  HitResult,
  LeaseResult,
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
import { CountersUnavailableError } from "./errors.ts";
import { COUNTER_SCRIPTS, type CounterScriptName, scriptSource } from "./redis-scripts.ts";
import { DEFAULT_BUCKETS_PER_WINDOW } from "./sliding-window.ts";
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

export type UnavailablePolicy = "fail-closed" | "fail-open";

export interface RedisCounterStoreOptions {
  /** redis://[user:password@]host:port[/db] or rediss://… */
  url: string;
  /** Prepended to every key; several deployments (or test files) can share one Redis. Default "tollgate:". */
  prefix?: string;
  /**
   * The time scripts use. Omitted: Redis TIME, one clock for every gateway process (host clock skew cannot bend
   * windows or expiries). Given: its reading is passed into each script (tests; or a trusted host clock).
   */
  clock?: Clock;
  /**
   * When Redis cannot be reached: "fail-closed" (default) rejects with CountersUnavailableError; "fail-open"
   * admits (`degraded: true`) and drops settlements — spend is still in the request log, and rebuilt with seed().
   * Reads (get, isSeeded) and seed() always reject.
   */
  onUnavailable?: UnavailablePolicy;
  /** Told about every unavailability (including background connection errors). */
  onError?: (error: CountersUnavailableError) => void;
  bucketsPerWindow?: number;
  /** A command without an answer after this long counts as unavailable. Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Extra ioredis options (override the defaults above). */
  redisOptions?: RedisOptions;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
type ScriptClient = Record<CounterScriptName, ScriptFn>;

/** Redis answers that mean "not now" rather than "your script is wrong". */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|BUSY|OOM|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|MISCONF|NOREPLICAS)\b/;

/** Connection trouble, timeouts and transient server states; not script or argument errors (those are bugs). */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "ReplyError") return UNAVAILABLE_REPLY.test(error.message);
  return true;
}

const DEGRADED_OK: Admitted = Object.freeze({ ok: true as const, degraded: true as const });
const DEGRADED_SETTLE: SettleResult = Object.freeze({ found: false, degraded: true as const });
const DEGRADED_RENEW: RenewResult = Object.freeze({ ok: true, degraded: true as const });
const ADMITTED: Admitted = Object.freeze({ ok: true as const });

function optionalTime(value: number | undefined): number | string {
  return value === undefined ? "" : value;
}

/** Script replies: arrays of small integers (status, index) and decimal strings (money, counts). */
function replyArray(reply: unknown, operation: string): (number | string)[] {
  if (!Array.isArray(reply)) throw new TypeError(`counters: unexpected ${operation} reply ${String(reply)}`);
  return reply as (number | string)[];
}

/**
 * Counters shared by any number of gateway processes through Redis. Every operation is one EVALSHA of a Lua script
 * (redis-scripts.ts), so each is atomic across processes. The offline queue is off and commands time out, so an
 * unreachable Redis answers at once (per the fail-open / fail-closed policy) instead of stalling requests.
 */
export class RedisCounterStore implements CounterStore {
  readonly shared = true;
  readonly prefix: string;
  readonly #client: Redis;
  readonly #scripts: ScriptClient;
  readonly #clock: Clock | undefined;
  readonly #policy: UnavailablePolicy;
  readonly #onError: ((error: CountersUnavailableError) => void) | undefined;
  readonly #buckets: number;

  constructor(options: RedisCounterStoreOptions) {
    this.prefix = options.prefix ?? "tollgate:";
    this.#clock = options.clock;
    this.#policy = options.onUnavailable ?? "fail-closed";
    this.#onError = options.onError;
    this.#buckets = options.bucketsPerWindow ?? DEFAULT_BUCKETS_PER_WINDOW;
    checkPositive(this.#buckets, "bucketsPerWindow");
    this.#client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      // A script whose reply was lost with the connection may already have run: never send it again (a commit
      // would book twice). It fails as unavailable instead: at most once.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
      // ioredis arms this timer on disconnect even for a socket that already closed (refused), holding the
      // process open that long at shutdown while Redis is down; its default is 2 s.
      disconnectTimeout: 200,
      ...options.redisOptions,
    });
    // Without a listener ioredis prints every reconnect failure; route them to the caller instead.
    this.#client.on("error", (error: unknown) => {
      this.#onError?.(new CountersUnavailableError("connection", error));
    });
    for (const name of Object.keys(COUNTER_SCRIPTS) as CounterScriptName[]) {
      this.#client.defineCommand(name, { lua: scriptSource(name) });
    }
    this.#scripts = this.#client as unknown as ScriptClient;
  }

  /** Opens the connection; rejects with CountersUnavailableError when Redis does not answer (it keeps retrying). */
  async connect(): Promise<void> {
    if (this.#client.status === "ready") return;
    try {
      await this.#client.connect();
    } catch (error) {
      const unavailable = new CountersUnavailableError("connect", error);
      this.#onError?.(unavailable);
      throw unavailable;
    }
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    checkName(request.id, "id");
    checkPositive(request.ttlMs, "ttlMs");
    const items = request.items;
    validateBudgetItems(items);
    const args: (string | number)[] = [1 + 2 * items.length, this.#recordKey(request.id)];
    for (const item of items) args.push(this.#counterKey(item.key), this.#zsetKey(item.key));
    args.push(this.#now(), request.id, request.ttlMs, this.prefix);
    for (const item of items) args.push(item.amount, item.limit, optionalTime(item.expireAtMs));
    const reply = await this.#run("reserve", "tollgateReserve", args);
    if (reply === undefined) return DEGRADED_OK;
    const result = replyArray(reply, "reserve");
    switch (result[0]) {
      case 0:
        return { ok: true, headroom: Number(result[1] ?? 0) };
      case 3:
        return { ok: false, reason: "duplicate_id" };
      default: {
        const index = result[1] as number;
        const item = items[index] as (typeof items)[number];
        return {
          ok: false,
          reason: "limit",
          key: item.key,
          index,
          committed: Number(result[2]),
          reserved: Number(result[3]),
          limit: item.limit,
          requested: item.amount,
        };
      }
    }
  }

  async adjust(id: string, items: readonly AdjustItem[], options?: AdjustOptions): Promise<AdjustResult> {
    checkName(id, "id");
    validateAdjustItems(items);
    const ttlMs = options?.ttlMs;
    if (ttlMs !== undefined) checkPositive(ttlMs, "ttlMs");
    const args: (string | number)[] = [1 + 2 * items.length, this.#recordKey(id)];
    for (const item of items) args.push(this.#counterKey(item.key), this.#zsetKey(item.key));
    args.push(this.#now(), id, optionalTime(ttlMs), this.prefix);
    for (const item of items) args.push(item.delta, item.limit, optionalTime(item.expireAtMs));
    const reply = await this.#run("adjust", "tollgateAdjust", args);
    if (reply === undefined) return DEGRADED_OK;
    const result = replyArray(reply, "adjust");
    switch (result[0]) {
      case 0:
        return ADMITTED;
      case 2:
        return { ok: false, reason: "unknown_reservation" };
      default: {
        const index = result[1] as number;
        const item = items[index] as AdjustItem;
        return {
          ok: false,
          reason: "limit",
          key: item.key,
          index,
          committed: Number(result[2]),
          reserved: Number(result[3]),
          limit: item.limit,
          requested: item.delta,
        };
      }
    }
  }

  async commit(id: string, items: readonly SettleItem[]): Promise<SettleResult> {
    checkName(id, "id");
    validateSettleItems(items);
    const args: (string | number)[] = [1 + 2 * items.length, this.#recordKey(id)];
    for (const item of items) args.push(this.#counterKey(item.key), this.#zsetKey(item.key));
    args.push(this.#now(), id, this.prefix);
    for (const item of items) args.push(item.amount, optionalTime(item.expireAtMs));
    const reply = await this.#run("commit", "tollgateCommit", args);
    if (reply === undefined) return DEGRADED_SETTLE;
    return { found: reply === 1 };
  }

  async release(id: string): Promise<SettleResult> {
    checkName(id, "id");
    const reply = await this.#run("release", "tollgateRelease", [1, this.#recordKey(id), this.#now(), id, this.prefix]);
    if (reply === undefined) return DEGRADED_SETTLE;
    return { found: reply === 1 };
  }

  async renew(id: string, ttlMs: number): Promise<RenewResult> {
    checkName(id, "id");
    checkPositive(ttlMs, "ttlMs");
    const args = [1, this.#recordKey(id), this.#now(), id, ttlMs, this.prefix];
    const reply = await this.#run("renew", "tollgateRenew", args);
    if (reply === undefined) return DEGRADED_RENEW;
    return { ok: reply === 1 };
  }

  async get(keys: readonly string[]): Promise<CounterValue[]> {
    const args: (string | number)[] = [2 * keys.length];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      checkName(key, `keys[${i}]`);
      args.push(this.#counterKey(key), this.#zsetKey(key));
    }
    args.push(this.#now());
    const result = replyArray(await this.#run("get", "tollgateGet", args, false), "get");
    const values: CounterValue[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      values[i] = { committed: Number(result[2 * i]), reserved: Number(result[2 * i + 1]) };
    }
    return values;
  }

  async seed(items: readonly SeedItem[], options?: SeedOptions): Promise<void> {
    validateSeedItems(items);
    const args: (string | number)[] = [1 + 2 * items.length, this.#seededKey()];
    for (const item of items) args.push(this.#counterKey(item.key), this.#zsetKey(item.key));
    args.push(this.#now(), options?.markSeeded === true ? 1 : 0, options?.onlyIfAbsent === true ? 1 : 0);
    for (const item of items) args.push(item.committed, optionalTime(item.expireAtMs));
    await this.#run("seed", "tollgateSeed", args, false);
  }

  async isSeeded(): Promise<boolean> {
    try {
      return (await this.#client.exists(this.#seededKey())) === 1;
    } catch (error) {
      throw this.#unavailable("isSeeded", error);
    }
  }

  async hit(items: readonly RateItem[], options?: HitOptions): Promise<HitResult> {
    const force = options?.force === true;
    validateRateItems(items, force);
    const args: (string | number)[] = [items.length];
    for (const item of items) args.push(this.#windowKey(item.key));
    args.push(this.#now(), force ? 1 : 0, this.#buckets);
    for (const item of items) args.push(item.limit, item.windowMs, item.cost ?? 1);
    const reply = await this.#run("hit", "tollgateHit", args);
    if (reply === undefined) return DEGRADED_OK;
    const result = replyArray(reply, "hit");
    if (result[0] === 0) return ADMITTED;
    const index = result[1] as number;
    const item = items[index] as RateItem;
    return {
      ok: false,
      key: item.key,
      index,
      current: Number(result[2]),
      limit: item.limit,
      retryAfterMs: result[3] as number,
    };
  }

  async windowTotals(windows: readonly RateWindowRef[]): Promise<number[]> {
    if (windows.length === 0) return [];
    const args: (string | number)[] = [windows.length];
    for (const { key } of windows) {
      checkName(key, "key");
      args.push(this.#windowKey(key));
    }
    args.push(this.#now(), this.#buckets);
    for (const { windowMs } of windows) args.push(windowMs);
    const result = replyArray(await this.#run("windowTotals", "tollgateWindowTotals", args, false), "windowTotals");
    return windows.map((_, i) => Number(result[i]));
  }

  async acquire(key: string, max: number, leaseId: string, ttlMs: number): Promise<LeaseResult> {
    checkName(key, "key");
    checkNonNegative(max, "max");
    checkName(leaseId, "leaseId");
    checkPositive(ttlMs, "ttlMs");
    const args = [1, this.#leaseKey(key), this.#now(), max, leaseId, ttlMs];
    const reply = await this.#run("acquire", "tollgateAcquire", args);
    if (reply === undefined) return DEGRADED_OK;
    const result = replyArray(reply, "acquire");
    if (result[0] === 0) return ADMITTED;
    return { ok: false, reason: "full", active: result[1] as number };
  }

  async renewLease(key: string, leaseId: string, ttlMs: number): Promise<RenewResult> {
    checkName(key, "key");
    checkName(leaseId, "leaseId");
    checkPositive(ttlMs, "ttlMs");
    const args = [1, this.#leaseKey(key), this.#now(), leaseId, ttlMs];
    const reply = await this.#run("renewLease", "tollgateRenewLease", args);
    if (reply === undefined) return DEGRADED_RENEW;
    return { ok: reply === 1 };
  }

  async releaseLease(key: string, leaseId: string): Promise<SettleResult> {
    checkName(key, "key");
    checkName(leaseId, "leaseId");
    const args = [1, this.#leaseKey(key), this.#now(), leaseId];
    const reply = await this.#run("releaseLease", "tollgateReleaseLease", args);
    if (reply === undefined) return DEGRADED_SETTLE;
    return { found: reply === 1 };
  }

  async close(): Promise<void> {
    if (this.#client.status === "end") return;
    if (this.#client.status !== "ready") {
      this.#client.disconnect();
      return;
    }
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  /**
   * Runs one script. Unavailability becomes CountersUnavailableError (fail-closed, or when `fallible` is false)
   * or `undefined` (fail-open: the caller answers degraded). Other errors (script bugs) pass through unchanged.
   */
  async #run(
    operation: string,
    script: CounterScriptName,
    args: (string | number)[],
    fallible = true,
  ): Promise<unknown> {
    try {
      return await this.#scripts[script](...args);
    } catch (error) {
      if (!isUnavailableError(error)) throw error;
      const unavailable = this.#unavailable(operation, error);
      if (fallible && this.#policy === "fail-open") return undefined;
      throw unavailable;
    }
  }

  #unavailable(operation: string, error: unknown): CountersUnavailableError {
    const unavailable = new CountersUnavailableError(operation, error);
    this.#onError?.(unavailable);
    return unavailable;
  }

  /** −1 tells the scripts to read Redis TIME. */
  #now(): number {
    return this.#clock === undefined ? -1 : this.#clock.now();
  }

  #counterKey(key: string): string {
    return `${this.prefix}c:${key}`;
  }

  #zsetKey(key: string): string {
    return `${this.prefix}z:${key}`;
  }

  #recordKey(id: string): string {
    return `${this.prefix}r:${id}`;
  }

  #windowKey(key: string): string {
    return `${this.prefix}w:${key}`;
  }

  #leaseKey(key: string): string {
    return `${this.prefix}l:${key}`;
  }

  #seededKey(): string {
    return `${this.prefix}seeded`;
  }
}
