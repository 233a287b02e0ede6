import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Kysely, sql } from "kysely";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { insertLogs } from "../../src/store/logs-repo.ts";
import { sessionRollupMigration } from "../../src/store/migrations/0017-session-rollup.ts";
import { HOUR_MS } from "../../src/store/rollups.ts";
import type { Db } from "../../src/store/schema.ts";
import { rebuildSessionRollup } from "../../src/store/session-rollup.ts";
import { listSessions, type SessionListFilter } from "../../src/store/sessions-repo.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { BASE_TIME } from "./records.ts";
import { asDirect, type DirectFilter, type DirectSession, directSessions, sessionRecords } from "./session-direct.ts";

const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);
const DAY = 24 * HOUR_MS;

/** Every page of `listSessions` (limit `limit`), checked against the raw-log aggregation. */
export async function pagesMatchDirect(db: Db, f: DirectFilter, limit: number): Promise<DirectSession[]> {
  const expected = await directSessions(db, f);
  const got: DirectSession[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const filter: SessionListFilter = { ...f, limit, ...(cursor === undefined ? {} : { cursor }) };
    const result = await listSessions(db, filter);
    assert.ok(result.items.length <= limit);
    got.push(...result.items.map(asDirect));
    if (result.nextCursor === null) break;
    cursor = result.nextCursor;
  }
  assert.deepEqual(got, expected, JSON.stringify(f));
  return got;
}

const RANGES: [string, number, number][] = [
  ["whole hours", BASE_TIME, BASE_TIME + 3 * DAY],
  ["partial hours at both ends", BASE_TIME + 1_234_567, BASE_TIME + 2 * DAY + 987_654],
  ["inside one hour", BASE_TIME + HOUR_MS + 100, BASE_TIME + HOUR_MS + 2_500_000],
  ["across one hour boundary", BASE_TIME + 5 * HOUR_MS - 1_000_000, BASE_TIME + 5 * HOUR_MS + 1_000_000],
  ["open end", BASE_TIME - DAY, BASE_TIME + 10 * DAY + 5],
];
const FILTERS: Omit<DirectFilter, "from" | "to">[] = [
  {},
  { agent: "codex" },
  { key: "k-1" },
  { team: "t-2", customer: "c-0" },
  { developer: "d-3" },
  { agent: "nobody" },
];

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  const skip = backend === "PostgreSQL" ? (pgSkip ?? false) : false;
  describe(`session_hourly rollup (${backend})`, { skip }, () => {
    it("lists exactly what the raw log aggregates, backfills in migration 0017, outlives raw rows", async () => {
      const dir = await mkdtemp(join(tmpdir(), "tollgate-session-rollup-"));
      const schema = randomSchemaName("sessroll");
      const database: Database = await openDatabase({
        dataDir: dir,
        ...(backend === "PostgreSQL" ? { url: pgUrl, schema } : {}),
      });
      const db = database.db;
      try {
        const records = sessionRecords();
        // Interleaved batches: the same (hour, session, …) rows are upserted several times; one batch replayed.
        // Latest rows first, then earliest, then middle: sums add up, first seen falls, last seen stays.
        for (const b of [1, 2, 0])
          await insertLogs(
            db,
            records.filter((_, i) => i % 3 === b),
          );
        await insertLogs(
          db,
          records.filter((_, i) => i % 3 === 1),
        );
        const rollupRows = async () =>
          (await sql<Record<string, unknown>>`select * from session_hourly`.execute(db)).rows
            .map((r) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, String(v)])))
            .sort();
        const maintained = await rollupRows();
        assert.ok(maintained.length > 50, `${maintained.length} rollup rows`);

        const check = async () => {
          for (const [name, from, to] of RANGES) {
            for (const f of FILTERS) await pagesMatchDirect(db, { from, to, ...f }, 4);
            const all = await pagesMatchDirect(db, { from, to }, 500);
            assert.ok(all.length > (to - from > DAY ? 10 : 0), `${name}: ${all.length} sessions`);
          }
        };
        await check();

        // The migration's backfill computes the same table from the raw log (down, then up again)…
        const raw = db as unknown as Kysely<unknown>;
        await sessionRollupMigration.down?.(raw);
        await sessionRollupMigration.up(raw);
        assert.deepEqual(await rollupRows(), maintained);
        await rebuildSessionRollup(db);
        assert.deepEqual(await rollupRows(), maintained);
        await check();

        // …and sessions stay listed after retention deletes their raw rows (whole hours come from the rollup).
        const range = { from: BASE_TIME, to: BASE_TIME + 2 * DAY };
        const before = await pagesMatchDirect(db, range, 7);
        const deleted = await sql`delete from request_logs where started_at < ${BASE_TIME + 2 * DAY}`.execute(db);
        assert.ok(Number(deleted.numAffectedRows) > 300);
        assert.deepEqual((await directSessions(db, range)).length, 0, "the raw rows are gone");
        const after = await listSessions(db, { ...range, limit: 500 });
        assert.deepEqual(after.items.map(asDirect), before);
      } finally {
        await database.close();
        if (backend === "PostgreSQL") await dropSchema(pgUrl, schema);
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
