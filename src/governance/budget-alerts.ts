import type { Kysely } from "kysely";
import type { Clock } from "../clock.ts";
import type { CounterStore, CounterValue } from "../counters/counter-store.ts";
import { uuidv7 } from "../store/ids.ts";
import type { Db, TollgateTables } from "../store/schema.ts";
import type { SettledBudget } from "./budget-gate.ts";

/** Table of migration 0005. Same conventions as store/schema.ts (epoch ms, integer nano-dollars). */
export interface BudgetAlertsTable {
  id: string;
  budget_id: string;
  budget_name: string | null;
  scope_type: string;
  scope_id: string | null;
  scope_name: string | null;
  period: string;
  window_start: number;
  threshold_percent: number;
  /** Committed spend of the window when the crossing was seen. */
  spend_nano_usd: number;
  /** The budget's limit the threshold was measured against. */
  limit_nano_usd: number;
  created_at: number;
  /** Set by the deliverer (observability); null until then. */
  delivered_at: number | null;
}

export type BudgetAlertsDb = Kysely<TollgateTables & { budget_alerts: BudgetAlertsTable }>;

export function budgetAlertsDb(db: Db): BudgetAlertsDb {
  return db.withTables<{ budget_alerts: BudgetAlertsTable }>();
}

export interface BudgetAlert {
  id: string;
  /** 'budget.threshold', or 'spend_anomaly' (alerts/spend-anomalies.ts; budgetId is then `spend_anomaly:<key id>`). */
  kind: string;
  /** Kind-specific JSON (an anomaly's baseline and factor); null for threshold alerts. */
  details: unknown;
  budgetId: string;
  budgetName: string | null;
  scopeType: string;
  scopeId: string | null;
  scopeName: string | null;
  period: string;
  windowStart: number;
  thresholdPercent: number;
  spendNanoUsd: number;
  limitNanoUsd: number;
  createdAt: number;
  deliveredAt: number | null;
}

export const DEFAULT_ALERT_THRESHOLDS: readonly number[] = [50, 80, 95, 100];
/** Minimum clock time between two counter reads of one budget window. */
const DEFAULT_COALESCE_MS = 250;
/** (budget, window, threshold) marks kept in memory; past it the oldest are forgotten (the unique key still holds). */
const DEFAULT_MAX_REMEMBERED = 100_000;
/** Rows per INSERT (13 parameters each: far below every backend's limit). */
const INSERT_CHUNK = 200;

export interface BudgetAlertsOptions {
  db: Db;
  counters: CounterStore;
  clock: Clock;
  warn: (message: string) => void;
  /** Integer percentages of the limit, 1…1000. Default 50, 80, 95, 100. */
  thresholds?: readonly number[];
  coalesceMs?: number;
  maxRemembered?: number;
}

/**
 * Budget threshold alerts: after spend is committed, the window's committed total is read from the counters and
 * every threshold it has reached (committed ≥ threshold % × the budget's current limit) gets one `budget_alerts`
 * row per budget window. Off the request path: `afterSettle` only queues; reads of one window are coalesced (one
 * per `coalesceMs` of clock time; later settles wait on a timer); the unique (budget, window, threshold) key makes
 * concurrent processes insert each alert once. Delivery is someone else's job (`delivered_at`).
 */
export class BudgetAlerts {
  readonly #db: BudgetAlertsDb;
  readonly #counters: CounterStore;
  readonly #clock: Clock;
  readonly #warn: (message: string) => void;
  readonly #thresholds: readonly number[];
  readonly #coalesceMs: number;
  readonly #maxRemembered: number;
  /** counter key → the settled window waiting for a read (the newest budget snapshot wins: its limit is current). */
  readonly #pending = new Map<string, SettledBudget>();
  /** counter key → clock time of its last read. */
  readonly #lastRead = new Map<string, number>();
  /** `budgetId:windowStart:threshold` already in the table (inserted here or by another process). */
  readonly #recorded = new Set<string>();
  readonly #lastMarks = new WeakMap<SettledBudget, string>();
  #running: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** When (clock time) the armed timer's reads fall due: a settle after that reads at once. */
  #timerDueAt = 0;
  #force = false;
  #closed = false;

  constructor(options: BudgetAlertsOptions) {
    const thresholds = [...(options.thresholds ?? DEFAULT_ALERT_THRESHOLDS)].sort((a, b) => a - b);
    for (const t of thresholds) {
      if (!Number.isInteger(t) || t < 1 || t > 1000) {
        throw new Error(`budget alert threshold ${t} is not an integer percentage from 1 to 1000`);
      }
    }
    this.#db = budgetAlertsDb(options.db);
    this.#counters = options.counters;
    this.#clock = options.clock;
    this.#warn = options.warn;
    this.#thresholds = [...new Set(thresholds)];
    this.#coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
    this.#maxRemembered = options.maxRemembered ?? DEFAULT_MAX_REMEMBERED;
  }

  /** Budget windows that just took spend. Synchronous and cheap; never throws. */
  afterSettle(items: readonly SettledBudget[]): void {
    if (this.#closed || this.#thresholds.length === 0) return;
    try {
      for (const item of items) {
        // Every threshold recorded (they are recorded together, lowest first): nothing left to find this window.
        if (this.#recorded.has(this.#lastMark(item))) continue;
        const queued = this.#pending.get(item.counterKey);
        if (queued === undefined || item.budget.updatedAt >= queued.budget.updatedAt) {
          this.#pending.set(item.counterKey, item);
        }
      }
      // An armed timer or a running drain picks the new items up; starting another drain per settle costs CPU.
      if (this.#pending.size === 0 || this.#running !== null) return;
      if (this.#timer === null || this.#clock.now() >= this.#timerDueAt) void this.#kick();
    } catch (err) {
      this.#warn(`budget alerts: ${errorText(err)}`);
    }
  }

  /** Reads every queued window now (ignoring the coalescing delay) and waits until its alerts are written. */
  flush(): Promise<void> {
    this.#force = true;
    return this.#kick();
  }

  /** Finishes the queued work; later settles are ignored. Call before the counters and the database close. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  #kick(): Promise<void> {
    this.#running ??= this.#drain();
    return this.#running;
  }

  async #drain(): Promise<void> {
    await null; // never in the caller's turn
    try {
      for (;;) {
        const due = this.#takeDue();
        if (due.length === 0) return;
        await this.#check(due);
      }
    } finally {
      // Cleared in the same turn as the decision to stop, so a flush arriving later starts a new drain.
      this.#running = null;
    }
  }

  #takeDue(): SettledBudget[] {
    const force = this.#force;
    this.#force = false;
    const now = this.#clock.now();
    const due: SettledBudget[] = [];
    let wait = Number.POSITIVE_INFINITY;
    for (const [key, item] of this.#pending) {
      const last = this.#lastRead.get(key);
      const left = last === undefined ? 0 : last + this.#coalesceMs - now;
      if (force || left <= 0) {
        this.#pending.delete(key);
        this.#lastRead.set(key, now);
        due.push(item);
      } else {
        wait = Math.min(wait, left);
      }
    }
    if (this.#lastRead.size > 10_000) {
      for (const [key, at] of this.#lastRead) if (now - at >= this.#coalesceMs) this.#lastRead.delete(key);
    }
    if (wait !== Number.POSITIVE_INFINITY && this.#timer === null && !this.#closed) {
      this.#timerDueAt = now + wait;
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.#kick();
      }, wait);
      this.#timer.unref();
    }
    return due;
  }

  async #check(due: readonly SettledBudget[]): Promise<void> {
    try {
      const values: CounterValue[] = await this.#counters.get(due.map((d) => d.counterKey));
      const now = this.#clock.now();
      const rows: BudgetAlertsTable[] = [];
      for (const [i, { budget, windowStart }] of due.entries()) {
        const committed = values[i]?.committed ?? 0;
        if (committed <= 0) continue;
        for (const t of this.#thresholds) {
          if (!reached(committed, budget.limitNanoUsd, t)) break;
          if (this.#recorded.has(mark(budget.id, windowStart, t))) continue;
          rows.push({
            id: uuidv7(this.#clock),
            budget_id: budget.id,
            budget_name: budget.name,
            scope_type: budget.scopeType,
            scope_id: budget.scopeId,
            scope_name: budget.scopeName,
            period: budget.period,
            window_start: windowStart,
            threshold_percent: t,
            spend_nano_usd: committed,
            limit_nano_usd: budget.limitNanoUsd,
            created_at: now,
            delivered_at: null,
          });
        }
      }
      for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
        const chunk = rows.slice(start, start + INSERT_CHUNK);
        await this.#db
          .insertInto("budget_alerts")
          .values(chunk)
          .onConflict((oc) => oc.columns(["budget_id", "window_start", "threshold_percent"]).doNothing())
          .execute();
        for (const r of chunk) this.#remember(mark(r.budget_id, r.window_start, r.threshold_percent));
      }
    } catch (err) {
      // Not remembered: the next settle of the window tries again.
      this.#warn(`budget alerts: could not record threshold alerts: ${errorText(err)}`);
    }
  }

  /**
   * The mark of the item's highest threshold. Budget gates hand the same item object to every settle in a window,
   * so the string is built (and hashed) once per window rather than per request.
   */
  #lastMark(item: SettledBudget): string {
    let m = this.#lastMarks.get(item);
    if (m === undefined) {
      m = mark(item.budget.id, item.windowStart, this.#thresholds.at(-1) ?? 0);
      this.#lastMarks.set(item, m);
    }
    return m;
  }

  #remember(key: string): void {
    this.#recorded.add(key);
    if (this.#recorded.size <= this.#maxRemembered) return;
    const keep = Math.floor(this.#maxRemembered * 0.9);
    for (const old of this.#recorded) {
      if (this.#recorded.size <= keep) break;
      this.#recorded.delete(old);
    }
  }
}

function mark(budgetId: string, windowStart: number, threshold: number): string {
  return `${budgetId}:${windowStart}:${threshold}`;
}

/** committed ≥ threshold % of limit, exactly (the products pass 2^53 for large budgets). */
function reached(committed: number, limit: number, thresholdPercent: number): boolean {
  return BigInt(Math.trunc(committed)) * 100n >= BigInt(Math.trunc(limit)) * BigInt(thresholdPercent);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface BudgetAlertFilter {
  budgetId?: string | undefined;
  /** Default 50, clamped to 1…1000. */
  limit?: number | undefined;
}

/** Recent alerts, newest first (ids are UUIDv7: equal times keep creation order). */
export async function listBudgetAlerts(db: Db, filter: BudgetAlertFilter = {}): Promise<BudgetAlert[]> {
  const limit = Math.min(1000, Math.max(1, Math.floor(filter.limit ?? 50)));
  let query = budgetAlertsDb(db)
    .withTables<{ budget_alerts: { kind: string; details: string | null } }>()
    .selectFrom("budget_alerts")
    .selectAll();
  if (filter.budgetId !== undefined) query = query.where("budget_id", "=", filter.budgetId);
  const rows = await query.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute();
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    details: r.details === null ? null : (JSON.parse(r.details) as unknown),
    budgetId: r.budget_id,
    budgetName: r.budget_name,
    scopeType: r.scope_type,
    scopeId: r.scope_id,
    scopeName: r.scope_name,
    period: r.period,
    windowStart: Number(r.window_start),
    thresholdPercent: Number(r.threshold_percent),
    spendNanoUsd: Number(r.spend_nano_usd),
    limitNanoUsd: Number(r.limit_nano_usd),
    createdAt: Number(r.created_at),
    deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  }));
}
