import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../../src/clock.ts";
import { MemoryCounterStore } from "../../../src/counters/memory-store.ts";
import { BudgetGate } from "../../../src/governance/budget-gate.ts";
import type { BudgetSnapshot, GovernanceSnapshot, RateLimitSnapshot } from "../../../src/governance/entities/index.ts";
import { RateGate } from "../../../src/governance/rate-gate.ts";
import type { Pricer } from "../../../src/pipeline/runtime.ts";
import { CounterBudgetFigures } from "../../../src/routing/rules/budget-figures.ts";
import { CelCompileError, compileExpression } from "../../../src/routing/rules/cel.ts";
import { RuleSet } from "../../../src/routing/rules/rule-set.ts";
import { RuleCreateSchema } from "../../../src/routing/rules/schemas.ts";
import { input, keySnapshot, rule, seededRandom } from "./fixtures.ts";

describe("routing rules: compiling", () => {
  it("refuses a syntax error with its position", () => {
    assert.throws(
      () => compileExpression('model == "a" &&'),
      (e: unknown) => e instanceof CelCompileError && e.position === 15 && /position 15/.test(e.message),
    );
  });
  it("refuses unknown variables, type mismatches and non-bool results", () => {
    assert.throws(() => compileExpression("modle == 'x'"), /Unknown variable: modle/);
    assert.throws(() => compileExpression("model == 1"), /no such overload/);
    assert.throws(() => compileExpression("budget.nope > 1.0"), CelCompileError);
    assert.throws(() => compileExpression("model"), /must evaluate to a bool, not string/);
    assert.throws(() => compileExpression("  "), /empty/);
  });
  it("accepts every documented variable", () => {
    const e = compileExpression(
      'model == "m" && provider == "" && headers["x"] == "y" && key.id == "k" && key.labels["env"] == "prod" && ' +
        'developer.name == "d" && team.id == "t" && customer.name == "c" && budget_used > 50 && budget.team > 1.5 && ' +
        'tokens_used < 10.0 && agent == "claude-code" && session_id != "" && input_tokens > 1000 && has_tools && ' +
        "hour >= 9 && weekday < 6",
    );
    assert.ok(e.uses.roots.has("headers"));
    assert.deepEqual([...e.uses.budgetLevels], ["team"]);
  });
  it("the create schema names the field and keeps the shorthand", () => {
    const bad = RuleCreateSchema.safeParse({ name: "r", expression: "model ==", targets: ["openai/gpt-4o"] });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error?.issues[0]?.path, ["expression"]);
    const ok = RuleCreateSchema.parse({ name: "r", expression: "true", targets: ["openai/gpt-4o", "gpt-4o-mini"] });
    assert.deepEqual(ok.targets, [
      { provider: "openai", model: "gpt-4o", key: null, weight: 1 },
      { provider: null, model: "gpt-4o-mini", key: null, weight: 1 },
    ]);
    assert.deepEqual(ok.scope, { type: "global", id: null });
    assert.equal(RuleCreateSchema.safeParse({ name: "r", expression: "true", targets: [] }).success, false);
    assert.equal(
      RuleCreateSchema.safeParse({ name: "r", expression: "true", targets: ["a/b"], scope: { type: "team" } }).success,
      false,
    );
  });
});

describe("routing rules: evaluation order", () => {
  const key = keySnapshot();
  const scoped = (type: "key" | "developer" | "team" | "customer", id: string, name: string) =>
    rule({ name, scope: { type, id }, expression: "true" });

  it("key beats developer beats team beats customer beats global, whatever the priority", () => {
    const rules = [
      rule({ name: "global", expression: "true", priority: 100 }),
      scoped("customer", "cus_1", "customer"),
      scoped("team", "team_1", "team"),
      scoped("developer", "dev_1", "developer"),
      scoped("key", "vk_1", "key"),
    ];
    const order: string[] = [];
    let remaining = rules;
    while (remaining.length > 0) {
      const hit = new RuleSet(remaining).decide(input({ key }));
      assert.ok(hit);
      order.push(hit.rule.name);
      remaining = remaining.filter((r) => r.name !== hit.rule.name);
    }
    assert.deepEqual(order, ["key", "developer", "team", "customer", "global"]);
  });

  it("within a scope, higher priority first; first match wins; disabled rules are ignored", () => {
    const set = new RuleSet([
      rule({ name: "low", expression: "true", priority: 1 }),
      rule({ name: "high but false", expression: 'model == "other"', priority: 9 }),
      rule({ name: "middle", expression: "true", priority: 5 }),
      rule({ name: "disabled", expression: "true", priority: 50, enabled: false }),
    ]);
    assert.equal(set.size, 3);
    assert.equal(set.decide(input())?.rule.name, "middle");
    const explained = set.explain(input());
    assert.deepEqual(
      explained.evaluated.map((e) => [e.name, e.matched]),
      [
        ["high but false", false],
        ["middle", true],
      ],
    );
  });

  it("rules of other keys, teams and customers are never evaluated", () => {
    const set = new RuleSet([
      scoped("key", "vk_other", "other key"),
      scoped("team", "team_other", "other team"),
      rule({ name: "global", expression: "false" }),
    ]);
    assert.equal(set.decide(input({ key })), null);
    assert.deepEqual(
      set.explain(input({ key })).evaluated.map((e) => e.name),
      ["global"],
    );
    // Without a key only global rules apply.
    assert.equal(new RuleSet([scoped("key", "vk_1", "mine")]).decide(input()), null);
  });

  it("an evaluation error (missing header) does not match, and explain says why", () => {
    const set = new RuleSet([
      rule({ name: "needs header", expression: 'headers["x-team"] == "a"', priority: 2 }),
      rule({ name: "fallback", expression: "true" }),
    ]);
    const stackLimit = Error.stackTraceLimit;
    assert.equal(set.decide(input())?.rule.name, "fallback");
    assert.equal(Error.stackTraceLimit, stackLimit, "the stack trace limit is restored");
    assert.equal(set.decide(input({ headers: { "X-Team": "a" } }))?.rule.name, "needs header");
    const explained = set.explain(input());
    assert.equal(explained.evaluated[0]?.matched, false);
    assert.match(String(explained.evaluated[0]?.error), /No such key: x-team/);
    assert.equal(explained.decision.rule?.name, "fallback");
  });

  it("variables: key, owners, labels, tokens, tools, agent, hour and weekday in the routing time zone", () => {
    // 2026-11-27 23:30 UTC is Saturday 00:30 in Berlin (UTC+1 in November).
    const now = Date.UTC(2026, 10, 27, 23, 30);
    const set = new RuleSet(
      [
        rule({
          name: "all",
          expression:
            'key.name == "laptop" && key.labels["env"] == "prod" && team.name == "Payments" && customer.id == "cus_1" && ' +
            'developer.name == "Ada" && input_tokens > 100000 && has_tools && agent == "codex" && session_id == "s" && ' +
            'hour == 0 && weekday == 6 && model == "gpt-4o" && provider == "openai"',
        }),
      ],
      { timeZone: "Europe/Berlin" },
    );
    const base = {
      key,
      now,
      estimatedInputTokens: 150_000,
      hasTools: true,
      agent: "codex",
      sessionId: "s",
      provider: "openai",
    };
    assert.equal(set.decide(input(base))?.rule.name, "all");
    assert.equal(set.decide(input({ ...base, hasTools: false })), null);
    assert.equal(set.decide(input({ ...base, now: now - 3_600_000 })), null, "an hour earlier is Friday 23:xx");
    const vars = set.explain(input(base)).variables;
    assert.equal(vars.hour, 0);
    assert.equal(vars.weekday, 6);
    assert.equal(vars.input_tokens, 150_000);
  });
});

describe("routing rules: weighted targets", () => {
  it("over 5,000 decisions each target's share is within 2 points of its weight", () => {
    const set = new RuleSet([
      rule({
        name: "split",
        expression: "true",
        targets: [
          { provider: "openai", model: "a", key: null, weight: 5 },
          { provider: "anthropic", model: "b", key: "pk_1", weight: 3 },
          { provider: null, model: "c", key: null, weight: 2 },
        ],
        fallbacks: [{ provider: "gemini", model: "d", key: null }],
      }),
    ]);
    const random = seededRandom(42);
    const counts = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const d = set.decide(input(), random);
      assert.ok(d);
      counts.set(d.target.model, (counts.get(d.target.model) ?? 0) + 1);
    }
    for (const [model, weight] of [
      ["a", 0.5],
      ["b", 0.3],
      ["c", 0.2],
    ] as const) {
      const share = (counts.get(model) ?? 0) / 5000;
      assert.ok(Math.abs(share - weight) <= 0.02, `${model}: ${share} vs ${weight}`);
    }
    const d = set.decide(input(), () => 0.99);
    assert.equal(d?.target.model, "c");
    assert.equal(d?.targets.length, 3);
    assert.deepEqual(d?.fallbacks, [{ provider: "gemini", model: "d", key: null, weight: 1 }]);
  });

  it("with no rules decide returns null", () => {
    assert.equal(new RuleSet([]).decide(input()), null);
  });
});

describe("routing rules: budget figures from in-process counters", () => {
  const budget = (id: string, scopeType: BudgetSnapshot["scopeType"], scopeId: string | null): BudgetSnapshot => ({
    id,
    name: null,
    scopeType,
    scopeId,
    provider: null,
    model: null,
    limitNanoUsd: 1_000_000_000,
    period: "never",
    mode: "calendar",
    timeZone: "UTC",
    anchorAt: null,
    createdAt: 0,
    updatedAt: 0,
    scopeName: null,
  });

  it("budget_used is the fullest applicable budget, committed plus reserved; per level; tokens_used", async () => {
    const clock = new ManualClock();
    const counters = new MemoryCounterStore({ clock });
    const pricer: Pricer = { cost: () => ({ costNanoUsd: 0, priceVersion: "t", warnings: [] }) };
    const budgets = new BudgetGate(counters, pricer, clock);
    const rates = new RateGate(counters);
    const keyBudget = budget("bud_k", "key", "vk_1");
    const teamBudget = budget("bud_t", "team", "team_1");
    const globalBudget = budget("bud_g", "global", null);
    const tokenLimit = {
      id: "rl_1",
      name: null,
      scopeType: "key",
      scopeId: "vk_1",
      provider: null,
      model: null,
      window: "1m",
      maxRequests: null,
      maxTokens: 1000,
      maxConcurrent: null,
      createdAt: 0,
      updatedAt: 0,
      scopeName: null,
    } as RateLimitSnapshot;
    const key = keySnapshot({ budgets: [keyBudget, teamBudget], rateLimits: [tokenLimit] });
    const governance = {
      unscopedBudgets: [globalBudget],
      unscopedRateLimits: [],
      budgetsById: new Map([keyBudget, teamBudget, globalBudget].map((b) => [b.id, b])),
    } as unknown as GovernanceSnapshot;
    const figures = new CounterBudgetFigures({
      governance: () => governance,
      budgets,
      rates,
      peek: (k) => counters.peek(k),
      peekWindow: (k) => counters.peekWindow(k),
    });
    const counterKey = (b: BudgetSnapshot) => budgets.counterKey(b, clock.now()).key;
    await counters.seed([
      { key: counterKey(keyBudget), committed: 300_000_000 },
      { key: counterKey(teamBudget), committed: 500_000_000 },
      { key: counterKey(globalBudget), committed: 100_000_000 },
    ]);
    // A live reservation counts too.
    await counters.reserve({
      id: "r1",
      items: [{ key: counterKey(teamBudget), amount: 350_000_000, limit: 1e12 }],
      ttlMs: 60_000,
    });
    await counters.hit([{ key: "rate:rl_1:tok", limit: 10_000, windowMs: 60_000, cost: 400 }]);
    const set = new RuleSet([rule({ name: "tight", expression: "budget_used > 80.0 && tokens_used >= 40.0" })], {
      figures,
    });
    const now = clock.now();
    const explained = set.explain(input({ key, now }));
    assert.equal(explained.variables.budget_used, 85);
    assert.deepEqual(explained.variables.budget, { key: 30, developer: 0, team: 85, customer: 0, global: 10 });
    assert.equal(explained.variables.tokens_used, 40);
    assert.equal(explained.decision.rule?.name, "tight");
    await counters.release("r1");
    assert.equal(set.decide(input({ key, now })), null, "50 % once the reservation is gone");
    // Without a key only the global budget applies.
    assert.equal(set.explain(input({ now })).variables.budget_used, 10);
  });
});
