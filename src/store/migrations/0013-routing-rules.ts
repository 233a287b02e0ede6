import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Routing rules (routing/rules/): CEL expressions with weighted targets and fallbacks, scoped to a key, developer,
 * team, customer or everything. Targets and fallbacks are JSON text; `source` is "api" or "config" (rules from the
 * config file are reconciled at start and read-only through the API). Names are unique.
 */
export const routingRulesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("routing_rules")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull().unique())
      .addColumn("description", "text")
      .addColumn("scope_type", "text", (c) => c.notNull())
      .addColumn("scope_id", "text")
      .addColumn("priority", "integer", (c) => c.notNull())
      .addColumn("enabled", "integer", (c) => c.notNull())
      .addColumn("expression", "text", (c) => c.notNull())
      .addColumn("targets", "text", (c) => c.notNull())
      .addColumn("fallbacks", "text", (c) => c.notNull())
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("routing_rules").execute();
  },
};
