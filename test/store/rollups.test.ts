import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { insertLogs } from "../../src/store/logs-repo.ts";
import {
  HOUR_MS,
  querySpendPartsFast,
  rebuildSpendRollup,
  rollupCanAnswer,
  rollupNeedsRebuild,
} from "../../src/store/rollups.ts";
import { querySpendParts, rollUpSpend, type SpendDimension, type SpendQuery } from "../../src/store/spend-repo.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { makeRecord } from "./records.ts";

const DAY = 24 * HOUR_MS;

function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

function seed(now: number, n: number, seedNo: number): RequestLogRecord[] {
  const r = rng(seedNo);
  const out: RequestLogRecord[] = [];
  for (let i = 0; i < n; i++) {
    const team = pick(r, ["team-a", "team-b", "", null]);
    const failed = r() < 0.1;
    const tokens = failed ? 0 : Math.floor(r() * 5000);
    out.push(
      makeRecord({
        startedAt: Math.floor(now - r() * 40 * DAY),
        provider: pick(r, ["anthropic", "openai", null]),
        requestedModel: pick(r, ["m-1", "m-2", null]),
        servedModel: pick(r, ["m-1-served", null, null]),
        inputTokens: tokens,
        cacheReadTokens: failed ? 0 : Math.floor(r() * 20_000),
        cacheWrite5mTokens: failed ? 0 : Math.floor(r() * 300),
        cacheWrite1hTokens: failed ? 0 : Math.floor(r() * 50),
        outputTokens: failed ? 0 : Math.floor(r() * 2000),
        reasoningTokens: failed ? 0 : Math.floor(r() * 100),
        costNanoUsd: failed || r() < 0.1 ? null : Math.floor(r() * 50_000_000),
        agent: pick(r, ["claude-code", "codex", null]),
        sessionId: pick(r, ["s-1", null]),
        virtualKeyId: team === null ? null : `${team}-key-${Math.floor(r() * 2)}`,
        teamId: team,
        customerId: pick(r, ["cust-1", "cust-2", null]),
        developerId: pick(r, ["dev-x", "", null]),
      }),
    );
  }
  return out;
}

const ROLLUP_DIMENSIONS: SpendDimension[] = [
  "customer",
  "team",
  "developer",
  "key",
  "provider",
  "model",
  "agent",
  "hour",
  "day",
  "month",
];

const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  const skip = backend === "PostgreSQL" ? pgSkip : undefined;
  describe(`spend_hourly rollup (${backend})`, { skip: skip ?? false }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    const schema = randomSchemaName("rollup");
    const now = Date.now();
    const records = seed(now, 400, 7);

    const raw = async (groupBy: SpendDimension[], from: number, to: number, filters = {}) => {
      const q: SpendQuery = { kind: gw.gateway.database.kind, from, to, groupBy, filters };
      return rollUpSpend(await querySpendParts(gw.gateway.database.db, q), () => 0);
    };
    const fast = async (groupBy: SpendDimension[], from: number, to: number, filters = {}) => {
      const q: SpendQuery = { kind: gw.gateway.database.kind, from, to, groupBy, filters };
      return rollUpSpend(await querySpendPartsFast(gw.gateway.database.db, q), () => 0);
    };
    const tableRows = async () => {
      const out: string[] = [];
      for (const table of ["spend_hourly", "spend_daily"]) {
        const result = await sql
          .raw<Record<string, unknown>>(
            `select * from ${table} order by bucket, customer_id, team_id, developer_id, virtual_key_id, provider, model, agent`,
          )
          .execute(gw.gateway.database.db);
        out.push(...result.rows.map((row) => `${table} ${JSON.stringify(Object.values(row).map(String))}`));
      }
      return out;
    };

    before(async () => {
      mock = await startMockUpstream();
      gw = await startTestGateway({
        upstreamUrl: mock.url,
        ...(backend === "PostgreSQL" ? { databaseUrl: pgUrl, databaseSchema: schema } : {}),
      });
      for (const record of records) gw.gateway.logWriter.write(record);
      await gw.gateway.logWriter.flush();
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      if (backend === "PostgreSQL") await dropSchema(pgUrl, schema);
    });

    it("the rollup is maintained as logs are written and counts every row once", async () => {
      for (const table of ["spend_hourly", "spend_daily"]) {
        const rows = await sql<{ n: unknown }>`select sum(requests) as n from ${sql.table(table)}`.execute(
          gw.gateway.database.db,
        );
        assert.equal(Number(rows.rows[0]?.n), records.length, table);
      }
      // A replayed batch (spill file, retried transaction) is ignored by the log and so by the rollup.
      const before = await tableRows();
      await insertLogs(gw.gateway.database.db, records.slice(0, 50));
      assert.deepEqual(await tableRows(), before);
    });

    it("rebuilding from the raw log gives the same table as incremental maintenance", async () => {
      const incremental = await tableRows();
      assert.ok(incremental.length > 50);
      await rebuildSpendRollup(gw.gateway.database.db);
      assert.deepEqual(await tableRows(), incremental);
      assert.equal(await rollupNeedsRebuild(gw.gateway.database.db), false);
      await sql`delete from spend_hourly`.execute(gw.gateway.database.db);
      await sql`delete from spend_daily`.execute(gw.gateway.database.db);
      assert.equal(await rollupNeedsRebuild(gw.gateway.database.db), true);
      await rebuildSpendRollup(gw.gateway.database.db);
      assert.deepEqual(await tableRows(), incremental);
    });

    const groupings: SpendDimension[][] = [
      ...ROLLUP_DIMENSIONS.map((d) => [d]),
      ["team", "day"],
      ["customer", "developer", "key", "provider", "model", "agent", "hour"],
      [],
    ];
    for (const groupBy of groupings) {
      it(`group_by=${groupBy.join(",") || "(none)"}: rollup-backed answers equal raw answers`, async () => {
        const aligned = Math.floor(now / HOUR_MS) * HOUR_MS;
        const ranges: [number, number][] = [
          [aligned - 45 * DAY, aligned + HOUR_MS], // whole hours: rollup only
          [now - 30 * DAY + 12_345, now + 1], // partial edges from the raw log
          [now - 10 * DAY - 7, now - 10 * DAY + 5_000], // inside one hour: raw only
        ];
        for (const [from, to] of ranges) {
          assert.deepEqual(await fast(groupBy, from, to), await raw(groupBy, from, to), `${from}..${to}`);
        }
        const filters = { team: "team-a", developer: "", model: "m-1-served" };
        assert.deepEqual(
          await fast(groupBy, now - 45 * DAY, now + 1, filters),
          await raw(groupBy, now - 45 * DAY, now + 1, filters),
        );
      });
    }

    it("answers through the API the same as the raw log, and falls back for session and label", async () => {
      const res = await fetch(`${gw.url}/api/spend?group_by=team,model&from=${now - 45 * DAY}&to=${now + 1}`, {
        headers: { authorization: `Bearer ${gw.adminToken}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { totals: { requests: number } };
      assert.equal(body.totals.requests, records.length);
      const q = (groupBy: SpendDimension[], filters = {}): SpendQuery => ({
        kind: gw.gateway.database.kind,
        from: 0,
        to: 1,
        groupBy,
        filters,
      });
      assert.equal(rollupCanAnswer(q(["team", "day"])), true);
      assert.equal(rollupCanAnswer(q(["session"])), false);
      assert.equal(rollupCanAnswer(q(["label:x"])), false);
      assert.equal(rollupCanAnswer(q([], { session: "s-1" })), false);
      assert.deepEqual(await fast(["session"], now - 45 * DAY, now), await raw(["session"], now - 45 * DAY, now));
      // Whole days really come from spend_daily, hours (group_by=hour) from spend_hourly: a change there shows.
      const db = gw.gateway.database.db;
      const [from, to] = [Math.floor(now / DAY) * DAY - 45 * DAY, Math.floor(now / DAY) * DAY];
      for (const [table, groupBy] of [
        ["spend_daily", []],
        ["spend_hourly", ["hour"]],
      ] as const) {
        const changed =
          await sql`update ${sql.table(table)} set requests = requests + 1 where bucket = (select min(bucket) from ${sql.table(table)})`.execute(
            db,
          );
        assert.ok((changed.numAffectedRows ?? 0n) > 0n);
        const total = async (f: typeof fast) => (await f([...groupBy], from, to)).totals.requests;
        assert.equal(await total(fast), (await total(raw)) + (changed.numAffectedRows ?? 0n), table);
      }
      await rebuildSpendRollup(db);
      assert.deepEqual(await fast([], from, to), await raw([], from, to));
    });
  });
}
