import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";
import { createSpendRollup, ROLLUP_TABLES, rebuildSql, SUM_COLUMNS_0011 } from "../rollups.ts";

/** `spend_hourly` and `spend_daily`, the spend analytics rollups (store/rollups.ts), filled from the logs already written. */
export const spendRollupMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await createSpendRollup(db);
    for (const table of ROLLUP_TABLES) await sql.raw(rebuildSql(table, SUM_COLUMNS_0011)).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ROLLUP_TABLES) await db.schema.dropTable(table.name).execute();
  },
};
