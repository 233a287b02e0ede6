import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { ManualClock } from "../../src/clock.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import type { LogWriter } from "../../src/store/log-writer.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

// Issue acceptance 2 on the Redis counter backend: budget-periods.test.ts runs these on in-process counters. Here two
// gateways share one PostgreSQL schema and one Redis (counters and governance sync) and one ManualClock, so a window
// counted by Redis scripts (which take the injected time) must reset exactly once, and an edit on one process (which
// reloads the snapshot and re-runs the budget seed on both) must keep the spend Redis holds.
//
// claude-sonnet-4-5 ($3 in, $15 out per million), 10 input + 100 output tokens: $0.00153 per call. The admission
// estimate is a bit more, so a $0.004 budget admits two calls ($0.00306 spent) and refuses the third.
const USAGE = { input_tokens: 10, output_tokens: 100 };
const SMALL_LIMIT = "0.004";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

interface BudgetView {
  id: string;
  spentUsd: string;
  heldUsd: string;
  limitUsd: string;
  windowStart: string;
  resetsAt: string | null;
}

async function admin(gw: TestGateway, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function call(gw: TestGateway, secret: string): Promise<number> {
  const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "x-api-key": secret,
      "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
    },
    body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function usage(gw: TestGateway, secret: string): Promise<BudgetView> {
  const res = await fetch(`${gw.url}/tollgate/usage`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { budgets: BudgetView[] };
  assert.equal(body.budgets.length, 1);
  return body.budgets[0] as BudgetView;
}

/** Polls `probe` (real time: the snapshot sync runs on timers and pub/sub, not on the manual clock). */
async function waitUntil(probe: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Keeps a process's request-log rows in memory (the database lags the counters by design); `release` writes them. */
function holdRows(writer: LogWriter): { release(): void } {
  const held: RequestLogRecord[] = [];
  writer.write = (record) => void held.push(record);
  return {
    release() {
      Reflect.deleteProperty(writer, "write");
      for (const record of held) writer.write(record);
    },
  };
}

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skip = (await requireRedis(redisUrl)) ?? (await requirePostgres(pgUrl));

describe("budget periods on Redis counters, two gateways sharing PostgreSQL and Redis (manual clock)", {
  skip: skip ?? false,
}, () => {
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const schema = randomSchemaName("budget_periods_redis");
  const clock = new ManualClock(at("2026-01-05T10:17:23.456Z"));
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    const env = { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix };
    const options = { upstreamUrl: mock.url, env, clock, databaseUrl: pgUrl, databaseSchema: schema };
    // One after the other: the first runs the migrations.
    a = await startTestGateway(options);
    b = await startTestGateway(options);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    await dropSchema(pgUrl, schema);
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** A key with one $0.004 budget, created on A; resolves once B knows it too. */
  const createKey = async (name: string, budget: Record<string, unknown>) => {
    const key = await admin(a, "POST", "/virtual-keys", {
      name,
      budgets: [{ name: "b", limitUsd: SMALL_LIMIT, ...budget }],
    });
    const id = String(key.id);
    const budgetId = String((key.budgets as { id: string }[])[0]?.id);
    await waitUntil(() => b.gateway.runtime.governance.byId.has(id), "B knows the new key");
    return { id, secret: String(key.secret), budgetId };
  };

  /** `admitted` calls pass, alternating B and A; the next one is refused on both. */
  const exhaust = async (secret: string, admitted = 2) => {
    for (let i = 0; i < admitted; i++) {
      const gw = i % 2 === 0 ? b : a;
      assert.equal(await call(gw, secret), 200, `call ${i + 1} admitted`);
    }
    assert.equal(await call(a, secret), 402, "the budget is exhausted (A)");
    assert.equal(await call(b, secret), 402, "the budget is exhausted (B)");
  };

  /** Both processes read the same counter from Redis. */
  const spentOnBoth = async (secret: string): Promise<string> => {
    const [onA, onB] = await Promise.all([usage(a, secret), usage(b, secret)]);
    assert.deepEqual(
      [onB.spentUsd, onB.heldUsd, onB.windowStart],
      [onA.spentUsd, onA.heldUsd, onA.windowStart],
      "A and B see the same window and spend",
    );
    return onA.spentUsd;
  };

  it("a rolling 1d budget resets exactly once, 24 h after its anchor, on both processes", async () => {
    const anchor = at("2026-01-05T10:17:23.456Z");
    clock.set(anchor);
    const key = await createKey("rolling", { period: "1d", mode: "rolling" });
    await exhaust(key.secret);
    let view = await usage(a, key.secret);
    assert.deepEqual([view.spentUsd, view.windowStart, view.resetsAt], ["0.003060000", iso(anchor), iso(anchor + DAY)]);
    assert.equal(await spentOnBoth(key.secret), "0.003060000");
    // The window is counted in Redis under this file's prefix, not in either process.
    const redis = new Redis(redisUrl);
    try {
      const counted = await redis.keys(`${prefix}*${key.budgetId}*`);
      assert.ok(counted.length > 0, "a Redis counter for the budget");
    } finally {
      redis.disconnect();
    }

    clock.set(anchor + 13 * HOUR);
    assert.equal(await call(b, key.secret), 402, "mid-window: still refused (B)");
    clock.set(anchor + DAY - 1);
    assert.equal(await call(a, key.secret), 402, "1 ms before the reset: still refused (A)");
    assert.equal(await call(b, key.secret), 402, "1 ms before the reset: still refused (B)");
    clock.set(anchor + DAY);
    assert.equal(await call(b, key.secret), 200, "at the reset: admitted (B)");
    view = await usage(a, key.secret);
    assert.deepEqual(
      [view.spentUsd, view.windowStart, view.resetsAt],
      ["0.001530000", iso(anchor + DAY), iso(anchor + 2 * DAY)],
      "only the new window's call counts, as A reads it",
    );
    // Once per window: exhausted again, it stays refused on both until the next anchor multiple.
    assert.equal(await call(a, key.secret), 200);
    assert.equal(await call(a, key.secret), 402);
    assert.equal(await call(b, key.secret), 402);
    clock.set(anchor + 2 * DAY - 1);
    assert.equal(await call(a, key.secret), 402);
    assert.equal(await call(b, key.secret), 402);
    assert.equal(await spentOnBoth(key.secret), "0.003060000", "the first window's spend did not come back");
    clock.set(anchor + 2 * DAY);
    assert.equal(await call(a, key.secret), 200);
    assert.equal(await spentOnBoth(key.secret), "0.001530000");
  });

  it("editing the key (name, allowed models, session caps) and the budget's limit on A keeps the spend on A and B", async () => {
    clock.set(at("2026-05-10T08:00:00Z"));
    const key = await createKey("edit-me", { period: "1d", mode: "calendar" });
    await exhaust(key.secret);
    await admin(a, "PATCH", `/virtual-keys/${key.id}`, { name: "edited" });
    await waitUntil(() => b.gateway.runtime.governance.byId.get(key.id)?.name === "edited", "B reloads the rename");
    assert.equal(await spentOnBoth(key.secret), "0.003060000");
    assert.equal(await call(b, key.secret), 402, "renamed: still exhausted (B)");
    assert.equal(await call(a, key.secret), 402, "renamed: still exhausted (A)");
    await admin(a, "PATCH", `/virtual-keys/${key.id}`, {
      allowedModels: ["claude-*"],
      sessionCaps: { maxRequests: 100 },
    });
    await waitUntil(
      () => b.gateway.runtime.governance.byId.get(key.id)?.sessionCaps?.maxRequests === 100,
      "B reloads the caps",
    );
    assert.equal(await spentOnBoth(key.secret), "0.003060000");
    assert.equal(await call(b, key.secret), 402, "new allowed models and caps: still exhausted (B)");
    // $0.005 leaves room for exactly one more call on top of the $0.00306 already spent.
    await admin(a, "PATCH", `/budgets/${key.budgetId}`, { limitUsd: "0.005" });
    await waitUntil(
      () => b.gateway.runtime.governance.budgetsById.get(key.budgetId)?.limitNanoUsd === 5_000_000,
      "B reloads the limit",
    );
    assert.equal(await spentOnBoth(key.secret), "0.003060000");
    assert.equal(await call(b, key.secret), 200);
    assert.equal(await call(a, key.secret), 402, "the raised limit is spent, not a fresh one (A)");
    assert.equal(await call(b, key.secret), 402, "the raised limit is spent, not a fresh one (B)");
    assert.equal(await spentOnBoth(key.secret), "0.004590000");
  });

  it("editing a key right after its rolling window rolled over keeps the new window's spend (log held back)", async () => {
    const anchor = at("2026-06-01T12:00:00Z");
    clock.set(anchor);
    const key = await createKey("edit-after-rollover", { period: "1d", mode: "rolling" });
    await exhaust(key.secret);
    clock.set(anchor + DAY + HOUR);
    // Redis holds the new window's spend; the request log lags behind by design (batched writes). Holding both
    // processes' rows back makes the lag certain: a reload that rebuilt the counter from the log would lose it.
    const heldA = holdRows(a.gateway.logWriter);
    const heldB = holdRows(b.gateway.logWriter);
    try {
      await exhaust(key.secret);
      await admin(a, "PATCH", `/virtual-keys/${key.id}`, { name: "edited-after-rollover" });
      await waitUntil(
        () => b.gateway.runtime.governance.byId.get(key.id)?.name === "edited-after-rollover",
        "B reloads the rename",
      );
      assert.equal(await spentOnBoth(key.secret), "0.003060000");
      assert.equal(await call(a, key.secret), 402, "still exhausted after the edit (A)");
      assert.equal(await call(b, key.secret), 402, "still exhausted after the edit (B)");
    } finally {
      heldA.release();
      heldB.release();
    }
    await admin(a, "PATCH", `/budgets/${key.budgetId}`, { limitUsd: "0.005" });
    await waitUntil(
      () => b.gateway.runtime.governance.budgetsById.get(key.budgetId)?.limitNanoUsd === 5_000_000,
      "B reloads the limit",
    );
    assert.equal(await spentOnBoth(key.secret), "0.003060000");
    assert.equal(await call(b, key.secret), 200);
    assert.equal(await call(a, key.secret), 402);
    assert.equal(await spentOnBoth(key.secret), "0.004590000");
  });

  it("neither process warned about Redis or the governance sync", () => {
    const warnings = [...a.warnings, ...b.warnings].filter((w) => /Redis|governance sync|snapshot/i.test(w));
    assert.deepEqual(warnings, []);
  });
});
