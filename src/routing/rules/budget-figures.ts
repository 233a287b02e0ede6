import type { CounterStore, CounterValue, RateWindowRef } from "../../counters/counter-store.ts";
import type { BudgetGate } from "../../governance/budget-gate.ts";
import type {
  BudgetSnapshot,
  GovernanceSnapshot,
  RateLimitSnapshot,
  VirtualKeySnapshot,
} from "../../governance/entities/index.ts";
import { parseRateWindow } from "../../governance/periods.ts";
import type { RateGate } from "../../governance/rate-gate.ts";
import type { BudgetLevel } from "./cel.ts";

/** Budget and rate-limit figures for rules, read synchronously: a rule never waits on a counter. */
export interface BudgetUse {
  /** Percent of the fullest applicable budget (committed + reserved over the limit); 0 without budgets. */
  used: number;
  levels: Record<BudgetLevel, number>;
  /** Percent of the fullest applicable token rate limit; 0 when none (or not readable, see below). */
  tokensUsed: number;
}

export interface BudgetFigures {
  read(key: VirtualKeySnapshot | null, provider: string | null, model: string, now: number): BudgetUse;
}

/** A counter's current value, synchronously: the in-process store itself, or a snapshot of the shared one. */
export type CounterPeek = (counterKey: string) => CounterValue | undefined;
/** Units in a rate window (`rate:<id>:tok`) now; undefined when unknown. */
export type WindowPeek = (windowKey: string) => number | undefined;

export const NO_BUDGET_USE: BudgetUse = Object.freeze({
  used: 0,
  levels: Object.freeze({ key: 0, developer: 0, team: 0, customer: 0, global: 0 }),
  tokensUsed: 0,
}) as BudgetUse;

export function levelOf(budget: BudgetSnapshot): BudgetLevel {
  switch (budget.scopeType) {
    case "key":
    case "key-provider":
      return "key";
    case "developer":
    case "team":
    case "customer":
      return budget.scopeType;
    default:
      return "global";
  }
}

function percent(used: number, limit: number): number {
  if (limit <= 0) return used > 0 ? 100 : 0;
  return (used / limit) * 100;
}

export interface CounterBudgetFiguresOptions {
  governance: () => GovernanceSnapshot;
  budgets: BudgetGate;
  rates: RateGate;
  peek: CounterPeek;
  peekWindow?: WindowPeek;
}

/**
 * Figures from counters: the budgets that apply to the request (BudgetGate.applicable: the key's, its developer's,
 * team's and customer's, then global, provider and model budgets), each as the percent of its current window.
 * An unknown provider ("") matches no provider-specific budget.
 */
export class CounterBudgetFigures implements BudgetFigures {
  readonly #o: CounterBudgetFiguresOptions;

  constructor(options: CounterBudgetFiguresOptions) {
    this.#o = options;
  }

  read(key: VirtualKeySnapshot | null, provider: string | null, model: string, now: number): BudgetUse {
    const snapshot = this.#o.governance();
    const levels: Record<BudgetLevel, number> = { key: 0, developer: 0, team: 0, customer: 0, global: 0 };
    let used = 0;
    for (const budget of this.#o.budgets.applicable(snapshot, key, provider ?? "", model)) {
      const value = this.#o.peek(this.#o.budgets.counterKey(budget, now).key);
      if (value === undefined) continue;
      const p = percent(value.committed + value.reserved, budget.limitNanoUsd);
      const level = levelOf(budget);
      if (p > levels[level]) levels[level] = p;
      if (p > used) used = p;
    }
    let tokensUsed = 0;
    const peekWindow = this.#o.peekWindow;
    if (peekWindow) {
      for (const limit of this.#o.rates.applicable(snapshot, key, provider ?? "", model)) {
        const p = tokenPercent(limit, peekWindow);
        if (p > tokensUsed) tokensUsed = p;
      }
    }
    return { used, levels, tokensUsed };
  }
}

/** The token window of every rate limit with a token cap (keys' own and inherited ones, and global ones), once. */
function tokenWindows(governance: GovernanceSnapshot): RateWindowRef[] {
  const seen = new Set<string>();
  const out: RateWindowRef[] = [];
  const add = (limit: RateLimitSnapshot): void => {
    if (limit.maxTokens === null || limit.window === null || seen.has(limit.id)) return;
    seen.add(limit.id);
    out.push({ key: tokenWindowKey(limit), windowMs: parseRateWindow(limit.window).lengthMs });
  };
  for (const limit of governance.unscopedRateLimits) add(limit);
  for (const key of governance.byId.values()) for (const limit of key.rateLimits) add(limit);
  return out;
}

/** The counter key RateGate books a limit's tokens under. */
function tokenWindowKey(limit: RateLimitSnapshot): string {
  return `rate:${limit.id}:tok`;
}

function tokenPercent(limit: RateLimitSnapshot, peekWindow: WindowPeek): number {
  if (limit.maxTokens === null || limit.window === null) return 0;
  const units = peekWindow(tokenWindowKey(limit));
  return units === undefined ? 0 : percent(units, limit.maxTokens);
}

/** Timer seam: tests drive refreshes by hand. Returns a cancel function. */
export type Scheduler = (run: () => void, delayMs: number) => () => void;

const realScheduler: Scheduler = (run, delayMs) => {
  const timer = setTimeout(run, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

export interface CounterSnapshotOptions {
  counters: CounterStore;
  budgets: BudgetGate;
  governance: () => GovernanceSnapshot;
  /** Whether any rule reads budget figures, and which levels; nothing is read while this says none. */
  wanted: () => ReadonlySet<BudgetLevel>;
  /** Whether any rule reads `tokens_used`: then the token windows of every token rate limit are read too. */
  wantedTokens?: () => boolean;
  now: () => number;
  /** Default 1000 ms (the issue: at least every second). */
  intervalMs?: number;
  scheduler?: Scheduler;
  warn?: (message: string) => void;
}

/**
 * Shared (Redis) counters seen through a local copy refreshed in the background: one batched read of the current
 * windows of the budgets rules need, every `intervalMs`, never a round trip per request. Figures are then at most
 * about a second old (plus the read's time).
 */
export class CounterSnapshot {
  readonly #o: CounterSnapshotOptions;
  readonly #interval: number;
  readonly #schedule: Scheduler;
  #values: ReadonlyMap<string, CounterValue> = new Map();
  #windows: ReadonlyMap<string, number> = new Map();
  #cancel: (() => void) | null = null;
  #closed = false;
  #running: Promise<void> | null = null;
  #troubled = false;

  constructor(options: CounterSnapshotOptions) {
    this.#o = options;
    this.#interval = options.intervalMs ?? 1000;
    this.#schedule = options.scheduler ?? realScheduler;
  }

  readonly peek: CounterPeek = (counterKey) => this.#values.get(counterKey);
  readonly peekWindow: WindowPeek = (windowKey) => this.#windows.get(windowKey);

  start(): void {
    if (this.#closed || this.#cancel) return;
    this.#cancel = this.#schedule(() => this.#tick(), this.#interval);
  }

  /** One read of the counters rules need (coalesced with a read in flight). */
  refresh(): Promise<void> {
    this.#running ??= this.#read().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancel?.();
    this.#cancel = null;
    await this.#running;
  }

  #tick(): void {
    this.#cancel = null;
    void this.refresh().finally(() => {
      if (!this.#closed) this.start();
    });
  }

  async #read(): Promise<void> {
    const levels = this.#o.wanted();
    const windows = this.#o.wantedTokens?.() === true ? tokenWindows(this.#o.governance()) : [];
    if (levels.size === 0 && windows.length === 0) {
      if (this.#values.size > 0) this.#values = new Map();
      if (this.#windows.size > 0) this.#windows = new Map();
      return;
    }
    const now = this.#o.now();
    const keys: string[] = [];
    for (const budget of this.#o.governance().budgetsById.values()) {
      if (levels.has(levelOf(budget))) keys.push(this.#o.budgets.counterKey(budget, now).key);
    }
    try {
      const [values, units] = await Promise.all([
        keys.length === 0 ? [] : this.#o.counters.get(keys),
        windows.length === 0 ? [] : this.#o.counters.windowTotals(windows),
      ]);
      const next = new Map<string, CounterValue>();
      for (let i = 0; i < keys.length; i++) next.set(keys[i] as string, values[i] ?? { committed: 0, reserved: 0 });
      this.#values = next;
      this.#windows = new Map(windows.map((w, i) => [w.key, units[i] ?? 0]));
      this.#troubled = false;
    } catch (error) {
      // Keep the last figures: rules see slightly older numbers rather than none.
      if (!this.#troubled) {
        this.#troubled = true;
        this.#o.warn?.(
          `routing rules: reading budget counters failed (${error instanceof Error ? error.message : String(error)}); budget figures are stale until it works again`,
        );
      }
    }
  }
}
