import type { Clock } from "../../clock.ts";
import type { CounterStore } from "../../counters/counter-store.ts";
import { MemoryCounterStore } from "../../counters/memory-store.ts";
import type { BudgetGate } from "../../governance/budget-gate.ts";
import type { RateGate } from "../../governance/rate-gate.ts";
import type { GatewayRuntime } from "../../pipeline/runtime.ts";
import { type BudgetFigures, CounterBudgetFigures, CounterSnapshot, type Scheduler } from "./budget-figures.ts";
import type { BudgetLevel } from "./cel.ts";
import { RuleSet } from "./rule-set.ts";

export interface FiguresWiring {
  counters: CounterStore;
  budgets: BudgetGate;
  rates: RateGate;
  clock: Clock;
  warn: (message: string) => void;
  runtime: () => GatewayRuntime;
  scheduler?: Scheduler;
}

const NONE: ReadonlySet<BudgetLevel> = new Set();

/**
 * Where rules read budget figures: the in-process counters directly (exact, synchronous), or for shared (Redis)
 * counters a local snapshot refreshed every second in the background — only the levels the loaded rules read.
 * Token windows (`tokens_used`) likewise: directly, or in the same snapshot when a rule reads them.
 */
export function routingBudgetFigures(w: FiguresWiring): { figures: BudgetFigures; snapshot: CounterSnapshot | null } {
  const governance = () => w.runtime().governance;
  const counters = w.counters;
  if (counters instanceof MemoryCounterStore) {
    return {
      figures: new CounterBudgetFigures({
        governance,
        budgets: w.budgets,
        rates: w.rates,
        peek: (key) => counters.peek(key),
        peekWindow: (key) => counters.peekWindow(key),
      }),
      snapshot: null,
    };
  }
  const snapshot = new CounterSnapshot({
    counters,
    budgets: w.budgets,
    governance,
    wanted: () => {
      const router = w.runtime().router;
      return router instanceof RuleSet ? router.budgetLevels : NONE;
    },
    wantedTokens: () => {
      const router = w.runtime().router;
      return router instanceof RuleSet && router.readsTokens;
    },
    now: () => w.clock.now(),
    warn: w.warn,
    ...(w.scheduler ? { scheduler: w.scheduler } : {}),
  });
  return {
    figures: new CounterBudgetFigures({
      governance,
      budgets: w.budgets,
      rates: w.rates,
      peek: snapshot.peek,
      peekWindow: snapshot.peekWindow,
    }),
    snapshot,
  };
}
