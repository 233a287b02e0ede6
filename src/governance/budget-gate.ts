import type { Clock } from "../clock.ts";
import type { CounterStore } from "../counters/counter-store.ts";
import { CountersUnavailableError } from "../counters/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
import { emptyUsage } from "../metering/usage.ts";
import { formatUsd } from "../pipeline/money.ts";
import type { Pricer } from "../pipeline/runtime.ts";
import { compileNameMatcher, type NameMatcher } from "./entities/globs.ts";
import type { BudgetSnapshot, GovernanceSnapshot, VirtualKeySnapshot } from "./entities/index.ts";
import { compilePeriod, type PeriodSchedule } from "./periods.ts";

/** What a request holds on its budgets between admission and settlement. */
export interface BudgetHold {
  id: string;
  items: { key: string; budget: BudgetSnapshot }[];
  estimateNanoUsd: number;
}

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
}

/** Output tokens assumed for a request until it reports its own (capped by the client's max_tokens). */
export const TYPICAL_OUTPUT_TOKENS = 1024;
/** A crashed process's holds free themselves after this long; long streams outlive it only by settling late. */
const HOLD_TTL_MS = 15 * 60_000;
/** Counters outlive their window by a day (late settlements still land in the right window). */
const COUNTER_GRACE_MS = 24 * 3_600_000;

/**
 * Budget admission (DESIGN.md principle 4, first step): before dispatch, an estimate of the request's cost is
 * reserved atomically on every budget that applies (key, key-provider, developer, team, customer, global, provider,
 * model); a request that does not fit every one is refused with a 402 naming the budget. At the end the actual cost
 * is committed and the hold released. Parallel requests therefore cannot spend what others have reserved.
 * Not yet: truing the estimate up from `message_start`, topping up while a stream runs and cutting it when a top-up
 * does not fit, lowering max_tokens to what the remainder buys (issue 3).
 */
export class BudgetGate {
  readonly #counters: CounterStore;
  readonly #prices: Pricer;
  readonly #clock: Clock;
  readonly #schedules = new Map<string, { updatedAt: number; schedule: PeriodSchedule }>();
  readonly #modelMatchers = new Map<string, NameMatcher>();

  constructor(counters: CounterStore, prices: Pricer, clock: Clock) {
    this.#counters = counters;
    this.#prices = prices;
    this.#clock = clock;
  }

  /** The budgets a request counts against. Cheap; no I/O. */
  applicable(
    snapshot: GovernanceSnapshot,
    key: VirtualKeySnapshot | null,
    provider: string,
    model: string,
  ): BudgetSnapshot[] {
    const out: BudgetSnapshot[] = [];
    for (const b of key?.budgets ?? []) {
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

  /** Reserves the estimate on every budget, or throws a GatewayError (402, or 400 for an unknown price). */
  async admit(budgets: readonly BudgetSnapshot[], request: BudgetRequest): Promise<BudgetHold | null> {
    if (budgets.length === 0) return null;
    const estimate = this.#estimate(request);
    const now = this.#clock.now();
    const items = budgets.map((budget) => {
      const window = this.#schedule(budget).windowAt(now);
      return {
        key: `budget:${budget.id}:${window.start}`,
        budget,
        expireAtMs: window.end === null ? undefined : window.end + COUNTER_GRACE_MS,
      };
    });
    let result: Awaited<ReturnType<CounterStore["reserve"]>>;
    try {
      result = await this.#counters.reserve({
        id: request.id,
        items: items.map((i) => ({
          key: i.key,
          amount: estimate,
          limit: i.budget.limitNanoUsd,
          expireAtMs: i.expireAtMs,
        })),
        ttlMs: HOLD_TTL_MS,
      });
    } catch (err) {
      if (!(err instanceof CountersUnavailableError)) throw err;
      throw new GatewayError(
        "TG_COUNTERS_UNAVAILABLE",
        "Budget counters are unreachable; the request was not admitted.",
      );
    }
    if (!result.ok) {
      if (result.reason === "duplicate_id") throw new GatewayError("TG_INTERNAL", "Duplicate budget reservation.");
      const budget = items[result.index]?.budget;
      throw budgetExhausted(budget, result.committed, result.reserved, this.#resetAt(budget, now));
    }
    return { id: request.id, items: items.map(({ key, budget }) => ({ key, budget })), estimateNanoUsd: estimate };
  }

  /** Commits the actual cost (the estimate when it is unknown) and frees the hold. Never throws. */
  async settle(hold: BudgetHold, actualNanoUsd: number | null): Promise<void> {
    const amount = actualNanoUsd ?? hold.estimateNanoUsd;
    try {
      await this.#counters.commit(
        hold.id,
        hold.items.map((i) => ({ key: i.key, amount })),
      );
    } catch {
      // Counters unreachable: the hold expires by itself; the log row keeps the cost for a rebuild.
    }
  }

  /** Frees a hold without cost (the request failed before the provider could bill it). */
  async release(hold: BudgetHold): Promise<void> {
    try {
      await this.#counters.release(hold.id);
    } catch {
      // As in settle.
    }
  }

  /** The estimate admission reserves: input from the body size, output up to max_tokens (≤ 1,024); null if unpriced. */
  estimateCost(request: BudgetRequest): number | null {
    const usage = emptyUsage();
    usage.input = estimateInputTokensFromRequestBytes(request.requestBytes);
    usage.output = Math.min(request.maxOutputTokens ?? TYPICAL_OUTPUT_TOKENS, TYPICAL_OUTPUT_TOKENS);
    return this.#prices.cost(request.pricingProvider, request.model, usage).costNanoUsd;
  }

  #estimate(request: BudgetRequest): number {
    const cost = this.estimateCost(request);
    if (cost === null) {
      throw new GatewayError(
        "TG_UNKNOWN_PRICE",
        `Model "${request.model}" on provider "${request.provider}" has no known price, and this request counts against a budget. ` +
          "Add a price override (POST /api/pricing/overrides or pricing.overrides in the config file).",
      );
    }
    return cost;
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
    const cached = this.#schedules.get(budget.id);
    if (cached && cached.updatedAt === budget.updatedAt) return cached.schedule;
    const schedule = compilePeriod({
      period: budget.period,
      mode: budget.mode,
      timeZone: budget.timeZone,
      anchor: budget.anchorAt ?? budget.createdAt,
    });
    this.#schedules.set(budget.id, { updatedAt: budget.updatedAt, schedule });
    return schedule;
  }

  #resetAt(budget: BudgetSnapshot | undefined, now: number): number | null {
    return budget ? this.#schedule(budget).nextReset(now) : null;
  }
}

function budgetExhausted(
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
