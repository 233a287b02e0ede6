import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Routing and cache facts on each log row: the routing rule that chose the target (null: none matched), every
 * upstream attempt as a JSON array (provider, key, model, status, latency, error; null: a single attempt that
 * needs no story), and for a response-cache hit its layer (`exact` | `semantic`) and the amount it saved.
 */
export const logRoutingCacheMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("request_logs").addColumn("routing_rule", "text").execute();
    await db.schema.alterTable("request_logs").addColumn("attempts", "text").execute();
    await db.schema.alterTable("request_logs").addColumn("cache_hit", "text").execute();
    await db.schema.alterTable("request_logs").addColumn("cache_saved_nano_usd", "bigint").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("request_logs").dropColumn("cache_saved_nano_usd").execute();
    await db.schema.alterTable("request_logs").dropColumn("cache_hit").execute();
    await db.schema.alterTable("request_logs").dropColumn("attempts").execute();
    await db.schema.alterTable("request_logs").dropColumn("routing_rule").execute();
  },
};
