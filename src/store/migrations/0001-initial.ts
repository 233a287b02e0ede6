import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Request logs, providers and their keys, price overrides and settings.
 * Portable DDL only (text, integer, bigint, boolean), so the same migration runs on SQLite and PostgreSQL.
 * Times are epoch milliseconds (bigint); money is integer nano-dollars (bigint).
 */
export const initialMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("request_logs")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("dialect", "text", (c) => c.notNull())
      .addColumn("endpoint", "text", (c) => c.notNull())
      .addColumn("stream", "boolean", (c) => c.notNull())
      .addColumn("provider", "text")
      .addColumn("provider_key_id", "text")
      .addColumn("requested_model", "text")
      .addColumn("served_model", "text")
      .addColumn("status", "integer", (c) => c.notNull())
      .addColumn("error_code", "text")
      .addColumn("error_message", "text")
      .addColumn("latency_ms", "bigint", (c) => c.notNull())
      .addColumn("ttft_ms", "bigint")
      .addColumn("input_tokens", "bigint", (c) => c.notNull())
      .addColumn("cache_read_tokens", "bigint", (c) => c.notNull())
      .addColumn("cache_write_5m_tokens", "bigint", (c) => c.notNull())
      .addColumn("cache_write_1h_tokens", "bigint", (c) => c.notNull())
      .addColumn("output_tokens", "bigint", (c) => c.notNull())
      .addColumn("reasoning_tokens", "bigint", (c) => c.notNull())
      .addColumn("cost_nano_usd", "bigint")
      .addColumn("price_version", "text")
      .addColumn("usage_estimated", "boolean", (c) => c.notNull())
      .addColumn("session_id", "text")
      .addColumn("agent", "text")
      .addColumn("agent_version", "text")
      .addColumn("agent_id", "text")
      .addColumn("parent_agent_id", "text")
      .addColumn("turn_id", "text")
      .addColumn("workspace", "text")
      .addColumn("labels", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("client_ip", "text")
      .addColumn("user_agent", "text")
      .addColumn("virtual_key_id", "text")
      .execute();

    // Keyset pagination walks (started_at, id) newest first. Only the selective, per-entity filters (session,
    // virtual key) get their own (column, started_at) index: every index is paid on each of thousands of inserts a
    // second (five more halved the SQLite writer's throughput), while provider / model / agent / status filters
    // narrow a time-range scan and the spend analytics read rollups, not this table.
    await db.schema
      .createIndex("request_logs_started_at_id")
      .on("request_logs")
      .columns(["started_at", "id"])
      .execute();
    // Partial: rows without a session (SDK traffic) or key cost these indexes nothing; `col = ?` still uses them.
    for (const column of ["session_id", "virtual_key_id"] as const) {
      await db.schema
        .createIndex(`request_logs_${column}`)
        .on("request_logs")
        .columns([column, "started_at"])
        .where(sql.ref(column), "is not", null)
        .execute();
    }

    await db.schema
      .createTable("request_log_labels")
      .addColumn("log_id", "text", (c) => c.notNull().references("request_logs.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("request_log_labels_pk", ["log_id", "name"])
      .execute();
    await db.schema
      .createIndex("request_log_labels_name_value")
      .on("request_log_labels")
      .columns(["name", "value", "log_id"])
      .execute();

    await db.schema
      .createTable("providers")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("base_url", "text")
      .addColumn("settings", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("provider_keys")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("provider", "text", (c) => c.notNull().references("providers.name").onDelete("cascade"))
      .addColumn("label", "text")
      .addColumn("secret_encrypted", "text", (c) => c.notNull())
      .addColumn("fingerprint", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("disabled", "boolean", (c) => c.notNull().defaultTo(false))
      .execute();
    await db.schema.createIndex("provider_keys_provider").on("provider_keys").column("provider").execute();

    await db.schema
      .createTable("price_overrides")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("provider", "text")
      .addColumn("model", "text", (c) => c.notNull())
      .addColumn("data", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("price_overrides_model").on("price_overrides").columns(["model", "provider"]).execute();

    await db.schema
      .createTable("settings")
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
