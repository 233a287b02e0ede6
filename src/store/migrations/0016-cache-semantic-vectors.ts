import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * The semantic layer's data on each response-cache entry (cache/sql-store.ts): its group (a hash of scope, namespace
 * and everything but the last user turn) and its embedding (float32, base64), so the per-process index can be
 * rebuilt from the table when its saved copy is missing or stale. Null for entries stored by the exact layer alone.
 */
export const cacheSemanticVectorsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("response_cache").addColumn("semantic_group", "text").execute();
    await db.schema.alterTable("response_cache").addColumn("vector", "text").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("response_cache").dropColumn("vector").execute();
    await db.schema.alterTable("response_cache").dropColumn("semantic_group").execute();
  },
};
