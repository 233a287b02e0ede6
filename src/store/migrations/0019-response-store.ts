import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * The Responses API's stored responses for requests translated to another provider (store/responses-repo.ts): one
 * row per response id the client saw, readable only in its owner's scope. `input` and `output` are JSON arrays of
 * Responses items (the effective input, previous chain resolved; the output as the client received it); `usage` is
 * the Responses usage object. Times are epoch milliseconds; rows past `expires_at` are never served and are purged.
 */
export const responseStoreMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("stored_responses")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("request_id", "text", (c) => c.notNull())
      .addColumn("model", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("instructions", "text")
      .addColumn("previous_response_id", "text")
      .addColumn("input", "text", (c) => c.notNull())
      .addColumn("output", "text", (c) => c.notNull())
      .addColumn("usage", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("stored_responses_expires").on("stored_responses").column("expires_at").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("stored_responses").execute();
  },
};
