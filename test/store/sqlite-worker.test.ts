import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { SqliteWorkerError } from "../../src/store/sqlite-worker/dialect.ts";

describe("SQLite on a worker thread", () => {
  let dataDir: string;
  let database: Database;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tollgate-sqlite-worker-"));
    database = await openDatabase({ dataDir });
  });

  after(async () => {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("the main event loop keeps turning during a large insert", async () => {
    let ticks = 0;
    let ticking = true;
    const tick = (): void => {
      ticks += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // 300k rows generated and inserted entirely inside SQLite: on the main thread this would block every tick.
    const insert = sql`
      insert into settings (key, value, updated_at)
      with recursive n(x) as (select 1 union all select x + 1 from n where x < 300000)
      select 'bulk-' || x, '"v"', x from n`.execute(database.db);
    const first = await Promise.race([
      insert.then(() => "insert"),
      new Promise<string>((resolve) => setImmediate(() => resolve("tick"))),
    ]);
    await insert;
    ticking = false;
    assert.equal(first, "tick", "the loop ran before the insert finished");
    assert.ok(ticks >= 3, `expected the loop to keep ticking, got ${ticks} ticks`);
    const count = await database.db
      .selectFrom("settings")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("key", "like", "bulk-%")
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 300_000);
    await database.db.deleteFrom("settings").where("key", "like", "bulk-%").execute();
  });

  test("opens in WAL mode with synchronous=NORMAL, a busy timeout and foreign keys", async () => {
    const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(database.db);
    assert.equal(journal.rows[0]?.journal_mode, "wal");
    const synchronous = await sql<{ synchronous: number }>`pragma synchronous`.execute(database.db);
    assert.equal(synchronous.rows[0]?.synchronous, 1);
    const busy = await sql<{ timeout: number }>`pragma busy_timeout`.execute(database.db);
    assert.equal(busy.rows[0]?.timeout, 5000);
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(database.db);
    assert.equal(fk.rows[0]?.foreign_keys, 1);
  });

  test("an SQLite error comes back with its code, and the connection stays usable", async () => {
    const row = { key: "dup", value: "1", updated_at: 1 };
    await database.db.insertInto("settings").values(row).execute();
    await assert.rejects(database.db.insertInto("settings").values(row).execute(), (error: unknown) => {
      assert.ok(error instanceof SqliteWorkerError);
      assert.equal(error.code, "SQLITE_CONSTRAINT_PRIMARYKEY");
      return true;
    });
    await assert.rejects(sql`select * from no_such_table`.execute(database.db), /no such table/);
    const back = await database.db.selectFrom("settings").selectAll().where("key", "=", "dup").executeTakeFirst();
    assert.deepEqual(back, row);
  });

  test("transactions commit and roll back on the single worker connection", async () => {
    await database.db.transaction().execute(async (trx) => {
      await trx.insertInto("settings").values({ key: "tx-commit", value: "1", updated_at: 1 }).execute();
    });
    await assert.rejects(
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto("settings").values({ key: "tx-rollback", value: "1", updated_at: 1 }).execute();
        throw new Error("abort");
      }),
      /abort/,
    );
    const keys = await database.db
      .selectFrom("settings")
      .select("key")
      .where("key", "in", ["tx-commit", "tx-rollback"])
      .execute();
    assert.deepEqual(
      keys.map((k) => k.key),
      ["tx-commit"],
    );
  });

  test("concurrent queries and a transaction interleave safely", async () => {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      work.push(
        database.db
          .insertInto("settings")
          .values({ key: `c-${i}`, value: "1", updated_at: i })
          .execute(),
      );
      if (i === 25) {
        work.push(
          database.db.transaction().execute(async (trx) => {
            await trx.insertInto("settings").values({ key: "c-tx", value: "1", updated_at: 0 }).execute();
            await trx.updateTable("settings").set({ value: "2" }).where("key", "=", "c-tx").execute();
          }),
        );
      }
    }
    await Promise.all(work);
    const count = await database.db
      .selectFrom("settings")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("key", "like", "c-%")
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 51);
  });

  test("booleans bind as 1/0 and read back through Boolean()", async () => {
    await database.db
      .insertInto("providers")
      .values({ name: "p", kind: "anthropic", base_url: null, settings: "{}", created_at: 1, updated_at: 1 })
      .execute();
    await database.db
      .insertInto("provider_keys")
      .values({
        id: "k",
        provider: "p",
        label: null,
        secret_encrypted: "enc",
        fingerprint: "abcd",
        created_at: 1,
        disabled: true,
      })
      .execute();
    const key = await database.db
      .selectFrom("provider_keys")
      .selectAll()
      .where("disabled", "=", true)
      .executeTakeFirst();
    assert.equal(key?.id, "k");
    assert.equal(Boolean(key?.disabled), true);
  });

  test("close() is idempotent", async () => {
    const other = await openDatabase({ dataDir: join(dataDir, "other") });
    const first = other.close();
    assert.equal(other.close(), first);
    await first;
  });
});
