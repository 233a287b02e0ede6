import { createHmac, randomUUID } from "node:crypto";
import { fetch as undiciFetch } from "undici";
import type { Clock } from "../clock.ts";
import type { BudgetAlertsTable } from "../governance/budget-alerts.ts";
import type { BudgetStanding } from "../governance/budget-gate.ts";
import type { BudgetSnapshot, GovernanceSnapshot } from "../governance/entities/index.ts";
import { formatNanoUsd } from "../metering/pricing/decimal.ts";
import type { Db } from "../store/schema.ts";
import { type BudgetForecast, forecastBudget } from "./forecast.ts";
import {
  type AlertRow,
  alertKindsDb,
  SPEND_ANOMALY_KIND,
  type SpendAnomalyPayload,
  spendAnomalyPayload,
} from "./spend-anomalies.ts";
import { type AlertWebhook, alertTablesDb, WebhookRepository } from "./webhooks.ts";

export interface AlertDispatcherTuning {
  /** Real time between background passes; 0: no background loop (call `tick`). Default 5 s. */
  pollMs?: number;
  /** Per POST. Default 10 s. */
  timeoutMs?: number;
  /** How long a claimed delivery is this process's; must exceed `timeoutMs`. Default 60 s. */
  leaseMs?: number;
  /** First retry delay (clock time), doubled per attempt up to `maxBackoffMs`. Defaults 1 s, 5 min. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Attempts before a delivery is given up (`failed_at`). Default 8. */
  maxAttempts?: number;
}

export interface AlertDispatcherOptions extends AlertDispatcherTuning {
  db: Db;
  clock: Clock;
  warn: (message: string) => void;
  governance: () => GovernanceSnapshot;
  standing: (budgets: readonly BudgetSnapshot[]) => Promise<BudgetStanding[]>;
  /** Runs before each pass (records alerts still queued in this process). */
  beforeTick?: () => Promise<void>;
  fetch?: typeof undiciFetch;
  /** Webhooks from the config file (alerts/config.ts), beside the database's. */
  configWebhooks?: readonly AlertWebhook[];
}

/** What a `json` webhook receives (Slack ones get `{ text, blocks }` built from it). */
export interface AlertPayload {
  type: "budget.threshold";
  alertId: string;
  createdAt: string;
  thresholdPercent: number;
  entity: { type: string; id: string | null; name: string | null };
  budget: {
    id: string;
    name: string | null;
    limitUsd: string;
    limitNanoUsd: number;
    period: string;
    windowStart: string;
  };
  spend: { usd: string; nanoUsd: number; percentOfLimit: number };
  forecast: ForecastView | null;
  text: string;
}

export interface ForecastView extends Omit<BudgetForecast, "projectedExhaustionAt"> {
  spendRateUsdPerHour: string;
  projectedExhaustionAt: string | null;
  windowEnd: string | null;
}

/** Every kind of alert the dispatcher sends. */
export type AnyAlertPayload = AlertPayload | SpendAnomalyPayload;

const FANOUT_BATCH = 500;

/**
 * Delivers budget alerts to webhooks, exactly once per (alert, webhook) across processes sharing the database:
 * 1. fan-out: each undelivered alert gets a delivery row per matching enabled webhook (primary key, insert-or-ignore);
 * 2. claim: one conditional UPDATE … RETURNING takes the due, unclaimed (or lease-expired) rows — on PostgreSQL a
 *    concurrent claimer re-checks the condition after the first commits, so a row goes to one process;
 * 3. POST (timeout), then delivered, or the next attempt after an exponential backoff, or given up after
 *    `maxAttempts`; a finished alert gets `budget_alerts.delivered_at`.
 * A process that dies between a POST and its mark leaves the lease to expire: that delivery is sent again
 * (at-least-once at a crash; receivers can de-duplicate on `x-tollgate-delivery`).
 */
export class AlertDispatcher {
  readonly #o: AlertDispatcherOptions;
  readonly #webhooks: WebhookRepository;
  readonly #pollMs: number;
  readonly #timeoutMs: number;
  readonly #leaseMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxAttempts: number;
  readonly #fetch: typeof undiciFetch;
  #chain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(options: AlertDispatcherOptions) {
    this.#o = options;
    this.#webhooks = new WebhookRepository(options.db, options.clock);
    this.#pollMs = options.pollMs ?? 5000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#leaseMs = Math.max(options.leaseMs ?? 60_000, this.#timeoutMs * 2);
    this.#backoffMs = options.backoffMs ?? 1000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 300_000;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#fetch = options.fetch ?? undiciFetch;
  }

  get webhooks(): WebhookRepository {
    return this.#webhooks;
  }

  start(): void {
    if (this.#pollMs <= 0 || this.#closed) return;
    const loop = () => {
      this.#timer = setTimeout(() => {
        void this.tick().finally(() => {
          if (!this.#closed) loop();
        });
      }, this.#pollMs);
      this.#timer.unref();
    };
    loop();
  }

  /** One full pass (fan-out, claim, deliver); passes of one process never overlap. Never rejects. */
  tick(): Promise<void> {
    this.#chain = this.#chain.then(() =>
      this.#pass().catch((err: unknown) => this.#o.warn(`alert delivery: ${errorText(err)}`)),
    );
    return this.#chain;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#chain;
  }

  async #pass(): Promise<void> {
    await this.#o.beforeTick?.();
    const db = alertTablesDb(this.#o.db);
    const alertsDb = alertKindsDb(this.#o.db);
    const hooks = await this.#hooks(true);
    // No webhook: alerts stay undelivered (GET /api/alerts shows them so); a webhook added later gets only newer ones.
    const pending =
      hooks.length === 0
        ? []
        : await alertsDb
            .selectFrom("budget_alerts")
            .selectAll()
            .where("delivered_at", "is", null)
            .orderBy("created_at")
            .limit(FANOUT_BATCH)
            .execute();
    if (pending.length === 0 && !(await this.#anyDue())) return;
    const now = this.#o.clock.now();
    const rows = [];
    for (const alert of pending) {
      const chain = this.#entityChain(alert);
      for (const hook of hooks) {
        if (Number(alert.created_at) < hook.createdAt) continue;
        if (hook.scopeType === "global" || chain.has(`${hook.scopeType}:${hook.scopeId}`)) {
          rows.push({
            alert_id: alert.id,
            webhook_id: hook.id,
            attempts: 0,
            next_attempt_at: now,
            claimed_until: null,
            claim_token: null,
            delivered_at: null,
            failed_at: null,
            last_error: null,
            created_at: now,
          });
        }
      }
    }
    for (let i = 0; i < rows.length; i += 200) {
      await db
        .insertInto("alert_deliveries")
        .values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.columns(["alert_id", "webhook_id"]).doNothing())
        .execute();
    }

    const token = randomUUID();
    const claimed = await db
      .updateTable("alert_deliveries")
      .set((eb) => ({
        claimed_until: now + this.#leaseMs,
        claim_token: token,
        attempts: eb("attempts", "+", 1),
      }))
      .where("delivered_at", "is", null)
      .where("failed_at", "is", null)
      .where("next_attempt_at", "<=", now)
      .where((eb) => eb.or([eb("claimed_until", "is", null), eb("claimed_until", "<", now)]))
      .returning(["alert_id", "webhook_id", "attempts"])
      .execute();
    if (claimed.length > 0) {
      const alertIds = [...new Set(claimed.map((c) => c.alert_id))];
      const alerts = new Map(
        (await alertsDb.selectFrom("budget_alerts").selectAll().where("id", "in", alertIds).execute()).map((a) => [
          a.id,
          a,
        ]),
      );
      const byId = new Map((await this.#hooks(false)).map((h) => [h.id, h]));
      const payloads = new Map<string, AnyAlertPayload>();
      for (const a of alerts.values()) payloads.set(a.id, await this.#payload(a));
      await Promise.all(
        claimed.map((c) =>
          this.#deliver(
            token,
            c.alert_id,
            c.webhook_id,
            Number(c.attempts),
            payloads.get(c.alert_id),
            byId.get(c.webhook_id),
          ),
        ),
      );
    }

    // Alerts seen at fan-out with nothing left to send are finished (no matching webhook counts as finished).
    const seen = pending.map((a) => a.id);
    for (let i = 0; i < seen.length; i += 200) {
      const ids = seen.slice(i, i + 200);
      const open = await db
        .selectFrom("alert_deliveries")
        .select("alert_id")
        .where("alert_id", "in", ids)
        .where("delivered_at", "is", null)
        .where("failed_at", "is", null)
        .execute();
      const busy = new Set(open.map((o) => o.alert_id));
      const done = ids.filter((id) => !busy.has(id));
      if (done.length > 0) {
        await alertsDb
          .updateTable("budget_alerts")
          .set({ delivered_at: this.#o.clock.now() })
          .where("id", "in", done)
          .where("delivered_at", "is", null)
          .execute();
      }
    }
  }

  async #hooks(enabledOnly: boolean): Promise<AlertWebhook[]> {
    const fromConfig = (this.#o.configWebhooks ?? []).filter((h) => !enabledOnly || h.enabled);
    return [...(await this.#webhooks.list({ enabledOnly })), ...fromConfig];
  }

  async #anyDue(): Promise<boolean> {
    const row = await alertTablesDb(this.#o.db)
      .selectFrom("alert_deliveries")
      .select("alert_id")
      .where("delivered_at", "is", null)
      .where("failed_at", "is", null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** `type:id` of the budget's entity and, for a key, of its developer, team and customer. */
  #entityChain(alert: BudgetAlertsTable): Set<string> {
    const chain = new Set<string>();
    if (alert.scope_id === null) return chain;
    const type = alert.scope_type === "key-provider" ? "key" : alert.scope_type;
    chain.add(`${type}:${alert.scope_id}`);
    if (type === "key") {
      const key = this.#o.governance().byId.get(alert.scope_id);
      if (key?.developer) chain.add(`developer:${key.developer.id}`);
      if (key?.team) chain.add(`team:${key.team.id}`);
      if (key?.customer) chain.add(`customer:${key.customer.id}`);
    }
    return chain;
  }

  async #payload(a: AlertRow): Promise<AnyAlertPayload> {
    if (a.kind === SPEND_ANOMALY_KIND) return spendAnomalyPayload(a);
    const spend = Number(a.spend_nano_usd);
    const limit = Number(a.limit_nano_usd);
    const windowStart = Number(a.window_start);
    const forecast = await this.forecastFor(a.budget_id, windowStart).catch(() => null);
    const who = a.scope_name ?? a.scope_id ?? a.scope_type;
    const budgetName = a.budget_name ?? a.budget_id;
    const eta =
      forecast === null
        ? ""
        : forecast.projectedExhaustionAt === null
          ? " Not projected to run out before the period ends."
          : forecast.exhausted
            ? " The budget is exhausted."
            : ` Projected to run out at ${forecast.projectedExhaustionAt}.`;
    return {
      type: "budget.threshold",
      alertId: a.id,
      createdAt: new Date(Number(a.created_at)).toISOString(),
      thresholdPercent: Number(a.threshold_percent),
      entity: { type: a.scope_type, id: a.scope_id, name: a.scope_name },
      budget: {
        id: a.budget_id,
        name: a.budget_name,
        limitUsd: formatNanoUsd(limit),
        limitNanoUsd: limit,
        period: a.period,
        windowStart: new Date(windowStart).toISOString(),
      },
      spend: {
        usd: formatNanoUsd(spend),
        nanoUsd: spend,
        percentOfLimit: limit > 0 ? Math.round((spend / limit) * 10_000) / 100 : 0,
      },
      forecast,
      text: `Budget "${budgetName}" of ${a.scope_type} ${who} reached ${a.threshold_percent} %: $${formatNanoUsd(spend)} of $${formatNanoUsd(limit)} (${a.period}).${eta}`,
    };
  }

  /** The budget's forecast now, if `windowStart` (when given) is still its current window. */
  async forecastFor(budgetId: string, windowStart?: number): Promise<ForecastView | null> {
    const budget = this.#o.governance().budgetsById.get(budgetId);
    if (!budget) return null;
    const [standing] = await this.#o.standing([budget]);
    if (!standing || (windowStart !== undefined && standing.windowStart !== windowStart)) return null;
    return forecastView(budget, standing, this.#o.clock.now());
  }

  async #deliver(
    token: string,
    alertId: string,
    webhookId: string,
    attempts: number,
    payload: AnyAlertPayload | undefined,
    hook: AlertWebhook | undefined,
  ): Promise<void> {
    const db = alertTablesDb(this.#o.db);
    const mine = db
      .updateTable("alert_deliveries")
      .where("alert_id", "=", alertId)
      .where("webhook_id", "=", webhookId)
      .where("claim_token", "=", token);
    if (payload === undefined || hook === undefined || !hook.enabled) {
      await mine
        .set({ failed_at: this.#o.clock.now(), last_error: "alert gone, or webhook gone or disabled" })
        .execute();
      return;
    }
    let error: string | null = null;
    try {
      const body = JSON.stringify(hook.format === "slack" ? slackBody(payload) : payload);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "tollgate-alerts",
        "x-tollgate-delivery": `${alertId}:${webhookId}`,
        "x-tollgate-event": payload.type,
      };
      if (hook.secret !== null) {
        headers["x-tollgate-signature"] = `sha256=${createHmac("sha256", hook.secret).update(body).digest("hex")}`;
      }
      const res = await this.#fetch(hook.url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = errorText(err);
    }
    const now = this.#o.clock.now();
    if (error === null) {
      await mine.set({ delivered_at: now, claimed_until: null, last_error: null }).execute();
    } else if (attempts >= this.#maxAttempts) {
      this.#o.warn(`alert delivery to webhook ${webhookId} given up after ${attempts} attempts: ${error}`);
      await mine.set({ failed_at: now, claimed_until: null, last_error: error }).execute();
    } else {
      const delay = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (attempts - 1));
      await mine.set({ next_attempt_at: now + delay, claimed_until: null, last_error: error }).execute();
    }
  }
}

export function forecastView(budget: BudgetSnapshot, standing: BudgetStanding, now: number): ForecastView {
  // `never` budgets have one window from 0: their rate is measured from the budget's anchor or creation.
  const start = standing.resetsAt === null ? (budget.anchorAt ?? budget.createdAt) : standing.windowStart;
  const f = forecastBudget({
    committedNanoUsd: standing.committedNanoUsd,
    limitNanoUsd: budget.limitNanoUsd,
    windowStart: start,
    windowEnd: standing.resetsAt,
    now,
  });
  return {
    ...f,
    spendRateUsdPerHour: formatNanoUsd(f.spendRateNanoUsdPerHour),
    projectedExhaustionAt: f.projectedExhaustionAt === null ? null : new Date(f.projectedExhaustionAt).toISOString(),
    windowEnd: standing.resetsAt === null ? null : new Date(standing.resetsAt).toISOString(),
  };
}

function slackBody(p: AnyAlertPayload): { text: string; blocks: unknown[] } {
  if (p.type === SPEND_ANOMALY_KIND) {
    return {
      text: p.text,
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `:chart_with_upwards_trend: ${p.text}` } },
        { type: "context", elements: [{ type: "mrkdwn", text: `key ${p.key.id} · hour from ${p.hourStart}` }] },
      ],
    };
  }
  return {
    text: p.text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `:warning: ${p.text}` } },
      {
        type: "context",
        elements: [{ type: "mrkdwn", text: `budget ${p.budget.id} · window from ${p.budget.windowStart}` }],
      },
    ],
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
