import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RedisCacheStore } from "../../src/cache/redis-store.ts";
import { SqlCacheStore } from "../../src/cache/sql-store.ts";
import { type CacheEntry, entryId, type ResponseCacheStore } from "../../src/cache/store.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const redisSkip = await requireRedis(testRedisUrl());

function entry(key: string, now: number, ttlMs = 60_000, namespace = ""): CacheEntry {
  return {
    exactKey: key,
    scope: "customer:c/key:k",
    namespace,
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
    expiresAt: now + ttlMs,
  };
}

const backends: {
  name: string;
  skip: string | false;
  open: () => Promise<{ store: ResponseCacheStore; done: () => Promise<void> }>;
}[] = [
  {
    name: "sqlite",
    skip: false,
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), "tollgate-cache-"));
      const db: Database = await openDatabase({ dataDir: dir });
      return {
        store: new SqlCacheStore(db.db),
        done: async () => {
          await db.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    // The same store with its in-memory memo (SQLite only: no other process writes the table).
    name: "sqlite with memo",
    skip: false,
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), "tollgate-cache-"));
      const db: Database = await openDatabase({ dataDir: dir });
      return {
        store: new SqlCacheStore(db.db, { memo: 2 }),
        done: async () => {
          await db.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "redis",
    skip: redisSkip ?? false,
    open: async () => {
      const store = new RedisCacheStore(testRedisUrl(), `tollgate-test:${randomBytes(6).toString("hex")}:`);
      return {
        store,
        done: async () => {
          await store.purge({});
          await store.close();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`cache store (${backend.name})`, { skip: backend.skip }, () => {
    let store: ResponseCacheStore;
    let done: () => Promise<void>;
    before(async () => {
      ({ store, done } = await backend.open());
    });
    after(async () => done());

    it("expires entries after their TTL (the gateway's clock decides)", async () => {
      await store.put(entry("ttl", 1_000, 5_000), 100);
      const hit = await store.get("customer:c/key:k", "", "ttl", 5_999);
      assert.equal(hit?.requestId, "req-ttl");
      assert.equal(hit?.costNanoUsd, 42);
      assert.deepEqual(hit?.response.content, [{ type: "text", text: "ttl" }]);
      assert.equal(await store.get("customer:c/key:k", "", "ttl", 6_000), null);
      assert.equal(await store.get("customer:c/other", "", "ttl", 2_000), null, "another scope");
    });

    it("evicts the least recently used beyond the cap, and purges by key, namespace, all", async () => {
      await store.purge({});
      await store.put(entry("a", 10_000), 3);
      await store.put(entry("b", 10_001), 3);
      await store.put(entry("c", 10_002), 3);
      assert.ok(await store.get("customer:c/key:k", "", "a", 10_003), "a used: b is now the oldest");
      assert.deepEqual(await store.put(entry("d", 10_004), 3), [entryId("customer:c/key:k", "", "b")], "evicted ids");
      assert.equal(await store.get("customer:c/key:k", "", "b", 10_005), null, "b evicted");
      for (const k of ["a", "c", "d"]) assert.ok(await store.get("customer:c/key:k", "", k, 10_005), k);

      await store.put(entry("a", 10_006, 60_000, "ns1"), 10);
      assert.equal(await store.purge({ namespace: "ns1" }), 1);
      assert.ok(await store.get("customer:c/key:k", "", "a", 10_007), "other namespace kept");
      assert.equal(await store.purge({ key: "a" }), 1);
      assert.equal(await store.get("customer:c/key:k", "", "a", 10_008), null);
      assert.equal(await store.purge({}), 2);
      assert.equal(await store.get("customer:c/key:k", "", "c", 10_009), null);
    });
  });
}
