import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Alert kinds in `budget_alerts`, so other alerts share its exactly-once key and the webhook dispatcher:
 * `kind` ('budget.threshold' for every existing row; 'spend_anomaly' from alerts/spend-anomalies.ts) and `details`
 * (JSON text of what a kind needs beyond the budget columns, e.g. an anomaly's baseline and factor).
 */
export const alertKindsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("budget_alerts")
      .addColumn("kind", "text", (c) => c.notNull().defaultTo("budget.threshold"))
      .execute();
    await db.schema.alterTable("budget_alerts").addColumn("details", "text").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("budget_alerts").dropColumn("details").execute();
    await db.schema.alterTable("budget_alerts").dropColumn("kind").execute();
  },
};
