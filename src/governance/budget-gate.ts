import type { Clock } from "../clock.ts";
import type {
  CounterStore,
  CounterValue,
  ReserveRequest,
  ReserveResult,
  SettleItem,
} from "../counters/counter-store.ts";
import { CountersUnavailableError } from "../counters/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import type { Usage } from "../metering/usage.ts";
import { formatUsd } from "../pipeline/money.ts";
import type { Pricer } from "../pipeline/runtime.ts";
import { type BudgetEnforcement, BudgetHold, DEFAULT_ENFORCEMENT, type HeldItem } from "./budget-hold.ts";
import { type CostEstimate, CostEstimator } from "./cost-estimator.ts";
import { compileNameMatcher, type NameMatcher } from "./entities/globs.ts";
import type { BudgetSnapshot, GovernanceSnapshot, VirtualKeySnapshot } from "./entities/index.ts";
import { compilePeriod, type PeriodSchedule, type PeriodWindow } from "./periods.ts";
import type { SessionHintStore } from "./session-hints.ts";

/** A budget a request just settled on: which counter (window) took the spend. */
export interface SettledBudget {
  budget: BudgetSnapshot;
  counterKey: string;
  windowStart: number;
}

export { BudgetHold } from "./budget-hold.ts";

export interface BudgetStanding {
  budget: BudgetSnapshot;
  windowStart: number;
  /** null for `never` (prepaid) budgets. */
  resetsAt: number | null;
  committedNanoUsd: number;
  reservedNanoUsd: number;
}

export interface BudgetRequest {
  id: string;
  key: VirtualKeySnapshot | null;
  provider: string;
  pricingProvider: string;
  model: string;
  requestBytes: number;
  /** The client's output cap (`max_tokens` and friends), when it sent one. */
  maxOutputTokens: number | null;
  sessionId: string | null;
  /** Streams can be topped up and cut as they run; whole responses cannot, so near a limit they hold their worst case. */
  stream: boolean;
}

/** A budget's compiled period, and the held item of the window it last served (see #heldItem). */
interface ScheduleEntry {
  updatedAt: number;
  schedule: PeriodSchedule;
  window: PeriodWindow | null;
  item: HeldItem | null;
}

const NO_BUDGETS: readonly BudgetSnapshot[] = Object.freeze([]);
/** Whether a key's budget list holds `key-provider` budgets (which apply per provider), per list. */
const providerScoped = new WeakMap<readonly BudgetSnapshot[], boolean>();

function hasProviderScoped(list: readonly BudgetSnapshot[]): boolean {
  if (list.length === 0) return false;
  let found = providerScoped.get(list);
  if (found === undefined) {
    found = list.some((b) => b.scopeType === "key-provider");
    providerScoped.set(list, found);
  }
  return found;
}

/** Output cap assumed for a client that sent none, when deciding whether the remainder covers the worst case. */
const UNCAPPED_OUTPUT_TOKENS = 32_768;

/** Admission's working figures for one request (BudgetGate.planHold). */
interface HoldPlan {
  estimate: CostEstimate;
  items: HeldItem[];
  /** Clock time of admission. */
  now: number;
  perToken: number;
  /** The input part of the estimate (strict: the worst case). */
  input: number;
  /** The output cap the hold is planned for. */
  cap: number;
  /** What is reserved. */
  amount: number;
}
/** Counters outlive their window by a day (late settlements still land in the right window). */
const COUNTER_GRACE_MS = 24 * 3_600_000;

/**
 * Budget admission and settlement (DESIGN.md principle 4). Before dispatch, an estimate of the request's cost
 * (cost-estimator.ts: cache-aware input, the key's typical output) is reserved atomically on every budget that
 * applies (key, key-provider, developer, team, customer, global, provider, model); a request that does not fit
 * every one is refused with a 402 naming the budget. When the remainder cannot cover the request's worst case,
 * its max_tokens is lowered to what the remainder buys (or it is refused below `minOutputTokens`). While it runs,
 * its BudgetHold is trued up, topped up and renewed (budget-hold.ts); at the end the actual cost is committed.
 * Strict mode reserves the worst case instead and never exceeds a limit.
 */
export class BudgetGate {
  readonly #counters: CounterStore;
  readonly #prices: Pricer;
  readonly #clock: Clock;
  readonly #enforcement: BudgetEnforcement;
  readonly #estimator: CostEstimator;
  readonly #schedules = new Map<string, ScheduleEntry>();
  /** The settlement notice of a held item, made once per (budget snapshot, window). */
  readonly #settled = new WeakMap<HeldItem, SettledBudget>();
  readonly #modelMatchers = new Map<string, NameMatcher>();
  #settleListener: ((items: readonly SettledBudget[]) => void) | null = null;
  /**
   * Holds of requests still running, renewed together (one timer, not one per request). An array the holds know
   * their place in, not a Map: see counters/id-table.ts for what a Map under per-request churn costs.
   */
  readonly #live: BudgetHold[] = [];
  #renewTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    counters: CounterStore,
    prices: Pricer,
    clock: Clock,
    enforcement: Partial<BudgetEnforcement> = {},
    hints: SessionHintStore | null = null,
  ) {
    this.#counters = counters;
    this.#prices = prices;
    this.#clock = clock;
    this.#enforcement = { ...DEFAULT_ENFORCEMENT, ...enforcement };
    this.#estimator = new CostEstimator(prices, hints);
  }

  get enforcement(): Readonly<BudgetEnforcement> {
    return this.#enforcement;
  }

  /** Told (synchronously, after the commit) which budget windows took spend; e.g. threshold alerts. */
  setSettleListener(listener: ((items: readonly SettledBudget[]) => void) | null): void {
    this.#settleListener = listener;
  }

  /** The budgets a request counts against. Cheap; no I/O; the result may be the key's own list (do not change it). */
  applicable(
    snapshot: GovernanceSnapshot,
    key: VirtualKeySnapshot | null,
    provider: string,
    model: string,
  ): readonly BudgetSnapshot[] {
    const own = key?.budgets ?? NO_BUDGETS;
    // The common case, a key whose budgets all apply whatever the provider and no global ones: its list as it is.
    if (snapshot.unscopedBudgets.length === 0 && !hasProviderScoped(own)) return own;
    const out: BudgetSnapshot[] = [];
    for (const b of own) {
      if (b.scopeType === "key-provider" && b.provider !== provider) continue;
      out.push(b);
    }
    for (const b of snapshot.unscopedBudgets) {
      if (b.provider !== null && b.provider !== provider) continue;
      if (b.scopeType === "model" && b.model !== null && !this.#modelMatcher(b.model).matches(model)) continue;
      out.push(b);
    }
    return out;
  }

  /**
   * Reserves on every budget (the estimate; strict: the worst case), lowering the output cap when the remainder
   * cannot cover the worst case; or refuses with a GatewayError (402; 400 for an unknown price; 503 counters down).
   * With in-process counters an admitted request's hold comes at once, not as a promise (no await turn per request);
   * a refusal is always a rejected promise.
   */
  admit(budgets: readonly BudgetSnapshot[], request: BudgetRequest): BudgetHold | null | Promise<BudgetHold | null> {
    if (budgets.length === 0) return null;
    const fetching = request.sessionId === null ? null : this.#estimator.prefetch(estimateRequest(request));
    const now = this.#counters.immediate;
    if (fetching !== null || now === undefined) return this.#admitLater(fetching, budgets, request);
    try {
      const plan = this.#planHold(budgets, request);
      let result = now.reserve(this.#reserveRequest(request.id, plan.items, plan.amount));
      const room = this.#roomLeft(plan, result);
      if (room !== null) {
        plan.amount = room;
        result = now.reserve(this.#reserveRequest(request.id, plan.items, room));
      }
      return this.#holdFrom(request, plan, result);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #admitLater(
    fetching: Promise<void> | null,
    budgets: readonly BudgetSnapshot[],
    request: BudgetRequest,
  ): Promise<BudgetHold> {
    if (fetching !== null) await fetching;
    const plan = this.#planHold(budgets, request);
    let result = await this.#reserve(request.id, plan.items, plan.amount);
    const room = this.#roomLeft(plan, result);
    if (room !== null) {
      plan.amount = room;
      result = await this.#reserve(request.id, plan.items, room);
    }
    return this.#holdFrom(request, plan, result);
  }

  /** What admission reserves: the estimate, the budgets' current windows and the first amount to try. */
  #planHold(budgets: readonly BudgetSnapshot[], request: BudgetRequest): HoldPlan {
    const estimate = this.#estimate(request);
    const now = this.#clock.now();
    const items: HeldItem[] = new Array(budgets.length);
    for (let i = 0; i < budgets.length; i++) items[i] = this.#heldItem(budgets[i] as BudgetSnapshot, now);
    const strict = this.#enforcement.strict;
    const perToken = Math.max(1, estimate.outputNanoUsdPerToken);
    const input = strict ? estimate.worstInputNanoUsd : estimate.inputNanoUsd;
    const cap = request.maxOutputTokens ?? UNCAPPED_OUTPUT_TOKENS;
    const amount = strict ? input + cap * perToken : input + estimate.outputNanoUsd;
    return { estimate, items, now, perToken, input, cap, amount };
  }

  /**
   * When the whole estimate does not fit but the remainder still buys a useful answer: the remainder, to take it
   * all with max_tokens lowered to match (holdFrom). Null otherwise.
   */
  #roomLeft(plan: HoldPlan, result: ReserveResult): number | null {
    if (result.ok || result.reason !== "limit") return null;
    const room = result.limit - result.committed - result.reserved;
    return room >= plan.input + this.#enforcement.minOutputTokens * plan.perToken ? room : null;
  }

  /** The hold a reservation gave (or the refusal it calls for); a promise only near a limit. */
  #holdFrom(request: BudgetRequest, plan: HoldPlan, result: ReserveResult): BudgetHold | Promise<BudgetHold> {
    const { items, amount, input, perToken, cap, now } = plan;
    if (!result.ok) {
      if (result.reason === "duplicate_id") throw new GatewayError("TG_INTERNAL", "Duplicate budget reservation.");
      const budget = items[result.index]?.budget;
      throw budgetExhausted(budget, result.committed, result.reserved, this.#resetAt(budget, now));
    }
    const hold = new BudgetHold(
      {
        id: request.id,
        items,
        estimate: plan.estimate,
        pricing: { pricingProvider: request.pricingProvider, model: request.model },
        keyId: request.key?.id ?? null,
        held: amount,
      },
      { counters: this.#counters, prices: this.#prices, clock: this.#clock, enforcement: this.#enforcement },
    );
    // What the output may cost: the part of the hold beyond the input, plus whatever the budgets have left.
    const headroom = result.headroom ?? Number.MAX_SAFE_INTEGER;
    const affordable = Math.floor(Math.min(Number.MAX_SAFE_INTEGER, amount - input + headroom) / perToken);
    const { strict, minOutputTokens } = this.#enforcement;
    if (affordable < cap) {
      if (affordable < minOutputTokens) return this.#refuseRemainder(hold, items, affordable, now);
      hold.loweredMaxOutputTokens = affordable;
      // A whole response cannot be cut as it runs: near a limit it holds its (lowered) worst case.
      const worst = input + affordable * perToken;
      if (!request.stream && !strict && worst > amount) {
        return this.#grow(hold, worst - amount).then(() => this.#track(hold));
      }
    } else if (strict && request.maxOutputTokens === null) {
      hold.loweredMaxOutputTokens = cap; // strict needs a cap to bound the worst case
    }
    return this.#track(hold);
  }

  async #refuseRemainder(
    hold: BudgetHold,
    items: readonly HeldItem[],
    affordable: number,
    now: number,
  ): Promise<never> {
    await this.release(hold);
    throw await this.#remainderTooSmall(items, affordable, this.#enforcement.minOutputTokens, now);
  }

  /**
   * The refusal when a budget's remainder buys fewer than the minimum output tokens, naming the budget that binds:
   * the one with the least room left (read again here — a refusal path — since the reservation answers only the
   * least headroom, not whose it is).
   */
  async #remainderTooSmall(
    items: readonly HeldItem[],
    affordable: number,
    minimum: number,
    now: number,
  ): Promise<GatewayError> {
    let tightest = items[0];
    let tightestValue: CounterValue = { committed: 0, reserved: 0 };
    try {
      const values = await this.#counters.get(items.map((item) => item.key));
      let least = Number.POSITIVE_INFINITY;
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as HeldItem;
        const value = values[i] ?? { committed: 0, reserved: 0 };
        const room = item.budget.limitNanoUsd - value.committed - value.reserved;
        if (room < least) {
          least = room;
          tightest = item;
          tightestValue = value;
        }
      }
    } catch {
      // Counters unreachable while refusing: name the first budget, without figures.
    }
    return remainderTooSmall(tightest, tightestValue, affordable, minimum, this.#resetAt(tightest?.budget, now));
  }

  /** Renews every running request's hold not renewed for a third of the TTL (long streams outlive the TTL). */
  async renewLive(): Promise<void> {
    const now = this.#clock.now();
    const due = this.#enforcement.holdTtlMs / 3;
    const renewals: Promise<boolean>[] = [];
    // Backwards: taking a hold off moves the last one into its place, which was seen already.
    for (let i = this.#live.length - 1; i >= 0; i--) {
      const hold = this.#live[i] as BudgetHold;
      if (hold.ended) this.#forget(hold);
      else if (now - hold.renewedAt >= due) {
        hold.renewedAt = now;
        renewals.push(hold.renew());
      }
    }
    await Promise.all(renewals);
  }

  /** Lists the hold for renewal; answers it. */
  #track(hold: BudgetHold): BudgetHold {
    hold.renewedAt = this.#clock.now();
    hold.liveIndex = this.#live.length;
    this.#live.push(hold);
    if (this.#renewTimer === null) {
      this.#renewTimer = setInterval(() => void this.renewLive(), Math.max(1000, this.#enforcement.holdTtlMs / 6));
      this.#renewTimer.unref();
    }
    return hold;
  }

  /** Takes a hold off the renewal list (the last one takes its place; pop clears the vacated slot). */
  #forget(hold: BudgetHold): void {
    const index = hold.liveIndex;
    if (index < 0 || this.#live[index] !== hold) return;
    const last = this.#live.pop() as BudgetHold;
    if (last !== hold) {
      this.#live[index] = last;
      last.liveIndex = index;
    }
    hold.liveIndex = -1;
  }

  /** Commits the actual cost (the hold when it is unknown) and frees the hold. Never throws (nor rejects). */
  settle(
    hold: BudgetHold,
    actualNanoUsd: number | null,
    reported: Usage | null,
    sessionId: string | null,
  ): void | Promise<void> {
    hold.end();
    this.#forget(hold);
    if (reported !== null) this.#estimator.learn({ keyId: hold.keyId, model: hold.pricing.model, sessionId }, reported);
    const amount = actualNanoUsd ?? hold.held;
    const items = hold.items.map((i) => ({ key: i.key, amount, expireAtMs: i.expireAtMs }));
    const now = this.#counters.immediate;
    if (now === undefined) return this.#commitLater(hold, items);
    try {
      now.commit(hold.id, items);
    } catch {
      return; // as in commitLater
    }
    this.#tellSettled(hold);
  }

  async #commitLater(hold: BudgetHold, items: readonly SettleItem[]): Promise<void> {
    try {
      await this.#counters.commit(hold.id, items);
    } catch {
      // Counters unreachable: the hold expires by itself; the log row keeps the cost for a rebuild.
      return;
    }
    this.#tellSettled(hold);
  }

  #tellSettled(hold: BudgetHold): void {
    const listener = this.#settleListener;
    if (listener !== null) listener(hold.items.map((i) => this.#settledOf(i)));
  }

  /** Frees a hold without cost (the request failed before the provider could bill it). Never throws. */
  release(hold: BudgetHold): void | Promise<void> {
    hold.end();
    this.#forget(hold);
    const now = this.#counters.immediate;
    if (now === undefined) return this.#releaseLater(hold);
    try {
      now.release(hold.id);
    } catch {
      // As in settle.
    }
  }

  async #releaseLater(hold: BudgetHold): Promise<void> {
    try {
      await this.#counters.release(hold.id);
    } catch {
      // As in settle.
    }
  }

  /** The total estimate admission would reserve (non-strict); null if the model is unpriced. */
  estimateCost(request: BudgetRequest): number | null {
    const estimate = this.#estimator.estimate(estimateRequest(request));
    return estimate === null ? null : estimate.inputNanoUsd + estimate.outputNanoUsd;
  }

  async #reserve(id: string, items: readonly HeldItem[], amount: number) {
    try {
      return await this.#counters.reserve(this.#reserveRequest(id, items, amount));
    } catch (err) {
      if (!(err instanceof CountersUnavailableError)) throw err;
      throw new GatewayError(
        "TG_COUNTERS_UNAVAILABLE",
        "Budget counters are unreachable; the request was not admitted.",
      );
    }
  }

  #reserveRequest(id: string, items: readonly HeldItem[], amount: number): ReserveRequest {
    return {
      id,
      items: items.map((i) => ({ key: i.key, amount, limit: i.budget.limitNanoUsd, expireAtMs: i.expireAtMs })),
      ttlMs: this.#enforcement.holdTtlMs,
    };
  }

  async #grow(hold: BudgetHold, delta: number): Promise<void> {
    try {
      const grown = await this.#counters.adjust(
        hold.id,
        hold.items.map((i) => ({ key: i.key, delta, limit: i.budget.limitNanoUsd, expireAtMs: i.expireAtMs })),
      );
      if (grown.ok) hold.held += delta;
    } catch {
      // Keep the estimate's hold; settlement books the real cost.
    }
  }

  #estimate(request: BudgetRequest): CostEstimate {
    const estimate = this.#estimator.estimate(estimateRequest(request), this.#enforcement.strict);
    if (estimate === null) {
      throw new GatewayError(
        "TG_UNKNOWN_PRICE",
        `Model "${request.model}" on provider "${request.provider}" has no known price, and this request counts against a budget. ` +
          "Add a price override (POST /api/pricing/overrides or pricing.overrides in the config file), or set a " +
          "fallback price for unknown models (pricing.fallback, or TOLLGATE_PRICE_FALLBACK=input,output per MTok).",
      );
    }
    return estimate;
  }

  #modelMatcher(pattern: string): NameMatcher {
    let matcher = this.#modelMatchers.get(pattern);
    if (!matcher) {
      matcher = compileNameMatcher([pattern]);
      this.#modelMatchers.set(pattern, matcher);
    }
    return matcher;
  }

  /** Where each budget stands now: spend committed and held in its current window, and when that window ends. */
  async standing(budgets: readonly BudgetSnapshot[]): Promise<BudgetStanding[]> {
    const now = this.#clock.now();
    const windows = budgets.map((b) => this.counterKey(b, now));
    const counts = await this.#counters.get(windows.map((w) => w.key));
    return budgets.map((budget, i) => ({
      budget,
      windowStart: windows[i]?.start ?? now,
      resetsAt: windows[i]?.end ?? null,
      committedNanoUsd: counts[i]?.committed ?? 0,
      reservedNanoUsd: counts[i]?.reserved ?? 0,
    }));
  }

  /** The counter of a budget's current window (for seeding and the usage view). */
  counterKey(budget: BudgetSnapshot, now: number): { key: string; start: number; end: number | null } {
    const window = this.#schedule(budget).windowAt(now);
    return { key: `budget:${budget.id}:${window.start}`, start: window.start, end: window.end };
  }

  #schedule(budget: BudgetSnapshot): PeriodSchedule {
    return this.#scheduleEntry(budget).schedule;
  }

  #scheduleEntry(budget: BudgetSnapshot): ScheduleEntry {
    const cached = this.#schedules.get(budget.id);
    if (cached && cached.updatedAt === budget.updatedAt) return cached;
    const schedule = compilePeriod({
      period: budget.period,
      mode: budget.mode,
      timeZone: budget.timeZone,
      anchor: budget.anchorAt ?? budget.createdAt,
    });
    const entry: ScheduleEntry = { updatedAt: budget.updatedAt, schedule, window: null, item: null };
    this.#schedules.set(budget.id, entry);
    return entry;
  }

  /**
   * The budget's counter in the window holding `now`. Items hold no per-request state, so one is made per (budget
   * snapshot, window) and shared by every request in that window: no key string or object per request.
   */
  #heldItem(budget: BudgetSnapshot, now: number): HeldItem {
    const entry = this.#scheduleEntry(budget);
    const window = entry.schedule.windowAt(now);
    const cached = entry.item;
    if (cached !== null && entry.window === window && cached.budget === budget) return cached;
    const item: HeldItem = Object.freeze({
      key: `budget:${budget.id}:${window.start}`,
      budget,
      windowStart: window.start,
      expireAtMs: window.end === null ? undefined : window.end + COUNTER_GRACE_MS,
    });
    entry.window = window;
    entry.item = item;
    return item;
  }

  #settledOf(item: HeldItem): SettledBudget {
    let settled = this.#settled.get(item);
    if (settled === undefined) {
      settled = Object.freeze({ budget: item.budget, counterKey: item.key, windowStart: item.windowStart });
      this.#settled.set(item, settled);
    }
    return settled;
  }

  #resetAt(budget: BudgetSnapshot | undefined, now: number): number | null {
    return budget ? this.#schedule(budget).nextReset(now) : null;
  }
}

function estimateRequest(request: BudgetRequest) {
  return {
    pricingProvider: request.pricingProvider,
    model: request.model,
    requestBytes: request.requestBytes,
    maxOutputTokens: request.maxOutputTokens,
    keyId: request.key?.id ?? null,
    sessionId: request.sessionId,
  };
}

/** Why a stream was cut: the budget that refused its top-up, as the 402 would have said it. */
export function streamCutError(hold: BudgetHold, now: number): GatewayError {
  const exhausted = hold.exhausted;
  if (exhausted === null) return new GatewayError("TG_BUDGET_EXHAUSTED", "A budget is exhausted.");
  const { budget, refusal } = exhausted;
  const schedule = compilePeriod({
    period: budget.period,
    mode: budget.mode,
    timeZone: budget.timeZone,
    anchor: budget.anchorAt ?? budget.createdAt,
  });
  const name = budget.name ?? `${budget.scopeType} budget`;
  const owner = budget.scopeName ? ` of ${budget.scopeType} "${budget.scopeName}"` : "";
  const resetAt = schedule.nextReset(now);
  const resets = resetAt === null ? "It does not reset (prepaid)." : `It resets at ${new Date(resetAt).toISOString()}.`;
  return new GatewayError(
    "TG_BUDGET_EXHAUSTED",
    `Budget "${name}"${owner} is exhausted: $${formatUsd(refusal.committed)} spent and ` +
      `$${formatUsd(refusal.reserved)} held by requests in flight (this response included) of its ` +
      `$${formatUsd(budget.limitNanoUsd)} ${budget.period} limit, so the response was cut short here. ${resets}`,
  );
}

function remainderTooSmall(
  item: HeldItem | undefined,
  value: CounterValue,
  affordable: number,
  minimum: number,
  resetAt: number | null,
): GatewayError {
  const budget = item?.budget;
  if (!budget) return new GatewayError("TG_BUDGET_EXHAUSTED", "A budget is nearly exhausted.");
  const name = budget.name ?? `${budget.scopeType} budget`;
  const owner = budget.scopeName ? ` of ${budget.scopeType} "${budget.scopeName}"` : "";
  const resets =
    resetAt === null ? " It does not reset (prepaid)." : ` It resets at ${new Date(resetAt).toISOString()}.`;
  return new GatewayError(
    "TG_BUDGET_EXHAUSTED",
    `Budget "${name}"${owner} is nearly exhausted: $${formatUsd(value.committed)} spent` +
      (value.reserved > 0 ? ` and $${formatUsd(value.reserved)} held by requests in flight` : "") +
      ` of its $${formatUsd(budget.limitNanoUsd)} ${budget.period} limit; what is left buys ` +
      `${Math.max(0, affordable)} output tokens, fewer than the ${minimum} a request needs.${resets}`,
  );
}

export function budgetExhausted(
  budget: BudgetSnapshot | undefined,
  committed: number,
  reserved: number,
  resetAt: number | null,
): GatewayError {
  if (!budget) return new GatewayError("TG_BUDGET_EXHAUSTED", "A budget is exhausted.");
  const name = budget.name ?? `${budget.scopeType} budget`;
  const owner = budget.scopeName ? ` of ${budget.scopeType} "${budget.scopeName}"` : "";
  const resets = resetAt === null ? "It does not reset (prepaid)." : `It resets at ${new Date(resetAt).toISOString()}.`;
  return new GatewayError(
    "TG_BUDGET_EXHAUSTED",
    `Budget "${name}"${owner} is exhausted: $${formatUsd(committed)} spent` +
      (reserved > 0 ? ` and $${formatUsd(reserved)} held by requests in flight` : "") +
      ` of its $${formatUsd(budget.limitNanoUsd)} ${budget.period} limit. ${resets}`,
  );
}
