import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Governance: customers → teams → virtual keys, developers, budgets (their settled spend per window in
 * `budget_spend`), and rate limits. Portable DDL only, like 0001: times are epoch ms, money integer nano-dollars,
 * JSON is text. Budgets and rate limits point at their scope by (scope_type, scope_id) without a foreign key (the
 * scope may be a customer, team, developer or key); the governance repository removes them with their entity.
 */
export const governanceMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("customers")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("labels", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("customers_name").on("customers").column("name").unique().execute();

    await db.schema
      .createTable("teams")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("customer_id", "text", (c) => c.references("customers.id"))
      .addColumn("description", "text")
      .addColumn("labels", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    // A team name is unique within its customer, and among teams without one (NULLs never collide in a plain index).
    await db.schema
      .createIndex("teams_customer_name")
      .on("teams")
      .unique()
      .expression(sql`coalesce(customer_id, ''), name`)
      .execute();
    await db.schema.createIndex("teams_customer_id").on("teams").column("customer_id").execute();

    await db.schema
      .createTable("developers")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("email", "text")
      .addColumn("team_id", "text", (c) => c.references("teams.id").onDelete("set null"))
      .addColumn("labels", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("developers_email").on("developers").column("email").unique().execute();
    await db.schema.createIndex("developers_team_id").on("developers").column("team_id").execute();

    await db.schema
      .createTable("virtual_keys")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("secret_hash", "text", (c) => c.notNull())
      .addColumn("secret_prefix", "text", (c) => c.notNull())
      .addColumn("previous_secret_hash", "text")
      .addColumn("previous_valid_until", "bigint")
      .addColumn("active", "boolean", (c) => c.notNull().defaultTo(true))
      .addColumn("expires_at", "bigint")
      .addColumn("revoked_at", "bigint")
      .addColumn("team_id", "text", (c) => c.references("teams.id"))
      .addColumn("customer_id", "text", (c) => c.references("customers.id"))
      .addColumn("developer_id", "text", (c) => c.references("developers.id"))
      .addColumn("allowed_providers", "text")
      .addColumn("allowed_models", "text")
      .addColumn("provider_settings", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("labels", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("credential_policy", "text", (c) => c.notNull().defaultTo("deny"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("virtual_keys_secret_hash").on("virtual_keys").column("secret_hash").unique().execute();
    await db.schema
      .createIndex("virtual_keys_previous_secret_hash")
      .on("virtual_keys")
      .column("previous_secret_hash")
      .where(sql.ref("previous_secret_hash"), "is not", null)
      .execute();
    for (const column of ["team_id", "customer_id", "developer_id"] as const) {
      await db.schema.createIndex(`virtual_keys_${column}`).on("virtual_keys").column(column).execute();
    }

    await db.schema
      .createTable("budgets")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text")
      .addColumn("scope_type", "text", (c) => c.notNull())
      .addColumn("scope_id", "text")
      .addColumn("provider", "text")
      .addColumn("model", "text")
      .addColumn("limit_nano_usd", "bigint", (c) => c.notNull())
      .addColumn("period", "text", (c) => c.notNull())
      .addColumn("mode", "text", (c) => c.notNull())
      .addColumn("time_zone", "text", (c) => c.notNull().defaultTo("UTC"))
      .addColumn("anchor_at", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("budgets_scope").on("budgets").columns(["scope_type", "scope_id"]).execute();

    // Spend is kept apart from the budget row, so editing or re-seeding a budget never touches what was spent.
    await db.schema
      .createTable("budget_spend")
      .addColumn("budget_id", "text", (c) => c.notNull().references("budgets.id").onDelete("cascade"))
      .addColumn("window_start", "bigint", (c) => c.notNull())
      .addColumn("spent_nano_usd", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("budget_spend_pk", ["budget_id", "window_start"])
      .execute();

    await db.schema
      .createTable("rate_limits")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text")
      .addColumn("scope_type", "text", (c) => c.notNull())
      .addColumn("scope_id", "text")
      .addColumn("provider", "text")
      .addColumn("model", "text")
      .addColumn("window", "text")
      .addColumn("max_requests", "bigint")
      .addColumn("max_tokens", "bigint")
      .addColumn("max_concurrent", "integer")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("rate_limits_scope").on("rate_limits").columns(["scope_type", "scope_id"]).execute();
  },
};
