import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Kysely } from "kysely";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { insertLogs } from "../../src/store/logs-repo.ts";
import { rollupCacheSavingsMigration } from "../../src/store/migrations/0014-rollup-cache-savings.ts";
import { HOUR_MS, querySpendPartsFast } from "../../src/store/rollups.ts";
import { querySpendParts, rollUpSpend, type SpendQuery } from "../../src/store/spend-repo.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { makeRecord } from "./records.ts";

const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);
const DAY = 24 * HOUR_MS;

const backends = [
  { name: "SQLite", skip: false as string | false },
  { name: "PostgreSQL", skip: (pgSkip ?? false) as string | false },
];

for (const backend of backends) {
  describe(`spend rollup cache sums (${backend.name})`, { skip: backend.skip }, () => {
    it("keeps cache hits and savings in the rollup, and migration 0014 backfills them from the raw log", async () => {
      const dir = await mkdtemp(join(tmpdir(), "tollgate-rollup-cache-"));
      const schema = randomSchemaName("rollcache");
      const db: Database = await openDatabase({
        dataDir: dir,
        ...(backend.name === "PostgreSQL" ? { url: pgUrl, schema } : {}),
      });
      try {
        const now = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
        const records = Array.from({ length: 60 }, (_, i) =>
          makeRecord({
            startedAt: now - (i % 10) * DAY - 5 * HOUR_MS,
            provider: "anthropic",
            requestedModel: "m",
            teamId: i % 2 === 0 ? "t-even" : "t-odd",
            costNanoUsd: i % 3 === 0 ? 0 : 1000 + i,
            cacheHit: i % 3 === 0 ? (i % 2 === 0 ? "exact" : "semantic") : null,
            cacheSavedNanoUsd: i % 3 === 0 ? (i === 3 ? null : 7_000_000 + i) : null,
          }),
        );
        await insertLogs(db.db, records);
        const q: SpendQuery = {
          kind: db.kind,
          from: now - 20 * DAY,
          to: now,
          groupBy: ["team", "day"],
          filters: {},
        };
        const expect = (team: string) => {
          const hits = records.filter((r) => r.teamId === team && r.cacheHit !== null);
          return {
            hits: BigInt(hits.length),
            saved: hits.reduce((a, r) => a + BigInt(r.cacheSavedNanoUsd ?? 0), 0n),
          };
        };
        const check = async () => {
          const fast = rollUpSpend(await querySpendPartsFast(db.db, { ...q, groupBy: ["team"] }), () => null);
          const raw = rollUpSpend(await querySpendParts(db.db, { ...q, groupBy: ["team"] }), () => null);
          for (const team of ["t-even", "t-odd"]) {
            const f = fast.rows.find((r) => r.group[0] === team);
            const w = raw.rows.find((r) => r.group[0] === team);
            assert.equal(f?.cacheHits, expect(team).hits, team);
            assert.equal(f?.responseCacheSavingsNanoUsd, expect(team).saved, team);
            assert.equal(w?.cacheHits, expect(team).hits, team);
            assert.equal(w?.responseCacheSavingsNanoUsd, expect(team).saved, team);
          }
          // By day too (whole days come from spend_daily).
          const byDay = rollUpSpend(await querySpendPartsFast(db.db, q), () => null);
          const rawDay = rollUpSpend(await querySpendParts(db.db, q), () => null);
          const sums = (rows: typeof byDay.rows) =>
            new Map(rows.map((r) => [JSON.stringify(r.group), [r.cacheHits, r.responseCacheSavingsNanoUsd]]));
          assert.deepEqual(sums(byDay.rows), sums(rawDay.rows));
        };
        // Maintained by the log transaction…
        await check();
        // …and recomputed by the migration from request_logs (down, then up again).
        const raw = db.db as unknown as Kysely<unknown>;
        await rollupCacheSavingsMigration.down?.(raw);
        await rollupCacheSavingsMigration.up(raw);
        await check();
      } finally {
        await db.close();
        if (backend.name === "PostgreSQL") await dropSchema(pgUrl, schema);
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
