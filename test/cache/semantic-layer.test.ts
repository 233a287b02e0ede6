import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RedisCacheStore } from "../../src/cache/redis-store.ts";
import { ResponseCache } from "../../src/cache/response-cache.ts";
import { SqlCacheStore } from "../../src/cache/sql-store.ts";
import { type CacheEntry, entryId } from "../../src/cache/store.ts";
import type { CacheConfig } from "../../src/config/load.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const redisSkip = await requireRedis(testRedisUrl());
const pgSkip = await requirePostgres(testPostgresUrl());

const config: CacheConfig = {
  exact: true,
  ttlSeconds: 600,
  maxEntries: 1000,
  share: "key",
  semantic: { embeddingModel: "e/m", threshold: 0.9, allowTemperature: false, allowToolResults: false },
};
const SCOPE = "customer:c/key:k";
const noWarn = (m: string) => assert.fail(`unexpected warning: ${m}`);

function entry(key: string, vector: number[], now = 1_000, group = "g1"): CacheEntry {
  return {
    exactKey: key,
    scope: SCOPE,
    namespace: "",
    requestId: `req-${key}`,
    response: {
      id: "msg_1",
      model: "m",
      content: [{ type: "text", text: key }],
      stop: { unified: "end", raw: "end_turn" },
      usage: { input: 1, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 2, reasoning: 0 },
    },
    costNanoUsd: 42,
    createdAt: now,
    expiresAt: now + 60_000,
    semantic: { group, vector: Float32Array.from(vector) },
  };
}
const id = (key: string) => entryId(SCOPE, "", key);
const nearestIds = (cache: ResponseCache, v: number[], group = "g1") =>
  (cache.semantic?.nearest(group, Float32Array.from(v), 0.9) ?? []).map((n) => n.exactKey);

// One process owning a SQL store (SQLite, or PostgreSQL without Redis): the index is saved in the data dir.
const sqlBackends = [
  {
    name: "sqlite",
    skip: false as string | false,
    open: async (dir: string) => ({ db: await openDatabase({ dataDir: dir }), done: async () => {} }),
  },
  {
    name: "postgresql",
    skip: (pgSkip ?? false) as string | false,
    open: async (dir: string) => {
      const schema = randomSchemaName("cache_sem");
      const db = await openDatabase({ dataDir: dir, url: testPostgresUrl(), schema });
      return { db, done: () => dropSchema(testPostgresUrl(), schema) };
    },
  },
];

for (const backend of sqlBackends) {
  describe(`semantic index over a SQL store (${backend.name})`, { skip: backend.skip }, () => {
    let dir: string;
    let db: Database;
    let done: () => Promise<void>;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "tollgate-semlayer-"));
      ({ db, done } = await backend.open(dir));
    });
    after(async () => {
      await db.close();
      await done();
      await rm(dir, { recursive: true, force: true });
    });
    const open = () =>
      new ResponseCache(new SqlCacheStore(db.db), config, { indexDir: join(dir, "cache", "semantic"), warn: noWarn });

    it("indexes stored vectors, saves on close, loads and reconciles a stale copy at start, forgets evicted and purged entries", async () => {
      const a = open();
      await a.semantic?.ready;
      a.save(entry("one", [1, 0, 0]), noWarn);
      a.save(entry("two", [0, 1, 0]), noWarn);
      a.save(entry("other-group", [1, 0, 0], 1_000, "g2"), noWarn);
      await a.idle();
      assert.deepEqual(nearestIds(a, [1, 0.05, 0]), ["one"]);
      assert.deepEqual(nearestIds(a, [1, 0, 0], "g2"), ["other-group"]);
      assert.deepEqual(
        await a.store.semanticIds(),
        new Map([
          [id("one"), "g1"],
          [id("two"), "g1"],
          [id("other-group"), "g2"],
        ]),
      );
      const [record] = await a.store.semanticRecords([id("two")]);
      assert.deepEqual([...(record?.vector ?? [])], [0, 1, 0]);
      await a.semantic?.close();

      // Behind the saved index's back: one entry deleted, one added (a crash after the save, say).
      await db.db
        .deleteFrom("response_cache" as never)
        .where("id" as never, "=", id("two") as never)
        .execute();
      const writer = new ResponseCache(new SqlCacheStore(db.db), { ...config, semantic: undefined });
      writer.save(entry("three", [0, 0, 1]), noWarn);
      await writer.idle();
      // …but "three" has no vector there (exact-only write), so store it with one directly:
      await new SqlCacheStore(db.db).put(entry("three", [0, 0, 1]), 1000);

      const b = open();
      await b.semantic?.ready;
      assert.equal(b.semantic?.index.size, 3, "one, other-group (from the file), three (from the table)");
      assert.deepEqual(nearestIds(b, [0, 1, 0]), [], "two is gone");
      assert.deepEqual(nearestIds(b, [0, 0, 1]), ["three"]);
      assert.deepEqual(nearestIds(b, [1, 0, 0]), ["one"]);

      // Eviction (cap 2 here) takes the least recently used out of the index too.
      const capped = new ResponseCache(new SqlCacheStore(db.db), { ...config, maxEntries: 2 }, { warn: noWarn });
      await capped.semantic?.ready;
      capped.save(entry("four", [0.7, 0.7, 0], 2_000), noWarn);
      await capped.idle();
      assert.equal((await capped.store.semanticIds()).size, 2);
      assert.equal(capped.semantic?.index.size, 2);
      assert.deepEqual(nearestIds(capped, [0.7, 0.7, 0]), ["four"]);

      assert.equal(await b.purge({}), 2);
      assert.equal(b.semantic?.index.size, 0);
      await b.close();
      await capped.semantic?.close();
    });
  });
}

describe("semantic index over Redis, shared by processes", { skip: redisSkip ?? false }, () => {
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const caches: ResponseCache[] = [];
  const open = (streamCap?: number) => {
    const cache = new ResponseCache(
      new RedisCacheStore(testRedisUrl(), prefix, streamCap !== undefined ? { streamCap } : {}),
      config,
      { warn: noWarn, pollMs: 0 },
    );
    caches.push(cache);
    return cache;
  };
  after(async () => {
    await caches[0]?.store.purge({});
    for (const c of caches) await c.close();
  });

  it("a process rebuilds from the shared vectors at start and catches up with the others' adds and removals", async () => {
    const a = open();
    await a.semantic?.ready;
    a.save(entry("one", [1, 0, 0]), noWarn);
    await a.idle();

    const b = open();
    await b.semantic?.ready;
    assert.deepEqual(nearestIds(b, [1, 0, 0]), ["one"], "rebuilt at start");

    a.save(entry("two", [0, 1, 0]), noWarn);
    await a.idle();
    assert.deepEqual(nearestIds(b, [0, 1, 0]), [], "not seen before catching up");
    await b.semantic?.catchUp();
    assert.deepEqual(nearestIds(b, [0, 1, 0]), ["two"]);

    assert.equal(await a.purge({ key: "one" }), 1);
    assert.deepEqual(nearestIds(a, [1, 0, 0]), [], "the purging process forgot it at once");
    await b.semantic?.catchUp();
    assert.deepEqual(nearestIds(b, [1, 0, 0]), [], "the other one on catching up");
    assert.deepEqual(nearestIds(b, [0, 1, 0]), ["two"]);
    // Its own adds come back through the stream: no duplicate.
    await a.semantic?.catchUp();
    assert.equal(a.semantic?.index.size, 1);
  });

  it("a process further behind than the change stream keeps rebuilds from the shared vectors", async () => {
    await caches[0]?.purge({});
    const writer = open(1);
    const reader = open(1);
    await writer.semantic?.ready;
    await reader.semantic?.ready;
    await reader.semantic?.catchUp();
    // XADD MAXLEN ~ trims whole stream nodes: enough adds to trim past the reader's cursor.
    for (let i = 0; i < 250; i++) writer.save(entry(`k${i}`, [1, i / 250, 0], 3_000 + i), noWarn);
    await writer.idle();
    await reader.semantic?.catchUp();
    assert.equal(reader.semantic?.index.size, 250);
    assert.deepEqual(nearestIds(reader, [1, 249 / 250, 0]).slice(0, 1), ["k249"]);
  });
});
