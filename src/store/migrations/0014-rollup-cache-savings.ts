import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";
import { ROLLUP_TABLES, rebuildSql, SUM_COLUMNS_0014 } from "../rollups.ts";

/**
 * Response-cache sums in the spend rollups (store/rollups.ts): `cache_hits` (rows with a `cache_hit` layer) and
 * `cache_saved_nano_usd` (their `cache_saved_nano_usd`), backfilled by recomputing the rollups from the raw log.
 */
export const rollupCacheSavingsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const table of ROLLUP_TABLES) {
      await db.schema
        .alterTable(table.name)
        .addColumn("cache_hits", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable(table.name)
        .addColumn("cache_saved_nano_usd", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`delete from ${sql.table(table.name)}`.execute(db);
      await sql.raw(rebuildSql(table, SUM_COLUMNS_0014)).execute(db);
    }
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ROLLUP_TABLES) {
      await db.schema.alterTable(table.name).dropColumn("cache_saved_nano_usd").execute();
      await db.schema.alterTable(table.name).dropColumn("cache_hits").execute();
    }
  },
};
