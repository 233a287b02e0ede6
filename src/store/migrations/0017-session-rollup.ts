import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";
import { createSessionRollup, SESSION_ROLLUP, sessionRollupRebuildSql } from "../session-rollup.ts";

/** `session_hourly`, the sessions list's rollup (store/session-rollup.ts), filled from the logs already written. */
export const sessionRollupMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await createSessionRollup(db);
    await sql.raw(sessionRollupRebuildSql()).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable(SESSION_ROLLUP).execute();
  },
};
