import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { Clock } from "../../src/clock.ts";
import type { CounterStore } from "../../src/counters/counter-store.ts";
import { MemoryCounterStore } from "../../src/counters/memory-store.ts";
import { RedisCounterStore } from "../../src/counters/redis-store.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "./postgres.ts";
import { requireRedis, testRedisUrl } from "./redis.ts";

/** Where a test gateway keeps its rate, session and budget counters. */
export interface CounterBackend {
  name: "memory" | "Redis";
  /** A visible skip reason when the backend's service is down (never under CI=true: requireRedis throws). */
  skip: string | undefined;
  /** Gateway env selecting the backend; gateways started with it share their counters (Redis only). */
  env: Record<string, string>;
  /** Whether separate gateways started with `env` share counters. */
  shared: boolean;
  /** A store on this backend, as a gateway with `env` would open (close it after use). */
  openStore(clock: Clock): Promise<CounterStore>;
  /** Drops whatever the backend kept (Redis: every key under this file's prefix). */
  cleanup(): Promise<void>;
  /** Shared backends: one PostgreSQL schema for several gateway processes, as a real cluster has. */
  sharedDatabase?: SharedDatabase;
}

export interface SharedDatabase {
  /** A visible skip reason when PostgreSQL is down (never under CI=true). */
  skip: string | undefined;
  url: string;
  schema: string;
  drop(): Promise<void>;
}

export function memoryBackend(): CounterBackend {
  return {
    name: "memory",
    skip: undefined,
    env: {},
    shared: false,
    openStore: async (clock) => new MemoryCounterStore({ clock }),
    cleanup: async () => {},
  };
}

/** Redis under a fresh key prefix: one per test file, so parallel files never share counters. */
export async function redisBackend(url: string = testRedisUrl()): Promise<CounterBackend> {
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const skip = await requireRedis(url);
  const pgUrl = testPostgresUrl();
  const pgSkip = await requirePostgres(pgUrl);
  const schema = randomSchemaName("counters");
  return {
    name: "Redis",
    skip,
    env: { TOLLGATE_REDIS_URL: url, TOLLGATE_REDIS_PREFIX: prefix },
    shared: true,
    async openStore(clock) {
      const store = new RedisCounterStore({ url, prefix, clock });
      await store.connect();
      return store;
    },
    async cleanup() {
      if (skip) return;
      const admin = new Redis(url);
      try {
        let cursor = "0";
        do {
          const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
          cursor = next;
          if (keys.length > 0) await admin.del(...keys);
        } while (cursor !== "0");
      } finally {
        admin.disconnect();
      }
    },
    sharedDatabase: {
      skip: pgSkip,
      url: pgUrl,
      schema,
      drop: async () => {
        if (!pgSkip) await dropSchema(pgUrl, schema);
      },
    },
  };
}
