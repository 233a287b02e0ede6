import type { CounterStore, HitOptions, HitResult, ImmediateCounterOps, RateItem } from "../counters/counter-store.ts";
import { CountersUnavailableError } from "../counters/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import { compileNameMatcher, type NameMatcher } from "./entities/globs.ts";
import type { GovernanceSnapshot, RateLimitSnapshot, VirtualKeySnapshot } from "./entities/index.ts";
import { parseRateWindow } from "./periods.ts";

/** What a request holds on rate limits until it ends: concurrency leases, and the token windows to charge. */
export interface RateTicket {
  id: string;
  leases: string[];
  /** `held`: the estimate booked at admission, trued up to the actual tokens at the end. */
  tokenWindows: { key: string; limit: number; windowMs: number; held: number }[];
}

/** Counter keys and the request-count item of one limit (per limit snapshot; snapshots are immutable). */
interface LimitPlan {
  windowMs: number;
  tokKey: string;
  concKey: string;
  requestItem: Readonly<RateItem> | null;
}

const NONE: readonly RateLimitSnapshot[] = Object.freeze([]);
const FORCE: HitOptions = Object.freeze({ force: true });
const NO_WINDOWS: readonly RateTicket["tokenWindows"][number][] = Object.freeze([]);
/** Whether a key's limit list holds `key-provider` limits (which apply per provider), per list. */
const providerScoped = new WeakMap<readonly RateLimitSnapshot[], boolean>();

function hasProviderScoped(list: readonly RateLimitSnapshot[]): boolean {
  if (list.length === 0) return false;
  let found = providerScoped.get(list);
  if (found === undefined) {
    found = list.some((l) => l.scopeType === "key-provider");
    providerScoped.set(list, found);
  }
  return found;
}

/** The same items with their cost taken back (a request refused after its hit counts nowhere). */
function uncounted(items: readonly RateItem[]): RateItem[] {
  return items.map((item) => ({ ...item, cost: -(item.cost ?? 1) }));
}

/** Token windows booked with the actual tokens in place of the estimate (a negative delta is a refund). */
function trueUps(windows: readonly RateTicket["tokenWindows"][number][], tokens: number): RateItem[] {
  return windows.map(({ key, limit, windowMs, held }) => ({ key, limit, windowMs, cost: tokens - held }));
}

/** A crashed process's concurrency slots free themselves after this long. */
const LEASE_TTL_MS = 15 * 60_000;

/**
 * Rate limits on the data plane: requests per window (counted at admission), tokens per window (a request is
 * refused while the window is full; it holds its estimate until it ends, when the actual tokens replace it) and
 * concurrent requests (a lease held until the response ends). Refusals are 429 with `retry-after`; a refused
 * request counts on none of them. All through the counter store, so with Redis the limits hold across processes.
 */
export class RateGate {
  readonly #counters: CounterStore;
  readonly #windows = new Map<string, number>();
  readonly #modelMatchers = new Map<string, NameMatcher>();
  readonly #plans = new WeakMap<RateLimitSnapshot, LimitPlan>();

  constructor(counters: CounterStore) {
    this.#counters = counters;
  }

  /** The limits a request counts against. Cheap; no I/O; the result may be the key's own list (do not change it). */
  applicable(
    snapshot: GovernanceSnapshot,
    key: VirtualKeySnapshot | null,
    provider: string,
    model: string,
  ): readonly RateLimitSnapshot[] {
    const own = key?.rateLimits ?? NONE;
    // The common case, a key whose limits all apply whatever the provider and no global ones: its list as it is.
    if (snapshot.unscopedRateLimits.length === 0 && !hasProviderScoped(own)) return own;
    const out: RateLimitSnapshot[] = [];
    for (const l of own) {
      if (l.scopeType === "key-provider" && l.provider !== provider) continue;
      out.push(l);
    }
    for (const l of snapshot.unscopedRateLimits) {
      if (l.provider !== null && l.provider !== provider) continue;
      if (l.scopeType === "model" && l.model !== null && !this.#matcher(l.model).matches(model)) continue;
      out.push(l);
    }
    return out;
  }

  /**
   * Counts the request against every applicable limit (requests and tokens in one atomic step, then the leases);
   * throws a 429 GatewayError when over. `estimatedTokens` is held on each token window while the request runs, so
   * parallel requests see each other's: a window ends at most one request over its limit (with 0, parallel requests
   * are only stopped once finished ones have filled the window). With in-process counters an admitted request's
   * ticket comes at once, not as a promise; a refusal is always a rejected promise.
   */
  admit(
    limits: readonly RateLimitSnapshot[],
    requestId: string,
    estimatedTokens = 0,
  ): RateTicket | null | Promise<RateTicket | null> {
    if (limits.length === 0) return null;
    const held = Math.max(0, Math.ceil(estimatedTokens));
    const items: RateItem[] = [];
    const ticket: RateTicket = { id: requestId, leases: [], tokenWindows: [] };
    for (const l of limits) {
      if (l.window === null) continue;
      const plan = this.#plan(l);
      const windowMs = plan.windowMs;
      if (l.maxTokens !== null) {
        // Admitted while the window (charged + held) is below the limit: current + held ≤ limit − 1 + held.
        items.push({ key: plan.tokKey, limit: l.maxTokens - 1 + held, windowMs, cost: held });
        ticket.tokenWindows.push({ key: plan.tokKey, limit: l.maxTokens, windowMs, held });
      }
      // The same for every request on this limit: built once (counter stores only read items).
      if (plan.requestItem !== null) items.push(plan.requestItem);
    }
    const now = this.#counters.immediate;
    if (now === undefined) return this.#admitLater(limits, items, ticket);
    try {
      return this.#admitNow(now, limits, items, ticket);
    } catch (err) {
      return Promise.reject(err); // a refusal comes as a rejection, whichever the counters
    }
  }

  #admitNow(
    now: ImmediateCounterOps,
    limits: readonly RateLimitSnapshot[],
    items: readonly RateItem[],
    ticket: RateTicket,
  ): RateTicket {
    if (items.length > 0) this.#checkHit(limits, now.hit(items));
    for (const l of limits) {
      if (l.maxConcurrent === null) continue;
      const key = this.#plan(l).concKey;
      if (!now.acquire(key, l.maxConcurrent, ticket.id, LEASE_TTL_MS).ok) {
        for (const lease of ticket.leases.splice(0)) now.releaseLease(lease, ticket.id);
        if (items.length > 0) now.hit(uncounted(items), FORCE);
        throw rateLimited(limits, key, "concurrent requests", 1000);
      }
      ticket.leases.push(key);
    }
    return ticket;
  }

  async #admitLater(
    limits: readonly RateLimitSnapshot[],
    items: readonly RateItem[],
    ticket: RateTicket,
  ): Promise<RateTicket> {
    try {
      if (items.length > 0) this.#checkHit(limits, await this.#counters.hit(items));
      for (const l of limits) {
        if (l.maxConcurrent === null) continue;
        const key = this.#plan(l).concKey;
        const lease = await this.#counters.acquire(key, l.maxConcurrent, ticket.id, LEASE_TTL_MS);
        if (!lease.ok) {
          await this.release(ticket);
          await this.#uncount(items);
          throw rateLimited(limits, key, "concurrent requests", 1000);
        }
        ticket.leases.push(key);
      }
    } catch (err) {
      if (!(err instanceof CountersUnavailableError)) throw err;
      throw new GatewayError(
        "TG_COUNTERS_UNAVAILABLE",
        "Rate-limit counters are unreachable; the request was not admitted.",
      );
    }
    return ticket;
  }

  #checkHit(limits: readonly RateLimitSnapshot[], hit: HitResult): void {
    if (hit.ok) return;
    const what = hit.key.endsWith(":tok") ? "tokens" : "requests";
    throw rateLimited(limits, hit.key, what, hit.retryAfterMs);
  }

  /** Replaces the token holds with the actual tokens and frees the concurrency slots. Never throws. */
  settle(ticket: RateTicket, tokens: number): void | Promise<void> {
    const changed =
      ticket.tokenWindows.length === 0 ? NO_WINDOWS : ticket.tokenWindows.filter((w) => tokens !== w.held);
    const now = this.#counters.immediate;
    if (now === undefined) return this.#settleLater(ticket, tokens, changed);
    if (changed.length > 0) now.hit(trueUps(changed, tokens), FORCE);
    for (const key of ticket.leases.splice(0)) now.releaseLease(key, ticket.id);
  }

  async #settleLater(
    ticket: RateTicket,
    tokens: number,
    changed: readonly RateTicket["tokenWindows"][number][],
  ): Promise<void> {
    try {
      if (changed.length > 0) await this.#counters.hit(trueUps(changed, tokens), FORCE);
    } catch {
      // Counters unreachable: the window forgets these tokens; the log keeps them.
    }
    await this.release(ticket);
  }

  async release(ticket: RateTicket): Promise<void> {
    for (const key of ticket.leases.splice(0)) {
      try {
        await this.#counters.releaseLease(key, ticket.id);
      } catch {
        // The lease expires by itself.
      }
    }
  }

  /** Takes back what a hit booked for a request that was refused after all (a refused request counts nowhere). */
  async #uncount(items: readonly RateItem[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.#counters.hit(uncounted(items), FORCE);
    } catch {
      // Counters unreachable: the window keeps the count until it slides past.
    }
  }

  /** What admission needs of a limit, worked out once per limit snapshot (a reload brings new snapshots). */
  #plan(l: RateLimitSnapshot): LimitPlan {
    let plan = this.#plans.get(l);
    if (plan === undefined) {
      const windowMs = l.window === null ? 0 : this.#windowMs(l.window);
      plan = {
        windowMs,
        tokKey: `rate:${l.id}:tok`,
        concKey: `rate:${l.id}:conc`,
        requestItem:
          l.window === null || l.maxRequests === null
            ? null
            : Object.freeze({ key: `rate:${l.id}:req`, limit: l.maxRequests, windowMs, cost: 1 }),
      };
      this.#plans.set(l, plan);
    }
    return plan;
  }

  #windowMs(window: string): number {
    let ms = this.#windows.get(window);
    if (ms === undefined) {
      ms = parseRateWindow(window).lengthMs;
      this.#windows.set(window, ms);
    }
    return ms;
  }

  #matcher(pattern: string): NameMatcher {
    let matcher = this.#modelMatchers.get(pattern);
    if (!matcher) {
      matcher = compileNameMatcher([pattern]);
      this.#modelMatchers.set(pattern, matcher);
    }
    return matcher;
  }
}

function rateLimited(
  limits: readonly RateLimitSnapshot[],
  counterKey: string,
  what: string,
  retryAfterMs: number,
): GatewayError {
  const id = counterKey.split(":")[1];
  const limit = limits.find((l) => l.id === id);
  const name = limit?.name ?? `${limit?.scopeType ?? "a"} rate limit`;
  const owner = limit?.scopeName ? ` of ${limit.scopeType} "${limit.scopeName}"` : "";
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new GatewayError(
    "TG_RATE_LIMITED",
    `Rate limit "${name}"${owner} reached (${what}${limit?.window ? ` per ${limit.window}` : ""}). Retry in ${seconds} s.`,
    { "retry-after": String(seconds) },
  );
}
