import type { GatewayConfig } from "../config/load.ts";
import type { Database } from "../store/database.ts";
import { RedisCacheStore } from "./redis-store.ts";
import { ResponseCache } from "./response-cache.ts";
import { SqlCacheStore } from "./sql-store.ts";

/** Redis (shared by a cluster) when configured; else the store layer's database. */
export function openResponseCache(config: GatewayConfig, database: Database): ResponseCache {
  const store = config.redisUrl
    ? new RedisCacheStore(config.redisUrl, config.redisPrefix)
    : new SqlCacheStore(database.db, database.kind === "sqlite" ? { memo: 1000 } : {});
  return new ResponseCache(store, config.cache);
}
