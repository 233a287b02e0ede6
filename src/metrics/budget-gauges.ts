import type { Clock } from "../clock.ts";
import type { BudgetStanding } from "../governance/budget-gate.ts";
import type { BudgetSnapshot, GovernanceSnapshot } from "../governance/entities/index.ts";

export interface BudgetGaugeValue {
  labels: Readonly<Record<string, string>>;
  /** Committed spend of the current window ÷ the limit (above 1 once overspent). */
  usedRatio: number;
  /** limit − committed − reserved, never below 0, in USD (what `/v1/usage` reports as remaining). */
  remainingUsd: number;
}

export const BUDGET_LABELS = ["budget", "name", "scope_type", "scope_id"] as const;

/** Counter reads per `standing` call: a Redis MGET of this many keys is one round trip of modest size. */
const CHUNK = 500;

export interface BudgetGaugeOptions {
  governance: () => GovernanceSnapshot;
  standing: (budgets: readonly BudgetSnapshot[]) => Promise<BudgetStanding[]>;
  clock: Clock;
  /** Key and key-provider budgets only with per-key labels on; developer budgets only with per-developer labels. */
  keyBudgets: boolean;
  developerBudgets: boolean;
  /** Scrapes within this long of the last counter read reuse it. */
  ttlMs?: number;
  warn: (message: string) => void;
}

/**
 * Budget gauges for `/metrics`, read from the counters at scrape time (never per request), cached for `ttlMs`;
 * concurrent scrapes share one read. A failed read keeps the last values.
 */
export class BudgetGauges {
  readonly #o: BudgetGaugeOptions;
  readonly #ttlMs: number;
  #values: BudgetGaugeValue[] = [];
  #readAt = Number.NEGATIVE_INFINITY;
  #reading: Promise<BudgetGaugeValue[]> | null = null;

  constructor(options: BudgetGaugeOptions) {
    this.#o = options;
    this.#ttlMs = options.ttlMs ?? 5_000;
  }

  read(): Promise<BudgetGaugeValue[]> {
    if (this.#o.clock.now() - this.#readAt < this.#ttlMs) return Promise.resolve(this.#values);
    this.#reading ??= this.#read().finally(() => {
      this.#reading = null;
    });
    return this.#reading;
  }

  async #read(): Promise<BudgetGaugeValue[]> {
    const budgets = [...this.#o.governance().budgetsById.values()].filter((b) => this.#exported(b));
    try {
      const out: BudgetGaugeValue[] = [];
      for (let i = 0; i < budgets.length; i += CHUNK) {
        for (const s of await this.#o.standing(budgets.slice(i, i + CHUNK))) out.push(gaugeOf(s));
      }
      this.#values = out;
      this.#readAt = this.#o.clock.now();
    } catch (err) {
      this.#o.warn(`metrics: budget gauges could not read the counters: ${(err as Error)?.message ?? String(err)}`);
    }
    return this.#values;
  }

  #exported(b: BudgetSnapshot): boolean {
    if (b.scopeType === "key" || b.scopeType === "key-provider") return this.#o.keyBudgets;
    if (b.scopeType === "developer") return this.#o.developerBudgets;
    return true;
  }
}

function gaugeOf(s: BudgetStanding): BudgetGaugeValue {
  const limit = s.budget.limitNanoUsd;
  const committed = s.committedNanoUsd;
  return {
    labels: {
      budget: s.budget.id,
      name: s.budget.name ?? "",
      scope_type: s.budget.scopeType,
      scope_id: s.budget.scopeId ?? "",
    },
    usedRatio: limit > 0 ? committed / limit : committed > 0 ? Number.POSITIVE_INFINITY : 0,
    remainingUsd: Math.max(0, limit - committed - s.reservedNanoUsd) / 1e9,
  };
}
