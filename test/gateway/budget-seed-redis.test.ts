import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisCounterStore } from "../../src/counters/redis-store.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import type { LogWriter } from "../../src/store/log-writer.ts";
import type { Db } from "../../src/store/schema.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

// claude-sonnet-4-5, 10 input + 100 output tokens: $0.00153 per call. A $0.005 budget admits three calls and refuses
// the fourth; a $0.004 one admits two (the admission estimate is a bit above the actual cost).
const USAGE = { input_tokens: 10, output_tokens: 100 };
const CALL_NANO = 1_530_000;

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skip = (await requireRedis(redisUrl)) ?? (await requirePostgres(pgUrl));
const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
const schema = randomSchemaName("budget_seed_redis");

async function deleteKeys(keyPrefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    return keys.length;
  } finally {
    redis.disconnect();
  }
}

async function keyExists(key: string): Promise<boolean> {
  const redis = new Redis(redisUrl);
  try {
    return (await redis.exists(key)) === 1;
  } finally {
    redis.disconnect();
  }
}

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Keeps a process's request-log rows in memory (the database lags); `release` writes them. */
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

/** Holds this process's request-log aggregates (the budget seeder's queries) until `release`. */
function holdLogQueries(db: Db): { reached: Promise<void>; release(): void } {
  let reachedNow = () => {};
  const reached = new Promise<void>((r) => (reachedNow = r));
  let releaseNow = () => {};
  const released = new Promise<void>((r) => (releaseNow = r));
  const wrap = (builder: object): object =>
    new Proxy(builder, {
      get(target, prop) {
        const member: unknown = Reflect.get(target, prop, target);
        if (typeof member !== "function") return member;
        if (prop === "executeTakeFirst" || prop === "execute") {
          return async (...args: unknown[]) => {
            reachedNow();
            await released;
            return member.apply(target, args);
          };
        }
        return (...args: unknown[]) => {
          const result: unknown = member.apply(target, args);
          return typeof result === "object" && result !== null ? wrap(result) : result;
        };
      },
    });
  const original = db.selectFrom.bind(db);
  Object.assign(db, {
    selectFrom: (table: never) => (table === "request_logs" ? wrap(original(table)) : original(table)),
  });
  return {
    reached,
    release() {
      Reflect.deleteProperty(db, "selectFrom");
      releaseNow();
    },
  };
}

describe("budget counters shared through Redis outrun the request log (two processes, PostgreSQL)", {
  skip: skip ?? false,
}, () => {
  let mock: MockUpstream;
  const running: TestGateway[] = [];
  const start = async () => {
    const gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix },
      databaseUrl: pgUrl,
      databaseSchema: schema,
    });
    running.push(gw);
    return gw;
  };
  const stop = async (gw: TestGateway) => {
    running.splice(running.indexOf(gw), 1);
    await gw.close();
  };

  const createKey = async (gw: TestGateway, name: string, limitUsd: string) => {
    const res = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name, budgets: [{ name: "b", limitUsd, period: "never" }] }),
    });
    const body = (await res.json()) as { secret: string; budgets: { id: string }[] };
    assert.equal(res.status, 201, JSON.stringify(body));
    return { secret: body.secret, budgetId: String(body.budgets[0]?.id) };
  };
  const call = async (gw: TestGateway, secret: string): Promise<number> => {
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": secret,
        "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  /** The key's budget spend as GET /tollgate/usage shows it, or the HTTP status when that is not 200. */
  const spent = async (gw: TestGateway, secret: string): Promise<string | number> => {
    const res = await fetch(`${gw.url}/tollgate/usage`, { headers: { authorization: `Bearer ${secret}` } });
    if (res.status !== 200) {
      await res.arrayBuffer();
      return res.status;
    }
    const body = (await res.json()) as { budgets: { spentUsd: string }[] };
    return String(body.budgets[0]?.spentUsd);
  };

  let a: TestGateway;
  let first: { secret: string; budgetId: string };
  let second: { secret: string; budgetId: string };

  before(async () => {
    mock = await startMockUpstream();
    a = await start();
  });
  after(async () => {
    for (const gw of [...running]) await gw.close();
    await mock?.close();
    await dropSchema(pgUrl, schema);
    await deleteKeys(prefix);
  });

  it("a process starting while another's rows are unwritten keeps the shared spend", async () => {
    first = await createKey(a, "first", "0.005");
    assert.equal(await call(a, first.secret), 200);
    await a.logs();
    const rows = holdRows(a.gateway.logWriter);
    try {
      assert.equal(await call(a, first.secret), 200);
      assert.equal(await call(a, first.secret), 200);
      // The log holds one call; the shared counter three. A start must not set the counter back to the log's sum.
      const b = await start();
      assert.equal(await spent(b, first.secret), "0.004590000");
      assert.equal(await spent(a, first.secret), "0.004590000");
      assert.equal(await call(b, first.secret), 402, "B refuses: the budget is spent");
      assert.equal(await call(a, first.secret), 402);
    } finally {
      rows.release();
    }
  });

  it("a budget announced by A is seeded on B before B serves it, without overwriting A's spend", async () => {
    const b = running[1] as TestGateway;
    const queries = holdLogQueries(b.gateway.database.db);
    let rows: { release(): void } | undefined;
    try {
      second = await createKey(a, "second", "0.004");
      // B heard of the key and is seeding its budget (query held): it does not serve the key yet.
      await Promise.race([
        queries.reached,
        new Promise((_, reject) => setTimeout(() => reject(new Error("B did not start seeding")), 5000)),
      ]);
      assert.equal(await spent(b, second.secret), 401, "B publishes the snapshot only once its counters are seeded");
      rows = holdRows(a.gateway.logWriter);
      assert.equal(await call(a, second.secret), 200);
      assert.equal(await call(a, second.secret), 200);
    } finally {
      queries.release();
    }
    try {
      // B's seed finds the log empty for this budget, but the shared counter exists: it is left as it is.
      await waitUntil(async () => (await spent(b, second.secret)) !== 401, "B serves the new key");
      assert.equal(await spent(b, second.secret), "0.003060000");
      assert.equal(await spent(a, second.secret), "0.003060000");
      assert.equal(await call(b, second.secret), 402);
    } finally {
      rows?.release();
    }
  });

  it("Redis losing its data: running processes and the next start rebuild the counters from the log", async () => {
    const b = running[1] as TestGateway;
    await a.logs();
    await b.logs();
    // Every row is in the database now: 3 calls on the first key, 2 on the second.
    assert.ok((await deleteKeys(prefix)) > 0);
    // The processes notice (the announcement version went back) and rebuild, then mark the store seeded.
    await waitUntil(() => keyExists(`${prefix}seeded`), "a running process rebuilds the counters");
    await waitUntil(async () => (await spent(b, first.secret)) === "0.004590000", "B reads the rebuilt counter");
    assert.equal(await spent(a, first.secret), "0.004590000");
    assert.equal(await spent(a, second.secret), "0.003060000");

    const budget = a.gateway.runtime.governance.budgetsById.get(first.budgetId);
    assert.ok(budget);
    const counterKey = a.gateway.runtime.budgets.counterKey(budget, Date.now()).key;
    await stop(b);
    await stop(a);
    await deleteKeys(prefix);
    // A process kept booking after the loss (its row is in the log too): an existing counter that is not the truth.
    const other = new RedisCounterStore({ url: redisUrl, prefix });
    await other.connect();
    try {
      await other.commit("booked-after-the-loss", [{ key: counterKey, amount: CALL_NANO }]);
    } finally {
      await other.close();
    }
    const c = await start();
    assert.equal(await spent(c, first.secret), "0.004590000", "the start rebuilt from the log, not kept the remnant");
    assert.equal(await spent(c, second.secret), "0.003060000");
    assert.ok(await keyExists(`${prefix}seeded`));
    assert.equal(await call(c, first.secret), 402);
  });

  it("a reload whose seeding fails still publishes the change (and tells the caller)", async () => {
    const c = running[0] as TestGateway;
    const db = c.gateway.database.db;
    const original = db.selectFrom.bind(db);
    Object.assign(db, {
      selectFrom: (table: never) => {
        if (table === "request_logs") throw new Error("request log unreadable");
        return original(table);
      },
    });
    let res: Response;
    try {
      res = await fetch(`${c.url}/api/virtual-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "unseeded", budgets: [{ name: "b", limitUsd: "0.004", period: "never" }] }),
      });
    } finally {
      Reflect.deleteProperty(db, "selectFrom");
    }
    assert.equal(res.status, 500, await res.clone().text());
    // The write is committed, and the snapshot with it (its key's budget) is served despite the failed seed.
    const budgets = [...c.gateway.runtime.governance.budgetsById.values()];
    assert.ok(budgets.some((b) => b.scopeName === "unseeded"));
  });
});
