import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { SnapshotSync } from "../../src/governance/snapshot-sync.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const url = testRedisUrl();
const skip = await requireRedis(url);
const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;

describe("budgets shared by two gateway processes through Redis", { skip: skip ?? false }, () => {
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    const env = { TOLLGATE_REDIS_URL: url, TOLLGATE_REDIS_PREFIX: prefix };
    a = await startTestGateway({ upstreamUrl: mock.url, env });
    b = await startTestGateway({ upstreamUrl: mock.url, env });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    const redis = new Redis(url);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("a global budget holds across both processes under concurrency", async () => {
    // A global daily budget of $0.01, created on each process's own database (they share only Redis here) with the
    // same id, as PostgreSQL-backed processes would share it. Each call costs $0.00153 (10 in + 100 out tokens).
    const created = await fetch(`${a.url}/api/budgets`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "global", scopeType: "global", limitUsd: "0.01", period: "1d" }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const budget = (await created.json()) as { id: string };
    // Mirror the budget row into b's database with the same id (what a shared PostgreSQL gives for free).
    const row = await a.gateway.database.db
      .selectFrom("budgets" as never)
      .selectAll()
      .where("id" as never, "=", budget.id as never)
      .executeTakeFirstOrThrow();
    await b.gateway.database.db
      .insertInto("budgets" as never)
      .values(row as never)
      .execute();
    // Announced like any change, so B's own reload publishes it: a reload in flight from A's announcement may have
    // read b's database before the row was there, and publishes only after seeding (it would undo an assignment).
    const sync = new SnapshotSync({ url, prefix });
    await sync.connect();
    await sync.announce();
    await sync.close();
    for (let i = 0; !b.gateway.runtime.governance.budgetsById.has(budget.id); i++) {
      assert.ok(i < 500, "B reloads the budget");
      await new Promise((r) => setTimeout(r, 10));
    }

    const call = (gw: TestGateway) =>
      fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "x-mock-script": JSON.stringify({ scenario: "text", usage: { input_tokens: 10, output_tokens: 100 } }),
        },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 100,
          messages: [{ role: "user", content: "hi" }],
        }),
      }).then((r) => r.status);
    const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => call(i % 2 === 0 ? a : b)));
    const rows = [...(await a.logs()), ...(await b.logs())].filter((r) => r.status === 200);
    const committed = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
    assert.ok(committed <= 10_000_000, `committed ${committed} nano-USD over the $0.01 limit`);
    assert.ok(statuses.includes(402), "the shared budget refused the overflow");
    assert.ok(rows.length >= 5, `admitted ${rows.length}`);
  });
});
