import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { sql } from "kysely";
import { ManualClock } from "../../src/clock.ts";
import { InvalidCursorError } from "../../src/store/cursor.ts";
import type { Database } from "../../src/store/database.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { LogWriter } from "../../src/store/log-writer.ts";
import { getLog, insertLogs, queryLogs } from "../../src/store/logs-repo.ts";
import { migrateToLatest } from "../../src/store/migrate.ts";
import { migrations } from "../../src/store/migrations/index.ts";
import type { Db } from "../../src/store/schema.ts";
import { sumAsText } from "../../src/store/sql-helpers.ts";
import { FaultPlugin } from "./fault-plugin.ts";
import { ManualTimers } from "./manual-timers.ts";
import { BASE_TIME, makeRecord, until } from "./records.ts";

/** One backend under test. Every open() of the same backend reaches the same data (file or schema). */
export interface StoreBackend {
  name: string;
  /** Why the whole suite is skipped (e.g. PostgreSQL not reachable); undefined to run. */
  skip?: string | undefined;
  open(): Promise<Database>;
  /** Removes what the backend created (temp dir, schema). */
  cleanup(): Promise<void>;
}

const quiet = (): void => {};

async function countLogs(db: Db): Promise<number> {
  const row = await db
    .selectFrom("request_logs")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function allIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("request_logs").select("id").orderBy("id").execute();
  return rows.map((r) => r.id);
}

function newestFirst(records: readonly RequestLogRecord[]): string[] {
  return [...records]
    .sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((r) => r.id);
}

/** The cases every store backend must pass. */
export function registerStoreCases(backend: StoreBackend): void {
  describe(`store conformance: ${backend.name}`, { skip: backend.skip ?? false }, () => {
    let database: Database;
    let db: Db;
    let spillDir: string;

    before(async () => {
      database = await backend.open();
      db = database.db;
    });

    after(async () => {
      await database?.close();
      await backend.cleanup();
    });

    beforeEach(async () => {
      await db.deleteFrom("request_log_labels").execute();
      await db.deleteFrom("request_logs").execute();
      spillDir = await mkdtemp(join(tmpdir(), "tollgate-spill-"));
    });

    afterEach(async () => {
      await rm(spillDir, { recursive: true, force: true });
    });

    describe("migrations", () => {
      test("the first open applied every migration, in order", () => {
        assert.deepEqual(database.appliedMigrations, Object.keys(migrations).sort());
      });

      test("are idempotent: reopening and re-running apply nothing", async () => {
        const again = await backend.open();
        try {
          assert.deepEqual(again.appliedMigrations, []);
          assert.deepEqual(await migrateToLatest(again.db), []);
          const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(again.db);
          assert.deepEqual(
            rows.rows.map((r) => r.name),
            Object.keys(migrations).sort(),
          );
        } finally {
          await again.close();
        }
      });

      test("create every table the store relies on", async () => {
        const tables = (await db.introspection.getTables()).map((t) => t.name);
        for (const name of [
          "request_logs",
          "request_log_labels",
          "providers",
          "provider_keys",
          "price_overrides",
          "settings",
        ]) {
          assert.ok(tables.includes(name), `missing table ${name}`);
        }
      });
    });

    describe("request log round trip", () => {
      test("keeps every field of a fully populated record", async () => {
        const record = makeRecord({
          dialect: "openai-responses",
          endpoint: "/v1/responses",
          stream: false,
          provider: "openai",
          providerKeyId: "pk_123",
          requestedModel: "gpt-5",
          servedModel: "gpt-5-2025-08-07",
          status: 429,
          errorCode: "rate_limited",
          errorMessage: "Too many requests — ünïcode ✓",
          latencyMs: 987_654,
          ttftMs: 12,
          inputTokens: 1_234_567,
          cacheReadTokens: 2_000_000,
          cacheWrite5mTokens: 3,
          cacheWrite1hTokens: 4,
          outputTokens: 64_000,
          reasoningTokens: 7,
          costNanoUsd: 9_007_199_254,
          priceVersion: "2026-01-01",
          usageEstimated: true,
          sessionId: "sess-1",
          agent: "codex",
          agentVersion: "0.50.0",
          agentId: "agent-a",
          parentAgentId: "agent-root",
          turnId: "turn-9",
          workspace: "/home/dev/project",
          labels: { team: "core", "odd.name": 'quote " and \\ backslash', emoji: "🚀" },
          clientIp: "203.0.113.7",
          userAgent: "codex_cli_rs/0.50.0",
          virtualKeyId: "vk_1",
        });
        await insertLogs(db, [record]);
        assert.deepEqual(await getLog(db, record.id), record);
      });

      test("keeps nulls, empty labels and an unknown (null) cost", async () => {
        const record = makeRecord({
          provider: null,
          providerKeyId: null,
          requestedModel: null,
          servedModel: null,
          status: 400,
          errorCode: "invalid_request",
          errorMessage: null,
          ttftMs: null,
          costNanoUsd: null,
          priceVersion: null,
          agent: null,
          labels: {},
        });
        await insertLogs(db, [record]);
        const back = await getLog(db, record.id);
        assert.deepEqual(back, record);
        assert.equal(back?.costNanoUsd, null);
        assert.equal(typeof back?.startedAt, "number");
      });

      test("getLog answers null for an unknown id", async () => {
        assert.equal(await getLog(db, "01900000-0000-7000-8000-000000000000"), null);
      });

      test("inserting the same id twice keeps one row and does not fail", async () => {
        const record = makeRecord();
        await insertLogs(db, [record]);
        await insertLogs(db, [record, makeRecord()]);
        assert.equal(await countLogs(db), 2);
      });

      test("a batch larger than one statement's parameter limit goes in whole", async () => {
        const records = Array.from({ length: 2500 }, (_, i) =>
          makeRecord({ startedAt: BASE_TIME + i, labels: { n: String(i) } }),
        );
        await insertLogs(db, records);
        assert.equal(await countLogs(db), 2500);
      });

      test("sums of cost are exact beyond 2^53 nano-dollars", async () => {
        const none = await db
          .selectFrom("request_logs")
          .select(sumAsText("cost_nano_usd").as("total"))
          .executeTakeFirstOrThrow();
        assert.equal(none.total, "0");
        await insertLogs(db, [
          makeRecord({ costNanoUsd: 9_000_000_000_000_001 }),
          makeRecord({ costNanoUsd: 9_000_000_000_000_001 }),
          makeRecord({ costNanoUsd: null }),
        ]);
        const row = await db
          .selectFrom("request_logs")
          .select(sumAsText("cost_nano_usd").as("total"))
          .executeTakeFirstOrThrow();
        assert.equal(row.total, "18000000000000002");
        assert.equal(BigInt(row.total), 18_000_000_000_000_002n);
      });
    });

    describe("queryLogs filters", () => {
      const t = (minutes: number): number => BASE_TIME + minutes * 60_000;
      const a = makeRecord({ startedAt: t(1), provider: "anthropic", sessionId: "s1", labels: { team: "core" } });
      const b = makeRecord({
        startedAt: t(2),
        provider: "openai",
        dialect: "openai-chat",
        requestedModel: "gpt-5",
        servedModel: "gpt-5-2025-08-07",
        status: 500,
        agent: "codex",
        virtualKeyId: "vk1",
        labels: { team: "web" },
      });
      const c = makeRecord({
        startedAt: t(3),
        provider: "openai",
        requestedModel: "fast",
        servedModel: "gpt-5",
        status: 429,
        sessionId: "s1",
        agent: "codex",
        labels: { team: "core", env: "prod" },
      });
      const d = makeRecord({ startedAt: t(4), provider: "google", status: 200, virtualKeyId: "vk1" });
      const e = makeRecord({ startedAt: t(5), provider: null, requestedModel: null, servedModel: null, status: 401 });
      const ids = (page: { items: RequestLogRecord[] }): string[] => page.items.map((r) => r.id);

      beforeEach(async () => {
        await insertLogs(db, [a, b, c, d, e]);
      });

      test("no filter: everything, newest first", async () => {
        assert.deepEqual(ids(await queryLogs(db, {})), [e.id, d.id, c.id, b.id, a.id]);
      });
      test("from is inclusive, to is exclusive", async () => {
        assert.deepEqual(ids(await queryLogs(db, { from: t(2), to: t(4) })), [c.id, b.id]);
      });
      test("provider", async () => {
        assert.deepEqual(ids(await queryLogs(db, { provider: "openai" })), [c.id, b.id]);
      });
      test("model matches requested or served", async () => {
        assert.deepEqual(ids(await queryLogs(db, { model: "gpt-5" })), [c.id, b.id]);
        assert.deepEqual(ids(await queryLogs(db, { model: "fast" })), [c.id]);
      });
      test("sessionId", async () => {
        assert.deepEqual(ids(await queryLogs(db, { sessionId: "s1" })), [c.id, a.id]);
      });
      test("agent", async () => {
        assert.deepEqual(ids(await queryLogs(db, { agent: "codex" })), [c.id, b.id]);
      });
      test("dialect", async () => {
        assert.deepEqual(ids(await queryLogs(db, { dialect: "openai-chat" })), [b.id]);
      });
      test("status: exact, error and ok", async () => {
        assert.deepEqual(ids(await queryLogs(db, { status: 429 })), [c.id]);
        assert.deepEqual(ids(await queryLogs(db, { status: "error" })), [e.id, c.id, b.id]);
        assert.deepEqual(ids(await queryLogs(db, { status: "ok" })), [d.id, a.id]);
      });
      test("label name and value", async () => {
        assert.deepEqual(ids(await queryLogs(db, { label: { name: "team", value: "core" } })), [c.id, a.id]);
        assert.deepEqual(ids(await queryLogs(db, { label: { name: "env", value: "prod" } })), [c.id]);
        assert.deepEqual(ids(await queryLogs(db, { label: { name: "team", value: "nope" } })), []);
      });
      test("virtualKeyId", async () => {
        assert.deepEqual(ids(await queryLogs(db, { virtualKeyId: "vk1" })), [d.id, b.id]);
      });
      test("filters combine with AND", async () => {
        const page = await queryLogs(db, {
          provider: "openai",
          sessionId: "s1",
          label: { name: "team", value: "core" },
        });
        assert.deepEqual(ids(page), [c.id]);
      });
      test("limit is clamped to 1..1000", async () => {
        assert.equal((await queryLogs(db, { limit: 0 })).items.length, 1);
        assert.equal((await queryLogs(db, { limit: 100_000 })).items.length, 5);
        assert.equal((await queryLogs(db, { limit: 2 })).items.length, 2);
      });
    });

    describe("queryLogs pagination", () => {
      test("walks every row once across pages, equal timestamps included", async () => {
        const records: RequestLogRecord[] = [];
        // 30 rows share one timestamp, others around it, inserted in shuffled order.
        for (let i = 0; i < 30; i++) records.push(makeRecord({ startedAt: BASE_TIME + 1000 }));
        for (let i = 0; i < 17; i++) records.push(makeRecord({ startedAt: BASE_TIME + (i % 3) * 1000 }));
        records.reverse();
        await insertLogs(db, records);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await queryLogs(db, { limit: 4, ...(cursor === undefined ? {} : { cursor }) });
          pages += 1;
          seen.push(...page.items.map((r) => r.id));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        assert.equal(pages, Math.ceil(records.length / 4));
        assert.equal(new Set(seen).size, seen.length, "no row served twice");
        assert.deepEqual(seen, newestFirst(records));
      });

      test("the last full page has no next cursor", async () => {
        await insertLogs(db, [makeRecord(), makeRecord(), makeRecord(), makeRecord()]);
        const page = await queryLogs(db, { limit: 4 });
        assert.equal(page.items.length, 4);
        assert.equal(page.nextCursor, null);
      });

      test("pagination keeps the filter", async () => {
        const records = Array.from({ length: 9 }, (_, i) =>
          makeRecord({ startedAt: BASE_TIME, provider: i % 2 === 0 ? "even" : "odd" }),
        );
        await insertLogs(db, records);
        const first = await queryLogs(db, { provider: "even", limit: 3 });
        assert.ok(first.nextCursor);
        const second = await queryLogs(db, { provider: "even", limit: 3, cursor: first.nextCursor });
        assert.deepEqual(
          [...first.items, ...second.items].map((r) => r.id),
          newestFirst(records.filter((r) => r.provider === "even")),
        );
        assert.equal(second.nextCursor, null);
      });

      test("a malformed cursor is rejected", async () => {
        await assert.rejects(queryLogs(db, { cursor: "not-a-cursor" }), InvalidCursorError);
        const tampered = Buffer.from(JSON.stringify(["x", 1])).toString("base64url");
        await assert.rejects(queryLogs(db, { cursor: tampered }), InvalidCursorError);
      });
    });

    describe("LogWriter", () => {
      test("under load: 20k writes in a tight loop all land, written equals count", async () => {
        const writer = new LogWriter({ db, spillDir, onError: quiet });
        const total = 20_000;
        const records = Array.from({ length: total }, (_, i) => makeRecord({ startedAt: BASE_TIME + i }));
        for (const record of records) writer.write(record);
        await writer.whenDrained();
        assert.equal(writer.counters.written, total);
        assert.equal(writer.counters.queued, 0);
        assert.equal(writer.counters.spilled, 0);
        assert.equal(await countLogs(db), total);
        await writer.close();
      });

      test("close() writes everything still queued, and is idempotent", async () => {
        const clock = new ManualClock();
        // Fake timers that never fire: only close() can write these rows.
        const writer = new LogWriter({ db, spillDir, clock, timers: new ManualTimers(clock), onError: quiet });
        for (let i = 0; i < 1234; i++) writer.write(makeRecord());
        assert.equal(await countLogs(db), 0);
        const first = writer.close();
        assert.equal(writer.close(), first);
        await first;
        await writer.close();
        assert.equal(await countLogs(db), 1234);
        assert.deepEqual(writer.counters, { written: 1234, queued: 0, spilled: 0, failedBatches: 0 });
      });

      test("flush() writes now what was queued", async () => {
        const clock = new ManualClock();
        const writer = new LogWriter({ db, spillDir, clock, timers: new ManualTimers(clock), onError: quiet });
        writer.write(makeRecord());
        writer.write(makeRecord());
        await writer.flush();
        assert.equal(await countLogs(db), 2);
        await writer.close();
      });

      test("a partial batch is written when the flush interval passes", async () => {
        const clock = new ManualClock();
        const timers = new ManualTimers(clock);
        const writer = new LogWriter({ db, spillDir, clock, timers, flushIntervalMs: 50, onError: quiet });
        writer.write(makeRecord());
        assert.deepEqual(timers.pendingDelays(), [50]);
        timers.advance(49);
        assert.equal(writer.counters.written, 0);
        timers.advance(1);
        await writer.whenDrained();
        assert.equal(writer.counters.written, 1);
        assert.equal(await countLogs(db), 1);
        await writer.close();
      });

      test("a failing database: rows stay queued, retries back off, then everything lands", async () => {
        const clock = new ManualClock();
        const timers = new ManualTimers(clock);
        const fault = new FaultPlugin();
        fault.failing = true;
        const errors: unknown[] = [];
        const writer = new LogWriter({
          db: db.withPlugin(fault),
          spillDir,
          clock,
          timers,
          flushIntervalMs: 50,
          retryBaseMs: 100,
          retryMaxMs: 250,
          onError: (error) => errors.push(error),
        });
        const records = Array.from({ length: 10 }, () => makeRecord());
        for (const record of records) writer.write(record);

        timers.advance(50);
        await until(() => writer.counters.failedBatches === 1, "first failure");
        assert.equal(writer.counters.queued, 10);
        assert.deepEqual(timers.pendingDelays(), [100]);

        timers.advance(100);
        await until(() => writer.counters.failedBatches === 2, "second failure");
        assert.deepEqual(timers.pendingDelays(), [200]);

        timers.advance(200);
        await until(() => writer.counters.failedBatches === 3, "third failure");
        assert.deepEqual(timers.pendingDelays(), [250], "backoff is capped");
        await assert.rejects(writer.flush(), /injected database failure/);
        assert.equal(writer.counters.queued, 10);
        assert.equal(errors.length, 4);

        fault.failing = false;
        timers.advance(250);
        await writer.whenDrained();
        assert.equal(writer.counters.written, 10);
        assert.deepEqual((await allIds(db)).sort(), records.map((r) => r.id).sort());
        assert.equal(writer.retryDelayMs, 100, "backoff resets after success");
        await writer.close();
      });

      test("overflow spills to disk; close with the database still down spills the rest; replay restores all", async () => {
        const clock = new ManualClock();
        const timers = new ManualTimers(clock);
        const fault = new FaultPlugin();
        fault.failing = true;
        const writer = new LogWriter({
          db: db.withPlugin(fault),
          spillDir,
          clock,
          timers,
          maxBatch: 100,
          maxQueued: 1000,
          onError: quiet,
        });
        const records = Array.from({ length: 2500 }, (_, i) => makeRecord({ startedAt: BASE_TIME + i }));
        for (const record of records) writer.write(record);
        assert.equal(writer.counters.queued, 1000);
        assert.equal(writer.counters.spilled, 1500);

        await writer.close();
        assert.deepEqual(writer.counters, { written: 0, queued: 0, spilled: 2500, failedBatches: 1 });
        assert.equal(await countLogs(db), 0);

        // Next start: database healthy again.
        const next = new LogWriter({ db, spillDir, onError: quiet });
        const replay = await next.replaySpill();
        assert.deepEqual(replay, { files: 1, rows: 2500, rejectedLines: 0 });
        assert.deepEqual(await allIds(db), records.map((r) => r.id).sort());
        assert.deepEqual(
          (await readdir(spillDir)).filter((n) => n.endsWith(".jsonl")),
          [],
          "replayed files are removed",
        );
        assert.deepEqual(await next.replaySpill(), { files: 0, rows: 0, rejectedLines: 0 });
        await next.close();
      });

      test("a slow database: overflow spills while the queue is full, recovery writes the queue, nothing lost", async () => {
        const fault = new FaultPlugin();
        fault.hold();
        const writer = new LogWriter({
          db: db.withPlugin(fault),
          spillDir,
          maxBatch: 50,
          maxQueued: 200,
          onError: quiet,
        });
        const records = Array.from({ length: 500 }, (_, i) => makeRecord({ startedAt: BASE_TIME + i }));
        for (const record of records.slice(0, 60)) writer.write(record);
        // The first batch is now stuck in the database; the rest arrive while it hangs.
        await until(() => fault.queriesAttempted > 0, "first batch in flight");
        for (const record of records.slice(60)) writer.write(record);
        assert.equal(writer.counters.queued, 200);
        assert.equal(writer.counters.spilled, 300);
        fault.release();
        await writer.close();
        assert.equal(writer.counters.written, 200);
        assert.equal(await countLogs(db), 200);

        const replay = await new LogWriter({ db, spillDir, onError: quiet }).replaySpill();
        assert.equal(replay.rows, 300);
        assert.deepEqual(await allIds(db), records.map((r) => r.id).sort());
      });

      test("a row written after close() is saved to a spill file, not dropped", async () => {
        const writer = new LogWriter({ db, spillDir, onError: quiet });
        await writer.close();
        const late = makeRecord();
        writer.write(late);
        assert.equal(writer.counters.spilled, 1);
        await new LogWriter({ db, spillDir, onError: quiet }).replaySpill();
        assert.ok(await getLog(db, late.id));
      });

      test("replay is idempotent and sets aside a line cut short by a crash", async () => {
        const present = makeRecord();
        await insertLogs(db, [present]);
        const fresh = [makeRecord(), makeRecord()];
        const lines = [present, ...fresh].map((r) => JSON.stringify(r));
        const name = "request-logs-1-1-deadbeef.jsonl";
        await writeFile(join(spillDir, name), `${lines.join("\n")}\n${lines[1]?.slice(0, 40)}`, "utf8");
        const replay = await new LogWriter({ db, spillDir, onError: quiet }).replaySpill();
        assert.deepEqual(replay, { files: 1, rows: 3, rejectedLines: 1 });
        assert.equal(await countLogs(db), 3);
        assert.deepEqual((await readdir(spillDir)).sort(), [`${name}.rejected`]);
      });

      test("replay keeps the spill file when the database fails, and succeeds later", async () => {
        const record = makeRecord();
        const name = "request-logs-2-1-cafebabe.jsonl";
        await writeFile(join(spillDir, name), `${JSON.stringify(record)}\n`, "utf8");
        const fault = new FaultPlugin();
        fault.failing = true;
        await assert.rejects(new LogWriter({ db: db.withPlugin(fault), spillDir, onError: quiet }).replaySpill());
        assert.deepEqual(await readdir(spillDir), [name]);
        fault.failing = false;
        await new LogWriter({ db, spillDir, onError: quiet }).replaySpill();
        assert.ok(await getLog(db, record.id));
      });
    });
  });
}
