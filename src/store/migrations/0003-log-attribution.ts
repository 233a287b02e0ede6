import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

/**
 * Who a request is attributed to beyond its virtual key: the key's team, customer and developer, resolved when the
 * request was served (a key moved to another team later does not move its history).
 */
export const logAttributionMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const column of ["team_id", "customer_id", "developer_id"]) {
      await db.schema.alterTable("request_logs").addColumn(column, "text").execute();
    }
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const column of ["team_id", "customer_id", "developer_id"]) {
      await db.schema.alterTable("request_logs").dropColumn(column).execute();
    }
  },
};
