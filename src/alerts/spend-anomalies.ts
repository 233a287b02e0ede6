import { sql } from "kysely";
import type { Clock } from "../clock.ts";
import { type BudgetAlertsTable, budgetAlertsDb } from "../governance/budget-alerts.ts";
import type { GovernanceSnapshot } from "../governance/entities/index.ts";
import { formatNanoUsd } from "../metering/pricing/decimal.ts";
import { PeriodicJob } from "../periodic-job.ts";
import { uuidv7 } from "../store/ids.ts";
import { HOUR_MS } from "../store/rollups.ts";
import type { Db } from "../store/schema.ts";

export const SPEND_ANOMALY_KIND = "spend_anomaly";
/** The baseline: the 7 × 24 whole hours before the current one (hours without spend count as 0). */
export const BASELINE_HOURS = 168;
/** `budget_alerts.budget_id` of a key's anomaly rows: with (window_start = the hour, threshold_percent = 0) the unique key. */
const anomalyId = (keyId: string) => `${SPEND_ANOMALY_KIND}:${keyId}`;
/** Keys per baseline query (IN list). */
const KEY_CHUNK = 500;

/** Columns of migration 0015 (`kind` defaults to 'budget.threshold'). */
export interface AlertKindColumns {
  kind: string;
  /** JSON text (SpendAnomalyDetails for anomalies). */
  details: string | null;
}

export type AlertRow = BudgetAlertsTable & AlertKindColumns;

export function alertKindsDb(db: Db) {
  return budgetAlertsDb(db).withTables<{ budget_alerts: AlertKindColumns }>();
}

export interface SpendAnomalySettings {
  /** Current-hour spend must exceed factor × the 7-day hourly average. */
  factor: number;
  /** …and reach this (integer nano-dollars). */
  minSpendNanoUsd: number;
}

export interface SpendAnomalyOptions extends SpendAnomalySettings {
  db: Db;
  clock: Clock;
  warn: (message: string) => void;
  governance: () => GovernanceSnapshot;
  /** Real time between checks. Default 5 min. */
  intervalMs?: number;
  /** Real time from `start()` to the first check. Default: one interval (short-lived processes never check). */
  firstRunDelayMs?: number;
}

/** What an anomaly row's `details` holds. */
export interface SpendAnomalyDetails {
  keyName: string | null;
  team: { id: string; name: string | null } | null;
  factor: number;
  /** Total of the baseline hours, and its average per hour (rounded to whole nano-dollars). */
  baselineNanoUsd: string;
  averageHourlyNanoUsd: number;
  baselineHours: number;
}

/**
 * Spend-rate anomaly alerts: every `intervalMs` the hourly rollup (`spend_hourly`, cheap: a bucket-prefixed primary
 * key) is read for the current UTC hour; a key whose spend so far is at least `minSpendNanoUsd` and more than `factor`
 * × its average hourly spend over the previous 168 hours gets one `budget_alerts` row of kind 'spend_anomaly' — the
 * table's unique key (anomaly id, hour, 0) makes that once per (key, hour) across processes, and the webhook
 * dispatcher delivers it like a budget alert. A key with no spend in the 7 days alerts once it passes the floor.
 */
export class SpendAnomalyDetector {
  readonly #o: SpendAnomalyOptions;
  readonly #factorMilli: bigint;
  /** `keyId` alerted in `#markedHour` (by this process or, seen at insert, another). */
  readonly #marked = new Set<string>();
  #markedHour = -1;
  readonly #job: PeriodicJob<number>;

  constructor(options: SpendAnomalyOptions) {
    if (!(options.factor > 1)) throw new Error(`spend anomaly factor must be above 1, got ${options.factor}`);
    this.#o = options;
    const intervalMs = options.intervalMs ?? 300_000;
    this.#job = new PeriodicJob(() => this.#check(), {
      intervalMs,
      firstRunDelayMs: options.firstRunDelayMs ?? intervalMs,
      onError: (err) => {
        this.#o.warn(`spend anomaly check: ${err instanceof Error ? err.message : String(err)}`);
        return 0;
      },
    });
    this.#factorMilli = BigInt(Math.round(options.factor * 1000));
  }

  start(): void {
    this.#job.start();
  }

  /** One check now (joins a running one). Resolves to the alerts this process recorded; never rejects. */
  runOnce(): Promise<number> {
    return this.#job.runOnce();
  }

  close(): Promise<void> {
    return this.#job.close();
  }

  async #check(): Promise<number> {
    const now = this.#o.clock.now();
    const hour = now - (now % HOUR_MS);
    if (hour !== this.#markedHour) {
      this.#marked.clear();
      this.#markedHour = hour;
    }
    const db = this.#o.db;
    // Rollup dimension columns hold '' for null and '=' + id otherwise (store/rollups.ts).
    const current = await sql<{ k: string; team: string; cost: string }>`select virtual_key_id as k,
        max(team_id) as team, cast(sum(cost_nano_usd) as text) as cost
      from spend_hourly
      where bucket = ${hour} and virtual_key_id <> ''
      group by virtual_key_id
      having sum(cost_nano_usd) > 0 and sum(cost_nano_usd) >= ${this.#o.minSpendNanoUsd}`.execute(db);
    const candidates = current.rows
      .map((r) => ({ keyId: String(r.k).slice(1), team: String(r.team), spend: BigInt(String(r.cost)) }))
      .filter((c) => !this.#marked.has(c.keyId));
    if (candidates.length === 0) return 0;

    const baseline = new Map<string, bigint>();
    for (let i = 0; i < candidates.length; i += KEY_CHUNK) {
      const keys = candidates.slice(i, i + KEY_CHUNK).map((c) => `=${c.keyId}`);
      const result = await sql<{ k: string; cost: string }>`select virtual_key_id as k,
          cast(sum(cost_nano_usd) as text) as cost
        from spend_hourly
        where bucket >= ${hour - BASELINE_HOURS * HOUR_MS} and bucket < ${hour} and virtual_key_id in (${sql.join(keys)})
        group by virtual_key_id`.execute(db);
      for (const r of result.rows) baseline.set(String(r.k).slice(1), BigInt(String(r.cost)));
    }

    const governance = this.#o.governance();
    const rows: AlertRow[] = [];
    for (const c of candidates) {
      const total = baseline.get(c.keyId) ?? 0n;
      // spend > factor × total / 168, exactly: spend · 168 · 1000 > factor·1000 · total.
      if (c.spend * BigInt(BASELINE_HOURS) * 1000n <= this.#factorMilli * total) continue;
      const key = governance.byId.get(c.keyId);
      const teamId = key?.team?.id ?? (c.team === "" ? null : c.team.slice(1));
      const details: SpendAnomalyDetails = {
        keyName: key?.name ?? null,
        team: teamId === null ? null : { id: teamId, name: key?.team?.id === teamId ? key.team.name : null },
        factor: this.#o.factor,
        baselineNanoUsd: total.toString(),
        averageHourlyNanoUsd: Number((total + BigInt(BASELINE_HOURS / 2)) / BigInt(BASELINE_HOURS)),
        baselineHours: BASELINE_HOURS,
      };
      rows.push({
        id: uuidv7(this.#o.clock),
        budget_id: anomalyId(c.keyId),
        budget_name: null,
        scope_type: "key",
        scope_id: c.keyId,
        scope_name: key?.name ?? null,
        period: "1h",
        window_start: hour,
        threshold_percent: 0,
        spend_nano_usd: Number(c.spend),
        limit_nano_usd: details.averageHourlyNanoUsd,
        created_at: now,
        delivered_at: null,
        kind: SPEND_ANOMALY_KIND,
        details: JSON.stringify(details),
      });
    }
    let recorded = 0;
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      const inserted = await alertKindsDb(db)
        .insertInto("budget_alerts")
        .values(chunk)
        .onConflict((oc) => oc.columns(["budget_id", "window_start", "threshold_percent"]).doNothing())
        .returning("id")
        .execute();
      recorded += inserted.length;
      for (const r of chunk) this.#marked.add(r.scope_id ?? "");
    }
    return recorded;
  }
}

/** What a `json` webhook receives for a spend anomaly. */
export interface SpendAnomalyPayload {
  type: "spend_anomaly";
  kind: "spend_anomaly";
  alertId: string;
  createdAt: string;
  entity: { type: "key"; id: string | null; name: string | null };
  key: { id: string | null; name: string | null };
  team: { id: string; name: string | null } | null;
  hourStart: string;
  spend: { usd: string; nanoUsd: number };
  baseline: { averageHourlyUsd: string; averageHourlyNanoUsd: number; hours: number; totalNanoUsd: string };
  factor: number;
  /** Current-hour spend ÷ the hourly average; null when the average is 0. */
  ratio: number | null;
  text: string;
}

export function spendAnomalyPayload(a: AlertRow): SpendAnomalyPayload {
  const d = JSON.parse(a.details ?? "{}") as Partial<SpendAnomalyDetails>;
  const spend = Number(a.spend_nano_usd);
  const average = Number(a.limit_nano_usd);
  const hourStart = new Date(Number(a.window_start)).toISOString();
  const who = a.scope_name ?? a.scope_id ?? "?";
  const ratio = average > 0 ? Math.round((spend / average) * 100) / 100 : null;
  const team = d.team ?? null;
  return {
    type: SPEND_ANOMALY_KIND,
    kind: SPEND_ANOMALY_KIND,
    alertId: a.id,
    createdAt: new Date(Number(a.created_at)).toISOString(),
    entity: { type: "key", id: a.scope_id, name: a.scope_name },
    key: { id: a.scope_id, name: a.scope_name },
    team,
    hourStart,
    spend: { usd: formatNanoUsd(spend), nanoUsd: spend },
    baseline: {
      averageHourlyUsd: formatNanoUsd(average),
      averageHourlyNanoUsd: average,
      hours: d.baselineHours ?? BASELINE_HOURS,
      totalNanoUsd: d.baselineNanoUsd ?? "0",
    },
    factor: d.factor ?? 0,
    ratio,
    text:
      `Key "${who}"${team ? ` (team ${team.name ?? team.id})` : ""} spent $${formatNanoUsd(spend)} in the hour from ${hourStart}` +
      (ratio === null
        ? `, with no spend in the previous 7 days.`
        : `: ${ratio}× its 7-day hourly average of $${formatNanoUsd(average)} (alert above ${d.factor ?? "?"}×).`),
  };
}
