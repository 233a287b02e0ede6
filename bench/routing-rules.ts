/**
 * Routing-rule evaluation cost (issue 5, acceptance 5: < 20 µs CPU per request with 100 rules, none matching).
 * 100 rules: 40 global ones the request must evaluate (model, guarded header, budget, token and time conditions,
 * all false) and 60 scoped to other keys, teams and customers (never evaluated: rules are indexed by scope). Budget
 * figures come from real in-process counters through BudgetGate (three budgets apply to the key).
 *
 *   node bench/routing-rules.ts [--iterations 200000]
 */
import { ManualClock } from "../src/clock.ts";
import { MemoryCounterStore } from "../src/counters/memory-store.ts";
import { BudgetGate } from "../src/governance/budget-gate.ts";
import type { BudgetSnapshot, GovernanceSnapshot, VirtualKeySnapshot } from "../src/governance/entities/index.ts";
import { RateGate } from "../src/governance/rate-gate.ts";
import type { Pricer } from "../src/pipeline/runtime.ts";
import { CounterBudgetFigures } from "../src/routing/rules/budget-figures.ts";
import { RuleSet } from "../src/routing/rules/rule-set.ts";
import type { RoutingInput, RoutingRule } from "../src/routing/rules/types.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 200_000;
const clock = new ManualClock(Date.UTC(2026, 10, 27, 12));

function budget(id: string, scopeType: BudgetSnapshot["scopeType"], scopeId: string | null): BudgetSnapshot {
  return {
    id,
    name: null,
    scopeType,
    scopeId,
    provider: null,
    model: null,
    limitNanoUsd: 100_000_000_000,
    period: "1mo",
    mode: "calendar",
    timeZone: "UTC",
    anchorAt: null,
    createdAt: 0,
    updatedAt: 0,
    scopeName: null,
  };
}

const keyBudgets = [budget("bud_key", "key", "vk_me"), budget("bud_team", "team", "team_me")];
const globalBudget = budget("bud_global", "global", null);
const key = {
  id: "vk_me",
  name: "me",
  team: { id: "team_me", name: "Payments" },
  customer: { id: "cus_me", name: "Acme" },
  developer: { id: "dev_me", name: "Ada", email: null },
  labels: { env: "prod" },
  budgets: keyBudgets,
  rateLimits: [],
} as unknown as VirtualKeySnapshot;
const governance = {
  unscopedBudgets: [globalBudget],
  unscopedRateLimits: [],
  budgetsById: new Map([...keyBudgets, globalBudget].map((b) => [b.id, b])),
} as unknown as GovernanceSnapshot;

const counters = new MemoryCounterStore({ clock });
const pricer: Pricer = { cost: () => ({ costNanoUsd: 0, priceVersion: "bench", warnings: [] }) };
const budgets = new BudgetGate(counters, pricer, clock);
const rates = new RateGate(counters);
// Some spend on each budget, so the figures are real numbers (30 %, 45 %, 10 %).
await counters.seed(
  [keyBudgets[0], keyBudgets[1], globalBudget].map((b, i) => ({
    key: budgets.counterKey(b as BudgetSnapshot, clock.now()).key,
    committed: ([30, 45, 10][i] as number) * 1_000_000_000,
  })),
);
const figures = new CounterBudgetFigures({
  governance: () => governance,
  budgets,
  rates,
  peek: (k) => counters.peek(k),
  peekWindow: (k) => counters.peekWindow(k),
});

const globalExpressions = [
  (i: number) => `model == "claude-opus-4-${i}"`,
  (i: number) => `model.startsWith("gemini-${i}")`,
  (i: number) => `"x-route-tier" in headers && headers["x-route-tier"] == "gold-${i}"`,
  (i: number) => `budget_used > ${90 + (i % 10)}.5 && model != "x"`,
  (i: number) => `budget.team > 99.0 || budget.key > ${95 + (i % 5)}.0`,
  (i: number) => `input_tokens > ${200_000 + i} && has_tools`,
  (i: number) => `key.labels[?"tier"].orValue("") == "t${i}"`,
  (i: number) => `(hour >= 22 || hour < 5) && weekday == ${i % 7} && agent == "a${i}"`,
];
const rules: RoutingRule[] = [];
const stamp = new Date(0).toISOString();
for (let i = 0; i < 100; i++) {
  const global = i < 40;
  const scopeTypes = ["key", "team", "customer", "developer"] as const;
  rules.push({
    id: `rr_${String(i).padStart(4, "0")}`,
    name: `rule ${i}`,
    description: null,
    scope: global ? { type: "global", id: null } : { type: scopeTypes[i % 4] as "key", id: `other_${i}` },
    priority: i % 7,
    enabled: true,
    expression: global
      ? (globalExpressions[i % globalExpressions.length] as (i: number) => string)(i)
      : `model == "m${i}"`,
    targets: [{ provider: "openai", model: `gpt-${i}`, key: null, weight: 1 }],
    fallbacks: [],
    source: "api",
    createdAt: stamp,
    updatedAt: stamp,
  });
}
const set = new RuleSet(rules, { figures, timeZone: "Europe/Berlin" });
const input: RoutingInput = {
  model: "gpt-4o",
  provider: "openai",
  headers: { "content-type": "application/json", "user-agent": "claude-cli/2.0", "x-route-tier": "silver" },
  key,
  agent: "claude-code",
  sessionId: "s1",
  estimatedInputTokens: 12_000,
  hasTools: true,
  now: clock.now(),
};
const explained = set.explain(input);
if (explained.decision.rule !== null) throw new Error(`a rule matched: ${explained.decision.rule.name}`);
const errors = explained.evaluated.filter((e) => e.error);
console.log(
  `rules loaded: ${set.size}; evaluated per request: ${explained.evaluated.length}; errors: ${errors.length}; budget_used ${explained.variables.budget_used}`,
);

function measure(label: string, run: () => unknown): void {
  for (let i = 0; i < 20_000; i++) run(); // warm up (JIT)
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) run();
  const used = process.cpuUsage(before);
  const us = (used.user + used.system) / iterations;
  console.log(`${label}: ${us.toFixed(2)} µs CPU per decide (${iterations} iterations)`);
}

measure("100 rules, none matching", () => set.decide(input));
const empty = new RuleSet([]);
measure("no rules", () => empty.decide(input));
// No help from the scope index: all 100 rules global (the 60 scoped ones become model checks everyone evaluates).
const allGlobal = new RuleSet(
  rules.map((r) => ({ ...r, scope: { type: "global", id: null } })),
  { figures, timeZone: "Europe/Berlin" },
);
measure("100 global rules, none matching", () => allGlobal.decide(input));
// The unguarded form: `headers["x-team"] == …` on a request without the header is an evaluation error (no match).
const unguarded = new RuleSet(
  rules.map((r, i) =>
    i < 10 ? { ...r, scope: { type: "global", id: null }, expression: `headers["x-team-${i}"] == "a"` } : r,
  ),
  { figures },
);
measure("100 rules, 10 of them erroring on a missing header", () => unguarded.decide(input));
