import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * The exact response cache (cache/sql-store.ts): one row per (scope, namespace, exact key), the canonical response
 * as JSON; `last_used_at` orders LRU eviction. Times are epoch milliseconds.
 */
export const responseCacheMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("response_cache")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("exact_key", "text", (c) => c.notNull())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("request_id", "text", (c) => c.notNull())
      .addColumn("response", "text", (c) => c.notNull())
      .addColumn("cost_nano_usd", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("last_used_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("response_cache_lru").on("response_cache").column("last_used_at").execute();
    await db.schema.createIndex("response_cache_namespace").on("response_cache").column("namespace").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("response_cache").execute();
  },
};
