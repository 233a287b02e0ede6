import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { DAY_MS } from "../../src/store/retention.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";

const OLD = Date.UTC(2026, 0, 10, 9, 30);
const NEW = OLD + 100 * DAY_MS;
const OLD_SESSION = "0b5e7a10-0000-4000-8000-00000000000a";

interface SpendBody {
  data: { group: Record<string, string | null>; requests: number; costNanoUsd: number }[];
  totals: { requests: number; costNanoUsd: number; tokens: Record<string, number> };
}

const pgUrl = testPostgresUrl();
const pgSkip = await requirePostgres(pgUrl);

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`log retention (${backend})`, { skip: (backend === "PostgreSQL" ? pgSkip : undefined) ?? false }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    const clock = new ManualClock(OLD);
    const schema = randomSchemaName("retention");

    const call = async (opts: { model?: string; session?: string; label?: string; key?: string } = {}) => {
      const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "x-api-key": opts.key ?? "x",
          "x-mock-script": JSON.stringify({ scenario: "text", usage: { input_tokens: 100, output_tokens: 10 } }),
          ...(opts.session ? { "x-claude-code-session-id": opts.session, "user-agent": "claude-cli/2.1.197" } : {}),
          ...(opts.label ? { "x-tollgate-label-project": opts.label } : {}),
        },
        body: JSON.stringify({
          model: opts.model ?? "claude-sonnet-4-5",
          max_tokens: 50,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
    };
    const admin = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${gw.url}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as T };
    };
    const labelRows = async () => {
      const rows = await gw.gateway.database.db.selectFrom("request_log_labels").select("log_id").execute();
      return rows.map((r) => r.log_id).sort();
    };

    before(async () => {
      mock = await startMockUpstream();
      gw = await startTestGateway({
        upstreamUrl: mock.url,
        clock,
        ...(backend === "PostgreSQL" ? { databaseUrl: pgUrl, databaseSchema: schema } : {}),
      });
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      if (backend === "PostgreSQL") await dropSchema(pgUrl, schema);
    });

    it("deletes raw rows (and their labels) past 90 days in batches; rollups and spend totals stay", async () => {
      assert.equal(gw.gateway.retention.enabled, true, "on by default");
      // Three old calls (two labelled, one session), then two 100 days later.
      await call({ session: OLD_SESSION, label: "apollo" });
      clock.advance(20 * 60_000);
      await call({ model: "claude-haiku-4-5", session: OLD_SESSION, label: "apollo" });
      clock.advance(DAY_MS);
      await call();
      clock.set(NEW);
      await call({ label: "zeus" });
      await call({ model: "claude-haiku-4-5" });
      const before = await gw.waitForLogs(5);
      assert.equal(before.length, 5);
      assert.equal((await labelRows()).length, 3);

      // Whole days: answered by the rollups (daily, hourly, and the raw log only for partial hours at the edges).
      const q = `/spend?group_by=day,model&from=2026-01-01&to=${new Date(NEW + DAY_MS).toISOString().slice(0, 10)}`;
      const spendBefore = await admin<SpendBody>("GET", q);
      assert.equal(spendBefore.status, 200);
      assert.equal(spendBefore.body.totals.requests, 5);
      const oldMonth = await admin<SpendBody>("GET", "/spend?group_by=team,agent&from=2026-01-01&to=2026-02-01");
      assert.equal(oldMonth.body.totals.requests, 3);
      assert.equal((await admin("GET", `/sessions/${OLD_SESSION}`)).status, 200);

      // 100 days and an hour later: a pass removes the three old rows, nothing newer.
      clock.set(NEW + 3_600_000);
      const pass = await gw.gateway.retention.runOnce();
      assert.deepEqual(pass, { cutoff: clock.now() - 90 * DAY_MS, deleted: 3 });
      const left = await gw.logs();
      assert.deepEqual(
        left.map((r) => r.id),
        before.filter((r) => r.startedAt >= NEW).map((r) => r.id),
      );
      const zeus = left.find((r) => r.labels.project === "zeus");
      assert.ok(zeus);
      assert.deepEqual(await labelRows(), [zeus.id], "the deleted rows' labels went with them");
      assert.equal((await admin("GET", `/sessions/${OLD_SESSION}`)).status, 404, "raw session history is gone");

      // The spend API reads the rollups for old periods: every figure is as before.
      assert.deepEqual((await admin<SpendBody>("GET", q)).body, spendBefore.body);
      assert.deepEqual(
        (await admin<SpendBody>("GET", "/spend?group_by=team,agent&from=2026-01-01&to=2026-02-01")).body,
        oldMonth.body,
      );
      const rollupRows = await gw.gateway.database.db
        .selectFrom("spend_hourly" as never)
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirst();
      assert.ok(Number(rollupRows?.n) >= 4, "hourly rollup rows of the old hours are still there");

      // Nothing left to delete: a second pass is a no-op.
      assert.deepEqual(await gw.gateway.retention.runOnce(), { cutoff: clock.now() - 90 * DAY_MS, deleted: 0 });
    });

    it("keeps rows inside a budget's current window (budget counters are rebuilt from them)", async () => {
      // A yearly (calendar) budget on a key: its window starts 2027-01-01.
      clock.set(Date.UTC(2027, 0, 1, 1));
      const key = await admin<{ id: string; secret: string }>("POST", "/virtual-keys", {
        name: "yearly",
        budgets: [{ name: "yearly", limitUsd: "100", period: "1y" }],
      });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      await call({ key: key.body.secret });
      const rows = await gw.waitForLogs(3);
      assert.equal(rows.length, 3);
      const keyRow = rows.find((r) => r.virtualKeyId === key.body.id);
      assert.ok(keyRow);

      // 150 days on: 90 days would cut at 2027-03-02, but the budget's window holds the cutoff at 2027-01-01.
      clock.set(Date.UTC(2027, 4, 31));
      assert.equal(gw.gateway.retention.cutoff(), Date.UTC(2027, 0, 1));
      const pass = await gw.gateway.retention.runOnce();
      assert.deepEqual(pass, { cutoff: Date.UTC(2027, 0, 1), deleted: 2 });
      assert.deepEqual(
        (await gw.logs()).map((r) => r.id),
        [keyRow.id],
      );
    });
  });
}

describe("log retention settings", () => {
  it("retention.logsDays: 0 keeps raw logs forever; a small batch size still deletes everything due", async () => {
    const mock = await startMockUpstream();
    const clock = new ManualClock(OLD);
    const gw = await startTestGateway({
      upstreamUrl: mock.url,
      clock,
      configure: (c) => {
        c.retention = { logsDays: 0 };
      },
    });
    try {
      assert.equal(gw.gateway.retention.enabled, false);
      assert.equal(await gw.gateway.retention.runOnce(), null);
    } finally {
      await gw.close();
      await mock.close();
    }
  });

  it("deletes in batches of batchSize until nothing is due", async () => {
    const { LogRetention } = await import("../../src/store/retention.ts");
    const mock = await startMockUpstream();
    const clock = new ManualClock(OLD);
    const gw = await startTestGateway({ upstreamUrl: mock.url, clock });
    try {
      for (let i = 0; i < 7; i++) {
        const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-api-key": "x",
            "x-tollgate-label-n": String(i),
            "x-mock-script": JSON.stringify({ scenario: "text" }),
          },
          body: JSON.stringify({
            model: "claude-sonnet-4-5",
            max_tokens: 5,
            messages: [{ role: "user", content: "x" }],
          }),
        });
        await res.arrayBuffer();
        clock.advance(1000);
      }
      await gw.waitForLogs(7);
      clock.advance(10 * DAY_MS);
      const warnings: string[] = [];
      const retention = new LogRetention({
        db: gw.gateway.database.db,
        clock,
        warn: (m) => warnings.push(m),
        logsDays: 5,
        batchSize: 2,
      });
      assert.deepEqual(await retention.runOnce(), { cutoff: clock.now() - 5 * DAY_MS, deleted: 7 });
      assert.deepEqual(await gw.logs(), []);
      const labels = await gw.gateway.database.db.selectFrom("request_log_labels").select("log_id").execute();
      assert.deepEqual(labels, []);
      assert.deepEqual(warnings, []);
      await retention.close();
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});
