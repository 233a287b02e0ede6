import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { openDatabase } from "../../src/store/database.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { registerStoreCases } from "./store-cases.ts";

const url = testPostgresUrl();
const skip = await requirePostgres(url);
const schema = randomSchemaName("store");
// PostgreSQL keeps nothing in the data dir.
const dataDir = tmpdir();

registerStoreCases({
  name: "PostgreSQL",
  skip,
  open: () => openDatabase({ url, dataDir, schema }),
  cleanup: () => dropSchema(url, schema),
});

describe("PostgreSQL specifics", { skip: skip ?? false }, () => {
  test("tables live in the requested schema, and bigint comes back as a number", async () => {
    const own = randomSchemaName("store_own");
    const database = await openDatabase({ url, dataDir, schema: own });
    try {
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = ${own} order by table_name`.execute(
        database.db,
      );
      assert.ok(tables.rows.some((r) => r.table_name === "request_logs"));
      const count = await database.db
        .selectFrom("request_logs")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow();
      assert.equal(count.n, 0);
    } finally {
      await database.close();
      await dropSchema(url, own);
    }
  });

  test("an invalid schema name is refused before any SQL runs", async () => {
    await assert.rejects(openDatabase({ url, dataDir, schema: 'x"; drop table y; --' }), /invalid PostgreSQL schema/);
  });
});
