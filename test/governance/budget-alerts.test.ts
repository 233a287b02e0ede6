import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { setTimeout as delay, setImmediate as tick } from "node:timers/promises";
import { ManualClock } from "../../src/clock.ts";
import type { CounterStore, CounterValue } from "../../src/counters/counter-store.ts";
import { MemoryCounterStore } from "../../src/counters/memory-store.ts";
import { BudgetAlerts, budgetAlertsDb, listBudgetAlerts } from "../../src/governance/budget-alerts.ts";
import type { SettledBudget } from "../../src/governance/budget-gate.ts";
import type { BudgetSnapshot } from "../../src/governance/entities/index.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";

const LIMIT = 1_000_000_000; // $1
const DAY = 86_400_000;

function budget(overrides: Partial<BudgetSnapshot> = {}): BudgetSnapshot {
  return {
    id: "bud_1",
    name: "daily",
    scopeType: "team",
    scopeId: "team_1",
    scopeName: "Platform",
    provider: null,
    model: null,
    limitNanoUsd: LIMIT,
    period: "1d",
    mode: "calendar",
    timeZone: "UTC",
    anchorAt: null,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
}

/** Counts reads; can be told to fail them. */
class SpyCounters {
  reads = 0;
  fail = false;
  readonly inner: MemoryCounterStore;
  constructor(inner: MemoryCounterStore) {
    this.inner = inner;
  }
  asStore(): CounterStore {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === "get") {
          return (keys: readonly string[]): Promise<CounterValue[]> => {
            this.reads++;
            if (this.fail) throw new Error("counters down");
            return target.get(keys);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
}

interface Backend {
  name: string;
  skip?: string | undefined;
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

function registerCases(backend: Backend): void {
  describe(`budget alerts: ${backend.name}`, { skip: backend.skip ?? false }, () => {
    let database: Database;
    let clock: ManualClock;
    let memory: MemoryCounterStore;
    let spy: SpyCounters;
    let warnings: string[];
    let windowStart: number;
    const open: BudgetAlerts[] = [];

    const alertsWith = (options: Partial<ConstructorParameters<typeof BudgetAlerts>[0]> = {}) => {
      const alerts = new BudgetAlerts({
        db: database.db,
        counters: spy.asStore(),
        clock,
        warn: (m) => warnings.push(m),
        ...options,
      });
      open.push(alerts);
      return alerts;
    };
    const settled = (b: BudgetSnapshot = budget(), start = windowStart): SettledBudget => ({
      budget: b,
      counterKey: `budget:${b.id}:${start}`,
      windowStart: start,
    });
    /** Adds committed spend to the window's counter, as BudgetGate.settle does. */
    let commits = 0;
    const spend = (nano: number, b: BudgetSnapshot = budget(), start = windowStart) =>
      memory.commit(`req_${++commits}`, [{ key: `budget:${b.id}:${start}`, amount: nano }]);
    const rows = async (budgetId?: string) =>
      (await listBudgetAlerts(database.db, { budgetId, limit: 1000 })).map((a) => [
        a.budgetId,
        a.windowStart,
        a.thresholdPercent,
        a.spendNanoUsd,
        a.limitNanoUsd,
      ]);

    before(async () => {
      database = await backend.open();
    });
    after(async () => {
      await database?.close();
      await backend.cleanup();
    });
    beforeEach(async () => {
      while (open.length > 0) await open.pop()?.close();
      await budgetAlertsDb(database.db).deleteFrom("budget_alerts").execute();
      clock = new ManualClock(Date.UTC(2026, 2, 10, 12));
      windowStart = Date.UTC(2026, 2, 10);
      memory = new MemoryCounterStore({ clock });
      spy = new SpyCounters(memory);
      warnings = [];
    });

    test("records each threshold the committed spend reaches, once per window", async () => {
      const alerts = alertsWith();
      await spend(400_000_000);
      alerts.afterSettle([settled()]);
      await alerts.flush();
      assert.deepEqual(await rows(), [], "40 % reaches no threshold");

      await spend(150_000_000); // 55 %
      alerts.afterSettle([settled()]);
      await alerts.flush();
      await spend(300_000_000); // 85 %
      alerts.afterSettle([settled()]);
      await alerts.flush();
      alerts.afterSettle([settled()]);
      await alerts.flush();
      assert.deepEqual(await rows(), [
        ["bud_1", windowStart, 80, 850_000_000, LIMIT],
        ["bud_1", windowStart, 50, 550_000_000, LIMIT],
      ]);

      const [latest] = await listBudgetAlerts(database.db);
      assert.equal(latest?.scopeType, "team");
      assert.equal(latest?.scopeId, "team_1");
      assert.equal(latest?.scopeName, "Platform");
      assert.equal(latest?.budgetName, "daily");
      assert.equal(latest?.period, "1d");
      assert.equal(latest?.createdAt, clock.now());
      assert.equal(latest?.deliveredAt, null);
      assert.deepEqual(warnings, []);
    });

    test("a jump past several thresholds records them all, newest (highest) first; a new window starts over", async () => {
      const alerts = alertsWith();
      await spend(LIMIT + 1);
      alerts.afterSettle([settled()]);
      await alerts.flush();
      assert.deepEqual(
        (await rows()).map((r) => r[2]),
        [100, 95, 80, 50],
      );
      // Exactly at a threshold counts as reached.
      const next = windowStart + DAY;
      await spend(500_000_000, budget(), next);
      alerts.afterSettle([settled(budget(), next)]);
      await alerts.flush();
      assert.deepEqual(
        (await rows()).filter((r) => r[1] === next).map((r) => r[2]),
        [50],
      );
    });

    test("reads of one window are coalesced: at most one per 250 ms of clock time", async () => {
      const alerts = alertsWith();
      await spend(100_000_000);
      alerts.afterSettle([settled()]);
      alerts.afterSettle([settled()]);
      alerts.afterSettle([settled()]);
      await tick();
      await tick();
      assert.equal(spy.reads, 1, "three settles before the first read: one read");

      await spend(500_000_000); // 60 %, but the window was read just now
      alerts.afterSettle([settled()]);
      await tick();
      await tick();
      assert.equal(spy.reads, 1, "within 250 ms of the last read: waits");
      assert.deepEqual(await rows(), []);

      clock.advance(249);
      alerts.afterSettle([settled()]);
      await tick();
      await tick();
      assert.equal(spy.reads, 1);

      clock.advance(1);
      alerts.afterSettle([settled()]);
      // The read and the insert are real database round trips: wait for them (bounded), however loaded the machine.
      for (const deadline = Date.now() + 5000; (await rows()).length === 0 && Date.now() < deadline; ) await delay(5);
      assert.equal(spy.reads, 2);
      assert.deepEqual(
        (await rows()).map((r) => r[2]),
        [50],
      );

      // Other windows are not held back by this one.
      const other = budget({ id: "bud_2" });
      await spend(900_000_000, other);
      alerts.afterSettle([settled(other)]);
      await alerts.flush();
      assert.deepEqual(
        (await rows("bud_2")).map((r) => r[2]),
        [80, 50],
      );
    });

    test("the pending window is read later (flush, close) and not forgotten", async () => {
      const alerts = alertsWith();
      alerts.afterSettle([settled()]);
      await alerts.flush();
      await spend(960_000_000);
      alerts.afterSettle([settled()]); // not due for 250 ms
      await alerts.close();
      assert.deepEqual(
        (await rows()).map((r) => r[2]),
        [95, 80, 50],
      );
      alerts.afterSettle([settled(budget(), windowStart + DAY)]);
      assert.equal(spy.reads, 2, "closed: later settles are ignored");
    });

    test("several processes (separate memories) write each alert once", async () => {
      const a = alertsWith();
      const b = alertsWith();
      await spend(820_000_000);
      a.afterSettle([settled()]);
      b.afterSettle([settled()]);
      await Promise.all([a.flush(), b.flush()]);
      // A restarted process knows nothing and tries again: the unique key holds.
      const c = alertsWith();
      c.afterSettle([settled()]);
      await c.flush();
      assert.deepEqual(
        (await rows()).map((r) => r[2]),
        [80, 50],
      );
      assert.deepEqual(warnings, []);
    });

    test("thresholds are measured against the budget's current limit", async () => {
      const alerts = alertsWith();
      await spend(400_000_000);
      alerts.afterSettle([settled()]);
      await alerts.flush();
      assert.deepEqual(await rows(), []);
      // The limit is halved: 40 % of the old limit is 80 % of the new one. A stale snapshot queued after the
      // newer one does not win.
      const lowered = budget({ limitNanoUsd: LIMIT / 2, updatedAt: 5 });
      alerts.afterSettle([settled(lowered), settled(budget())]);
      await alerts.flush();
      assert.deepEqual(await rows(), [
        ["bud_1", windowStart, 80, 400_000_000, LIMIT / 2],
        ["bud_1", windowStart, 50, 400_000_000, LIMIT / 2],
      ]);
      // Raised: 80 % of the new limit is reached, but 80 % already fired in this window.
      alerts.afterSettle([settled(budget({ limitNanoUsd: LIMIT * 2, updatedAt: 9 }))]);
      await spend(1_300_000_000); // 85 % of the raised limit
      await alerts.flush();
      assert.equal((await rows()).length, 2);
    });

    test("custom thresholds; invalid ones are refused at construction", async () => {
      const alerts = alertsWith({ thresholds: [90, 25] });
      await spend(300_000_000);
      alerts.afterSettle([settled()]);
      await alerts.flush();
      assert.deepEqual(
        (await rows()).map((r) => r[2]),
        [25],
      );
      assert.throws(() => alertsWith({ thresholds: [0] }), /threshold 0/);
      assert.throws(() => alertsWith({ thresholds: [12.5] }), /threshold 12\.5/);
    });

    test("never throws: a failing counter read warns, and the next settle tries again", async () => {
      const alerts = alertsWith();
      await spend(600_000_000);
      spy.fail = true;
      assert.doesNotThrow(() => alerts.afterSettle([settled()]));
      await alerts.flush();
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? "", /budget alerts: .*counters down/);
      assert.deepEqual(await rows(), []);
      spy.fail = false;
      alerts.afterSettle([settled()]);
      await alerts.flush();
      assert.deepEqual(
        (await rows()).map((r) => r[2]),
        [50],
      );
      // Malformed input is swallowed too.
      assert.doesNotThrow(() => alerts.afterSettle([null as unknown as SettledBudget]));
      assert.equal(warnings.length, 2);
    });

    test("a small memory forgets old marks without writing duplicates", async () => {
      const alerts = alertsWith({ maxRemembered: 2 });
      for (let d = 0; d < 3; d++) await spend(LIMIT, budget(), windowStart + d * DAY);
      for (let round = 0; round < 2; round++) {
        for (let d = 0; d < 3; d++) alerts.afterSettle([settled(budget(), windowStart + d * DAY)]);
        await alerts.flush();
      }
      assert.equal((await rows()).length, 12);
    });

    test("listBudgetAlerts filters by budget and limits the page", async () => {
      const alerts = alertsWith();
      const other = budget({ id: "bud_2" });
      await spend(LIMIT);
      await spend(LIMIT, other);
      alerts.afterSettle([settled(), settled(other)]);
      await alerts.flush();
      assert.equal((await listBudgetAlerts(database.db)).length, 8);
      assert.equal((await listBudgetAlerts(database.db, { limit: 3 })).length, 3);
      const mine = await listBudgetAlerts(database.db, { budgetId: "bud_2" });
      assert.deepEqual(
        mine.map((a) => [a.budgetId, a.thresholdPercent]),
        [
          ["bud_2", 100],
          ["bud_2", 95],
          ["bud_2", 80],
          ["bud_2", 50],
        ],
      );
    });
  });
}

const dataDir = await mkdtemp(join(tmpdir(), "tollgate-alerts-"));
registerCases({
  name: "SQLite",
  open: () => openDatabase({ dataDir }),
  cleanup: () => rm(dataDir, { recursive: true, force: true }),
});

const pgUrl = testPostgresUrl();
const pgSchema = randomSchemaName("alerts");
registerCases({
  name: "PostgreSQL",
  skip: await requirePostgres(pgUrl),
  open: () => openDatabase({ url: pgUrl, dataDir: tmpdir(), schema: pgSchema }),
  cleanup: () => dropSchema(pgUrl, pgSchema),
});
