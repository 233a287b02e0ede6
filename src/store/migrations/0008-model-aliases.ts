import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/** Model aliases of virtual keys and teams (routing/aliases.ts): a JSON array of { match, to }; null means none. */
export const modelAliasesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("virtual_keys").addColumn("model_aliases", "text").execute();
    await db.schema.alterTable("teams").addColumn("model_aliases", "text").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("teams").dropColumn("model_aliases").execute();
    await db.schema.alterTable("virtual_keys").dropColumn("model_aliases").execute();
  },
};
