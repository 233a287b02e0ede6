import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Routing settings of keys stored through the management API, as config-file keys have them: `weight` (share of
 * the provider's traffic; null: 1) and `models` (a JSON array of exact names or globs; null: every model).
 */
export const providerKeyRoutingMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("provider_keys").addColumn("weight", "double precision").execute();
    await db.schema.alterTable("provider_keys").addColumn("models", "text").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("provider_keys").dropColumn("models").execute();
    await db.schema.alterTable("provider_keys").dropColumn("weight").execute();
  },
};
