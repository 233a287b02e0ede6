import { join } from "node:path";
import type { GatewayConfig } from "../config/load.ts";
import type { Database } from "../store/database.ts";
import { RedisCacheStore } from "./redis-store.ts";
import { ResponseCache } from "./response-cache.ts";
import { SqlCacheStore } from "./sql-store.ts";

/**
 * Redis (shared by a cluster) when configured; else the store layer's database, whose only writer is this process
 * (so the semantic index is saved in the data dir, `<dataDir>/cache/semantic/`).
 */
export function openResponseCache(
  config: GatewayConfig,
  database: Database,
  warn: (message: string) => void = () => {},
): ResponseCache {
  const store = config.redisUrl
    ? new RedisCacheStore(config.redisUrl, config.redisPrefix)
    : new SqlCacheStore(database.db, database.kind === "sqlite" ? { memo: 1000 } : {});
  const indexDir = config.redisUrl ? null : join(config.dataDir, "cache", "semantic");
  return new ResponseCache(store, config.cache, { indexDir, warn });
}
