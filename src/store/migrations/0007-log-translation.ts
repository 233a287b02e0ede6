import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * A translated request's provider dialect (null: passthrough) and the translation's warnings (what could not be
 * carried across, as a JSON array; null: none), so a dropped tool or parameter is visible on its row.
 */
export const logTranslationMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("request_logs").addColumn("upstream_dialect", "text").execute();
    await db.schema.alterTable("request_logs").addColumn("warnings", "text").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("request_logs").dropColumn("warnings").execute();
    await db.schema.alterTable("request_logs").dropColumn("upstream_dialect").execute();
  },
};
