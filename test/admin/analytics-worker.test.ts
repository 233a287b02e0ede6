import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { AnalyticsClient } from "../../src/admin/analytics/client.ts";
import type { AnalyticsConnection, SpendRequest } from "../../src/admin/analytics/protocol.ts";
import { computeSpend } from "../../src/admin/analytics/spend-compute.ts";
import { sessionListJson } from "../../src/admin/sessions-render.ts";
import { InvalidCursorError } from "../../src/store/cursor.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { LogWriter } from "../../src/store/log-writer.ts";
import type { CacheDiscount, SpendDimension } from "../../src/store/spend-repo.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { makeRecord } from "../store/records.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);

/** Prices by model, and which pairs were asked for (on this thread). */
function recordingDiscount(): { discount: CacheDiscount; asked: string[] } {
  const asked: string[] = [];
  const discount: CacheDiscount = (provider, model) => {
    asked.push(`${provider}/${model}`);
    return model === "claude-haiku-4-5" ? 900_000 : null;
  };
  return { discount, asked };
}

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`AnalyticsClient (${backend})`, { skip: backend === "PostgreSQL" ? (pgSkip ?? false) : false }, () => {
    let dir: string;
    let database: Database;
    let connection: AnalyticsConnection;
    const schema = randomSchemaName("analytics");
    const now = Date.UTC(2026, 5, 15, 12, 30);
    const warnings: string[] = [];
    let client: AnalyticsClient;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "tollgate-analytics-"));
      database = await openDatabase(backend === "SQLite" ? { dataDir: dir } : { dataDir: dir, url: pgUrl, schema });
      connection =
        backend === "SQLite"
          ? { kind: "sqlite", filename: database.location, busyTimeoutMs: 1000 }
          : { kind: "postgres", url: pgUrl, schema, poolSize: 2 };
      const writer = new LogWriter({ db: database.db, spillDir: join(dir, "spill") });
      for (let i = 0; i < 300; i++) {
        writer.write(
          makeRecord({
            // Partial hours at both ends, whole hours and whole days in between: rollups and the raw log merge.
            startedAt: now - Math.floor((i * 7.3 * HOUR) / 10) - (i % 59) * 60_000,
            requestedModel: i % 3 === 0 ? "claude-haiku-4-5" : "claude-sonnet-4-5",
            servedModel: null,
            teamId: `team-${i % 4}`,
            cacheReadTokens: i % 2 === 0 ? 1000 + i : 0,
            costNanoUsd: i % 5 === 0 ? null : 1_000_000 * i + 7,
            sessionId: `s-${i % 3}`,
            labels: { ticket: `T-${i % 2}` },
          }),
        );
      }
      await writer.close();
      client = new AnalyticsClient({ connection, database, warn: (m) => warnings.push(m) });
    });

    after(async () => {
      await client?.close();
      await database?.close();
      if (backend === "PostgreSQL") await dropSchema(pgUrl, schema);
      await rm(dir, { recursive: true, force: true });
    });

    const cases: [readonly SpendDimension[], SpendRequest["format"]][] = [
      [["team", "model"], "json"],
      [["day"], "json"],
      [["hour", "provider"], "csv"],
      [["session", "label:ticket"], "json"],
      [[], "csv"],
    ];
    for (const [groupBy, format] of cases) {
      it(`answers group_by=${groupBy.join(",") || "(none)"} (${format}) on a worker thread, byte for byte as in-process`, async () => {
        const request: SpendRequest = {
          from: now - 20 * DAY - 17 * 60_000,
          to: now + 60_000,
          groupBy,
          filters: {},
          format,
        };
        const inWorker = recordingDiscount();
        const body = await client.spend(request, inWorker.discount);
        assert.notEqual(client.workerThreadId, null, "the worker thread ran the query");
        const inProcess = recordingDiscount();
        const expected = await computeSpend(database.db, database.kind, request, async (pairs) =>
          pairs.map(([p, m]) => inProcess.discount(p, m)),
        );
        assert.equal(body.toString("utf8"), expected);
        assert.ok(expected.length > 20);
        // The prices were asked for on this thread, each (provider, model) with cache reads once.
        assert.deepEqual(inWorker.asked.sort(), ["anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-5"]);
        if (format === "json") {
          const parsed = JSON.parse(body.toString("utf8")) as { totals: { cacheSavingsUsd: string } };
          assert.notEqual(parsed.totals.cacheSavingsUsd, "0.000000000", "haiku's cache reads were priced");
        }
      });
    }

    it("pages the session list on the worker thread, byte for byte as in-process; a bad cursor stays InvalidCursorError", async () => {
      const filter = { from: now - 20 * DAY - 17 * 60_000, to: now + 60_000, limit: 2, team: "team-1" };
      const first = (await client.sessions(filter)).toString();
      assert.equal(first, await sessionListJson(database.db, filter));
      const page = JSON.parse(first) as { items: { id: string }[]; nextCursor: string | null };
      assert.equal(page.items.length, 2);
      assert.ok(page.nextCursor !== null);
      const second = (await client.sessions({ ...filter, cursor: page.nextCursor })).toString();
      assert.equal(second, await sessionListJson(database.db, { ...filter, cursor: page.nextCursor }));
      await assert.rejects(client.sessions({ ...filter, cursor: "not-a-cursor" }), InvalidCursorError);
      assert.notEqual(client.workerThreadId, null);
    });

    it("sees rows committed after it started (its own connection reads the latest commit)", async () => {
      const request: SpendRequest = {
        from: now - HOUR,
        to: now + HOUR,
        groupBy: ["team"],
        filters: {},
        format: "json",
      };
      const before = JSON.parse((await client.spend(request, () => null)).toString()) as {
        totals: { requests: number };
      };
      const writer = new LogWriter({ db: database.db, spillDir: join(dir, "spill") });
      writer.write(makeRecord({ startedAt: now, teamId: "team-new" }));
      await writer.close();
      const later = JSON.parse((await client.spend(request, () => null)).toString()) as {
        totals: { requests: number };
        data: { group: { team: string } }[];
      };
      assert.equal(later.totals.requests, before.totals.requests + 1);
      assert.ok(later.data.some((d) => d.group.team === "team-new"));
    });

    it("falls back to computing in-process when the worker cannot open the database", async () => {
      // A file that does not exist: the read-only connection refuses to open (also for the PostgreSQL case).
      const broken: AnalyticsConnection = {
        kind: "sqlite",
        filename: join(dir, "missing", "nope.db"),
        busyTimeoutMs: 10,
      };
      const seen: string[] = [];
      const fallback = new AnalyticsClient({ connection: broken, database, warn: (m) => seen.push(m) });
      try {
        const request: SpendRequest = {
          from: now - DAY,
          to: now + HOUR,
          groupBy: ["model"],
          filters: {},
          format: "csv",
        };
        const body = await fallback.spend(request, () => null);
        const expected = await computeSpend(database.db, database.kind, request, async (pairs) =>
          pairs.map(() => null),
        );
        assert.equal(body.toString(), expected);
        assert.equal(fallback.workerThreadId, null);
        assert.equal(seen.length, 1);
        assert.match(seen[0] ?? "", /in-process/);
      } finally {
        await fallback.close();
      }
    });

    it("rejects with the database's error when a query fails in the worker, and keeps serving", async () => {
      // Three days: the middle one is read from spend_daily.
      const request: SpendRequest = { from: now - 3 * DAY, to: now, groupBy: ["team"], filters: {}, format: "json" };
      await sql`alter table spend_daily rename to spend_daily_gone`.execute(database.db);
      try {
        await assert.rejects(
          client.spend(request, () => null),
          /spend_daily/,
        );
      } finally {
        await sql`alter table spend_daily_gone rename to spend_daily`.execute(database.db);
      }
      const body = await client.spend(request, () => null);
      assert.ok(body.toString().startsWith('{"from":'));
    });

    it("stops its thread on close; later queries are refused", async () => {
      const c = new AnalyticsClient({ connection, database, warn: (m) => warnings.push(m) });
      await c.spend({ from: now - DAY, to: now, groupBy: [], filters: {}, format: "json" }, () => null);
      assert.notEqual(c.workerThreadId, null);
      await c.close();
      assert.equal(c.workerThreadId, null);
      await assert.rejects(
        c.spend({ from: now - DAY, to: now, groupBy: [], filters: {}, format: "json" }, () => null),
        /closed/,
      );
      assert.deepEqual(warnings, []);
    });
  });
}
