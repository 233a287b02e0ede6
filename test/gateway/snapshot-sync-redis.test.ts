import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { SnapshotSync } from "../../src/governance/snapshot-sync.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skipRedis = await requireRedis(redisUrl);
const skipBoth = skipRedis ?? (await requirePostgres(pgUrl));
const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
const schema = randomSchemaName("snapsync");

/** Polls `probe` until it is true; the milliseconds it took (fails after `timeoutMs`). */
async function waitUntil(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 3000): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function deleteKeys(keyPrefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

describe("governance changes on one gateway process reach the others (PostgreSQL + Redis)", {
  skip: skipBoth ?? false,
}, () => {
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;

  const admin = async (gw: TestGateway, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const call = async (gw: TestGateway, secret?: string): Promise<number> => {
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        ...(secret ? { "x-api-key": secret } : {}),
        "x-mock-script": JSON.stringify({ scenario: "text", usage: { input_tokens: 10, output_tokens: 100 } }),
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
  const createKey = async (name: string): Promise<{ id: string; secret: string }> => {
    const created = await admin(a, "POST", "/virtual-keys", { name });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return { id: String(created.body.id), secret: String(created.body.secret) };
  };

  before(async () => {
    mock = await startMockUpstream();
    const env = { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix };
    const options = { upstreamUrl: mock.url, env, databaseUrl: pgUrl, databaseSchema: schema };
    // One after the other: the second finds the migrations done.
    a = await startTestGateway(options);
    b = await startTestGateway(options);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    await dropSchema(pgUrl, schema);
    await deleteKeys(prefix);
  });

  it("a key created on A authenticates on B (and B leaves anonymous mode)", async (t) => {
    assert.equal(await call(b), 200, "no key anywhere yet: anonymous on loopback");
    const key = await createKey("first");
    const ms = await waitUntil(async () => (await call(b, key.secret)) === 200, "B accepts the new key");
    t.diagnostic(`key creation propagated to B in ${ms.toFixed(1)} ms`);
    assert.ok(ms < 1000, `${ms} ms`);
    assert.equal(await call(b), 401, "B now requires a key");
  });

  it("a key revoked through A's admin API is refused by B within 1 s", async (t) => {
    const key = await createKey("to-revoke");
    await waitUntil(async () => (await call(b, key.secret)) === 200, "B accepts the key");
    const revoked = await admin(a, "POST", `/virtual-keys/${key.id}/revoke`);
    assert.equal(revoked.status, 200);
    const ms = await waitUntil(async () => (await call(b, key.secret)) === 401, "B refuses the revoked key");
    t.diagnostic(`revocation propagated to B in ${ms.toFixed(1)} ms`);
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it("a key edited on A (allowed models) is enforced by B", async (t) => {
    const key = await createKey("to-edit");
    await waitUntil(async () => (await call(b, key.secret)) === 200, "B accepts the key");
    const patched = await admin(a, "PATCH", `/virtual-keys/${key.id}`, { allowedModels: ["gpt-*"] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const ms = await waitUntil(async () => (await call(b, key.secret)) === 403, "B refuses the model");
    t.diagnostic(`key edit propagated to B in ${ms.toFixed(1)} ms`);
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it("a budget created on A is enforced by B", async (t) => {
    const key = await createKey("budgeted");
    await waitUntil(async () => (await call(b, key.secret)) === 200, "B accepts the key");
    const budget = await admin(a, "POST", "/budgets", {
      name: "tiny",
      scopeType: "key",
      scopeId: key.id,
      limitUsd: "0.0001",
      period: "1d",
    });
    assert.equal(budget.status, 201, JSON.stringify(budget.body));
    const ms = await waitUntil(async () => (await call(b, key.secret)) === 402, "B refuses over the budget");
    t.diagnostic(`budget creation propagated to B in ${ms.toFixed(1)} ms`);
    assert.ok(ms < 1000, `${ms} ms`);
    assert.deepEqual(
      b.warnings.filter((w) => w.includes("governance sync")),
      [],
    );
  });
});

describe("SnapshotSync against Redis", { skip: skipRedis ?? false }, () => {
  const unitPrefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const opened: SnapshotSync[] = [];
  let redis: Redis;

  const open = async (options: { pollIntervalMs?: number; warn?: (m: string) => void } = {}) => {
    const sync = new SnapshotSync({ url: redisUrl, prefix: unitPrefix, ...options });
    opened.push(sync);
    await sync.connect();
    return sync;
  };

  before(() => {
    redis = new Redis(redisUrl);
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    redis.disconnect();
    await deleteKeys(unitPrefix);
  });

  it("an announcement reloads the other processes, not the announcer", async () => {
    let reloadsHere = 0;
    let reloadsThere = 0;
    const here = await open({ pollIntervalMs: 60_000 });
    const there = await open({ pollIntervalMs: 60_000 });
    here.start(async () => {
      reloadsHere++;
    });
    there.start(async () => {
      reloadsThere++;
    });
    await here.announce();
    await waitUntil(() => reloadsThere === 1, "the other process reloads");
    await there.announce();
    await waitUntil(() => reloadsHere === 1, "the first process reloads");
    assert.deepEqual([reloadsHere, reloadsThere], [1, 1], "nobody reloads for its own announcement");
  });

  it("falls back to polling the version key when the message is lost", async () => {
    let reloads = 0;
    const sync = await open({ pollIntervalMs: 20 });
    sync.start(async () => {
      reloads++;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(reloads, 0, "an unchanged version does not reload");
    // A change whose PUBLISH never arrived: only the version moved.
    await redis.incr(sync.versionKey);
    await waitUntil(() => reloads === 1, "the poll sees the version move");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(reloads, 1, "once per change");
  });

  it("coalesces: one reload running, at most one queued, however many changes arrive", async () => {
    let started = 0;
    let release: () => void = () => {};
    const sync = await open({ pollIntervalMs: 60_000 });
    const announcer = await open({ pollIntervalMs: 60_000 });
    sync.start(async () => {
      started++;
      if (started === 1) await new Promise<void>((r) => (release = r));
    });
    await announcer.announce();
    await waitUntil(() => started === 1, "the first reload starts");
    for (let i = 0; i < 5; i++) await announcer.announce();
    // Let the five messages reach the subscriber while the first reload still runs.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(started, 1);
    release();
    await waitUntil(() => started === 2, "one queued reload runs");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(started, 2, "the five changes cost one more reload, not five");
  });

  it("a failed reload is retried by the next poll", async () => {
    let attempts = 0;
    const warnings: string[] = [];
    const sync = await open({ pollIntervalMs: 20, warn: (m) => warnings.push(m) });
    sync.start(async () => {
      attempts++;
      if (attempts === 1) throw new Error("database away");
    });
    await redis.incr(sync.versionKey);
    await waitUntil(() => attempts === 2, "the reload is retried");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /reloading the key snapshot failed .*database away/);
  });
});

describe("SnapshotSync without Redis", () => {
  it("never throws into the caller: connect, announce and close resolve, and the trouble is told once", async () => {
    const warnings: string[] = [];
    // Port 1: nothing listens, the connection is refused at once.
    const sync = new SnapshotSync({ url: "redis://127.0.0.1:1", prefix: "x:", warn: (m) => warnings.push(m) });
    await sync.connect();
    sync.start(async () => {
      assert.fail("nothing to reload");
    });
    await sync.announce();
    await sync.announce();
    await sync.close();
    assert.ok(warnings.length >= 1 && warnings.length <= 2, warnings.join("\n"));
    assert.match(warnings[0] ?? "", /governance sync: Redis .*failed/);
  });
});
