import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/** Per-session caps of a virtual key (JSON: max spend, max requests, loop guard); null means none. */
export const sessionCapsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("virtual_keys").addColumn("session_caps", "text").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("virtual_keys").dropColumn("session_caps").execute();
  },
};
