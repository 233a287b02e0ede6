import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { ManualClock } from "../../../src/clock.ts";
import { RedisCounterStore } from "../../../src/counters/redis-store.ts";
import { BudgetGate } from "../../../src/governance/budget-gate.ts";
import type {
  BudgetSnapshot,
  GovernanceSnapshot,
  RateLimitSnapshot,
  VirtualKeySnapshot,
} from "../../../src/governance/entities/index.ts";
import { RateGate } from "../../../src/governance/rate-gate.ts";
import type { Pricer } from "../../../src/pipeline/runtime.ts";
import { CounterBudgetFigures, CounterSnapshot } from "../../../src/routing/rules/budget-figures.ts";
import type { BudgetLevel } from "../../../src/routing/rules/cel.ts";
import { startMockUpstream } from "../../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../../helpers/redis.ts";
import { adminClient, spend } from "./api-cases.ts";

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skipRedis = await requireRedis(redisUrl);
const skipBoth = skipRedis ?? (await requirePostgres(pgUrl));
const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;

async function deleteKeys(): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

describe("routing rules' budget snapshot over Redis counters (driven by hand)", { skip: skipRedis ?? false }, () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 27));
  let store: RedisCounterStore;
  before(async () => {
    store = new RedisCounterStore({ url: redisUrl, prefix: `${prefix}unit:`, clock });
    await store.connect();
  });
  after(async () => {
    await store?.close();
    await deleteKeys();
  });

  it("reads only while rules want budgets, on each scheduled tick, and stops on close", async () => {
    const budget = {
      id: "bud_1",
      scopeType: "key",
      scopeId: "vk_1",
      provider: null,
      model: null,
      limitNanoUsd: 1000,
      period: "never",
      mode: "calendar",
      timeZone: "UTC",
      anchorAt: null,
      createdAt: 0,
      updatedAt: 0,
    } as unknown as BudgetSnapshot;
    const governance = { budgetsById: new Map([[budget.id, budget]]) } as unknown as GovernanceSnapshot;
    const pricer: Pricer = { cost: () => ({ costNanoUsd: 0, priceVersion: "t", warnings: [] }) };
    const gate = new BudgetGate(store, pricer, clock);
    const counterKey = gate.counterKey(budget, clock.now()).key;
    let wanted: ReadonlySet<BudgetLevel> = new Set();
    const ticks: { run: () => void; delayMs: number; cancelled: boolean }[] = [];
    const snapshot = new CounterSnapshot({
      counters: store,
      budgets: gate,
      governance: () => governance,
      wanted: () => wanted,
      now: () => clock.now(),
      scheduler: (run, delayMs) => {
        const tick = { run, delayMs, cancelled: false };
        ticks.push(tick);
        return () => {
          tick.cancelled = true;
        };
      },
    });
    await store.seed([{ key: counterKey, committed: 400 }]);
    snapshot.start();
    assert.equal(ticks.length, 1);
    assert.equal(ticks[0]?.delayMs, 1000, "at least once a second");
    await snapshot.refresh();
    assert.equal(snapshot.peek(counterKey), undefined, "no rule reads budgets: nothing read");

    wanted = new Set<BudgetLevel>(["key"]);
    ticks[0]?.run();
    await snapshot.refresh();
    assert.deepEqual(snapshot.peek(counterKey), { committed: 400, reserved: 0 });
    assert.equal(ticks.length, 2, "the next tick is scheduled after the read");

    await store.reserve({ id: "r", items: [{ key: counterKey, amount: 100, limit: 1000 }], ttlMs: 60_000 });
    assert.deepEqual(snapshot.peek(counterKey), { committed: 400, reserved: 0 }, "no round trip per read");
    ticks[1]?.run();
    await snapshot.refresh();
    assert.deepEqual(snapshot.peek(counterKey), { committed: 400, reserved: 100 });

    wanted = new Set<BudgetLevel>(["team"]);
    await snapshot.refresh();
    assert.equal(snapshot.peek(counterKey), undefined, "key budgets dropped once no rule reads them");

    await snapshot.close();
    assert.equal(ticks[2]?.cancelled, true);
  });

  it("tokens_used: the token windows of every token limit, read in the same snapshot while a rule wants them", async () => {
    const limit = {
      id: "rl_tok",
      name: "tpm",
      scopeType: "key",
      scopeId: "vk_2",
      scopeName: "k",
      provider: null,
      model: null,
      window: "1m",
      maxRequests: null,
      maxTokens: 1000,
      maxConcurrent: null,
      createdAt: 0,
      updatedAt: 0,
    } as RateLimitSnapshot;
    const key = { id: "vk_2", budgets: [], rateLimits: [limit] } as unknown as VirtualKeySnapshot;
    const governance = {
      budgetsById: new Map(),
      unscopedBudgets: [],
      unscopedRateLimits: [],
      byId: new Map([[key.id, key]]),
    } as unknown as GovernanceSnapshot;
    const pricer: Pricer = { cost: () => ({ costNanoUsd: 0, priceVersion: "t", warnings: [] }) };
    const gate = new BudgetGate(store, pricer, clock);
    const rates = new RateGate(store);
    let wantTokens = false;
    const snapshot = new CounterSnapshot({
      counters: store,
      budgets: gate,
      governance: () => governance,
      wanted: () => new Set<BudgetLevel>(),
      wantedTokens: () => wantTokens,
      now: () => clock.now(),
      scheduler: () => () => {},
    });
    const figures = new CounterBudgetFigures({
      governance: () => governance,
      budgets: gate,
      rates,
      peek: snapshot.peek,
      peekWindow: snapshot.peekWindow,
    });
    // Another process booked 250 tokens on the key's window.
    await store.hit([{ key: "rate:rl_tok:tok", limit: 999, windowMs: 60_000, cost: 250 }]);
    await snapshot.refresh();
    assert.equal(snapshot.peekWindow("rate:rl_tok:tok"), undefined, "no rule reads tokens_used: nothing read");
    wantTokens = true;
    await snapshot.refresh();
    assert.equal(snapshot.peekWindow("rate:rl_tok:tok"), 250);
    assert.equal(figures.read(key, "anthropic", "m", clock.now()).tokensUsed, 25);
    clock.advance(2 * 60_000);
    await snapshot.refresh();
    assert.equal(figures.read(key, "anthropic", "m", clock.now()).tokensUsed, 0, "the window slid past them");
    await snapshot.close();
  });
});

describe("routing rules with Redis (two processes, PostgreSQL)", { skip: skipBoth ?? false }, () => {
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;
  const schema = randomSchemaName("routing_redis");
  const start = () =>
    startTestGateway({
      upstreamUrl: mock.url,
      env: { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix },
      databaseUrl: pgUrl,
      databaseSchema: schema,
    });
  const adminA = adminClient(() => a);
  const adminB = adminClient(() => b);

  before(async () => {
    mock = await startMockUpstream();
    a = await start();
    b = await start();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    await dropSchema(pgUrl, schema);
    await deleteKeys();
  });

  it("a rule written on A reaches B's router; budget_used comes from the shared counters", async () => {
    const key = await adminA("POST", "/virtual-keys", {
      name: "shared",
      budgets: [{ name: "small", limitUsd: "0.002", period: "never" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const rule = await adminA("POST", "/routing-rules", {
      name: "near budget",
      expression: "budget_used > 50.0",
      targets: ["openai/gpt-4o-mini"],
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    // B hears of it through the governance sync (a Redis message, ~ms).
    const deadline = Date.now() + 5000;
    while (b.gateway.runtime.router.size !== 1) {
      if (Date.now() > deadline) assert.fail("B did not load the rule");
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(await spend(a, key.body.secret), 200);
    // Explain on B reads the shared counters afresh: A's spend shows there.
    const explained = await adminB("POST", "/routing/explain", { model: "claude-sonnet-4-5", key: key.body.id });
    assert.equal(explained.status, 200);
    assert.equal(explained.body.variables.budget_used, 76.5);
    assert.equal(explained.body.decision.rule?.name, "near budget");
  });

  it("tokens_used comes from the shared counters too: tokens spent on A are seen by B's rules", async () => {
    const key = await adminA("POST", "/virtual-keys", {
      name: "tokens",
      rateLimits: [{ name: "tpm", window: "1m", maxTokens: 1000 }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const rule = await adminA("POST", "/routing-rules", {
      name: "token heavy",
      expression: "tokens_used > 5.0",
      scope: { type: "key", id: key.body.id },
      targets: ["openai/gpt-4o-mini"],
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    const deadline = Date.now() + 5000;
    while (b.gateway.runtime.router.size !== 2) {
      if (Date.now() > deadline) assert.fail("B did not load the rule");
      await new Promise((r) => setTimeout(r, 10));
    }
    // 10 input + 100 output tokens: 11 % of the window.
    assert.equal(await spend(a, key.body.secret), 200);
    const explained = await adminB("POST", "/routing/explain", { model: "claude-sonnet-4-5", key: key.body.id });
    assert.equal(explained.status, 200, JSON.stringify(explained.body));
    assert.equal(explained.body.variables.tokens_used, 11);
    assert.equal(explained.body.decision.rule?.name, "token heavy");
  });
});
