import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/** Tables whose rows the config file can declare (governance/config-seed.ts). */
const TABLES = ["customers", "teams", "developers", "virtual_keys", "budgets", "rate_limits"] as const;

/**
 * Who manages a governance row: `config` for rows the config file created (reconciled, and removed when the file
 * drops them), null for rows created through the management API (the file never touches those).
 */
export const configManagedMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const table of TABLES) await db.schema.alterTable(table).addColumn("managed_by", "text").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of TABLES) await db.schema.alterTable(table).dropColumn("managed_by").execute();
  },
};
