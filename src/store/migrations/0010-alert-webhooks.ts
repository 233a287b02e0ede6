import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Alert delivery (alerts/): webhooks, and one delivery row per (alert, webhook). The primary key makes the fan-out
 * idempotent across processes; `claimed_until` is the lease a process takes with a conditional UPDATE before it
 * POSTs, so two processes never send the same delivery.
 */
export const alertWebhooksMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("alert_webhooks")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text")
      .addColumn("url", "text", (c) => c.notNull())
      .addColumn("format", "text", (c) => c.notNull())
      .addColumn("secret", "text")
      .addColumn("scope_type", "text", (c) => c.notNull())
      .addColumn("scope_id", "text")
      .addColumn("enabled", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("alert_deliveries")
      .addColumn("alert_id", "text", (c) => c.notNull())
      .addColumn("webhook_id", "text", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("claimed_until", "bigint")
      .addColumn("claim_token", "text")
      .addColumn("delivered_at", "bigint")
      .addColumn("failed_at", "bigint")
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("alert_deliveries_pk", ["alert_id", "webhook_id"])
      .execute();
    await db.schema
      .createIndex("alert_deliveries_due")
      .on("alert_deliveries")
      .columns(["delivered_at", "failed_at", "next_attempt_at"])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("alert_deliveries").execute();
    await db.schema.dropTable("alert_webhooks").execute();
  },
};
