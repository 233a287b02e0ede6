import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Budget threshold alerts (50/80/95/100 % by default): one row per (budget, window, threshold), recorded when the
 * committed spend crosses it; `delivered_at` is set by whatever delivers them. The unique key makes the first
 * process to see a crossing the only writer (insert … on conflict do nothing). No foreign key to `budgets`: an alert
 * is history and outlives its budget; the scope columns are copied so a message can be written without a join.
 */
export const budgetAlertsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("budget_alerts")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("budget_id", "text", (c) => c.notNull())
      .addColumn("budget_name", "text")
      .addColumn("scope_type", "text", (c) => c.notNull())
      .addColumn("scope_id", "text")
      .addColumn("scope_name", "text")
      .addColumn("period", "text", (c) => c.notNull())
      .addColumn("window_start", "bigint", (c) => c.notNull())
      .addColumn("threshold_percent", "integer", (c) => c.notNull())
      .addColumn("spend_nano_usd", "bigint", (c) => c.notNull())
      .addColumn("limit_nano_usd", "bigint", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("delivered_at", "bigint")
      .execute();
    await db.schema
      .createIndex("budget_alerts_once")
      .on("budget_alerts")
      .unique()
      .columns(["budget_id", "window_start", "threshold_percent"])
      .execute();
    await db.schema
      .createIndex("budget_alerts_created_at_id")
      .on("budget_alerts")
      .columns(["created_at", "id"])
      .execute();
    // What a deliverer polls: only the (few) undelivered rows are in it.
    await db.schema
      .createIndex("budget_alerts_undelivered")
      .on("budget_alerts")
      .column("created_at")
      .where(sql.ref("delivered_at"), "is", null)
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("budget_alerts").execute();
  },
};
