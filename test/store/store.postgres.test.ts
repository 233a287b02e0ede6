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

  test("migrations succeed while other schemas are dropped around them, and introspection sees only its own schema", async () => {
    // Kysely's stock introspector looked up every schema by name and failed when a parallel test file dropped its
    // own schema at that instant (CI: schema "sessions_…" does not exist). Churn schemas while migrating.
    const churned = Array.from({ length: 6 }, () => randomSchemaName("store_churn"));
    const own = randomSchemaName("store_scoped");
    const neighbour = randomSchemaName("store_neighbour");
    await (await openDatabase({ url, dataDir, schema: neighbour })).close();
    let stop = false;
    const churn = (async () => {
      while (!stop) {
        for (const name of churned) {
          const db = await openDatabase({ url, dataDir, schema: name });
          await db.close();
          await dropSchema(url, name);
        }
      }
    })();
    try {
      for (let round = 0; round < 3; round += 1) {
        const database = await openDatabase({ url, dataDir, schema: own });
        try {
          const tables = await database.db.introspection.getTables();
          assert.ok(tables.length > 0);
          assert.deepEqual(new Set(tables.map((t) => t.schema)), new Set([own]));
          assert.ok(!tables.some((t) => t.name.startsWith("kysely_")), "bookkeeping tables stay hidden by default");
          assert.ok(tables.find((t) => t.name === "request_logs")?.columns.some((c) => c.name === "id"));
        } finally {
          await database.close();
        }
        await dropSchema(url, own);
      }
    } finally {
      stop = true;
      await churn;
      for (const name of [...churned, neighbour]) await dropSchema(url, name);
    }
  });

  test("an invalid schema name is refused before any SQL runs", async () => {
    await assert.rejects(openDatabase({ url, dataDir, schema: 'x"; drop table y; --' }), /invalid PostgreSQL schema/);
  });
});
