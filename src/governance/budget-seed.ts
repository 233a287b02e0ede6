import type { Clock } from "../clock.ts";
import type { CounterStore } from "../counters/counter-store.ts";
import type { Db } from "../store/schema.ts";
import { sumAsText } from "../store/sql-helpers.ts";
import type { BudgetGate } from "./budget-gate.ts";
import type { BudgetSnapshot, GovernanceSnapshot } from "./entities/index.ts";

/** Which request_logs column ties a row to a budget's owner. */
const SCOPE_COLUMN = {
  key: "virtual_key_id",
  "key-provider": "virtual_key_id",
  developer: "developer_id",
  team: "team_id",
  customer: "customer_id",
} as const;

/**
 * Rebuilds budget counters from the request log for the current window of every budget not seeded yet in this
 * process: at startup (so a restart never forgets spend) and when budgets appear or change their period terms. A
 * window that began after this process started counting its budget is left as counted. Runs off the request path;
 * one aggregate query per budget; one seed at a time.
 *
 * Shared counters (Redis) are the truth while they exist: the log lags them (batched writes, other processes' rows
 * not flushed yet), so only missing counters are set from it (onlyIfAbsent). When the store reads as never seeded
 * (first start, or Redis lost its data), every current window is rebuilt from the log and the store marked.
 */
export class BudgetSeeder {
  readonly #db: Db;
  readonly #counters: CounterStore;
  readonly #gate: BudgetGate;
  readonly #clock: Clock;
  readonly #seeded = new Set<string>();
  /** Per budget: when this process began counting it under its current period terms (and which terms). */
  readonly #counting = new Map<string, { since: number; terms: string }>();
  #queue: Promise<void> = Promise.resolve();

  constructor(db: Db, counters: CounterStore, gate: BudgetGate, clock: Clock) {
    this.#db = db;
    this.#counters = counters;
    this.#gate = gate;
    this.#clock = clock;
  }

  /** Seeds `snapshot`'s budgets; calls run one after another (a rebuild must not interleave with another seed). */
  seed(snapshot: GovernanceSnapshot): Promise<void> {
    const run = this.#queue.then(() => this.#seed(snapshot));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #seed(snapshot: GovernanceSnapshot): Promise<void> {
    const shared = this.#counters.shared;
    const rebuild = shared && !(await this.#counters.isSeeded());
    const now = this.#clock.now();
    for (const budget of snapshot.budgetsById.values()) {
      const window = this.#gate.counterKey(budget, now);
      const terms = `${budget.period}|${budget.mode}|${budget.timeZone}|${budget.anchorAt ?? budget.createdAt}`;
      let counting = this.#counting.get(budget.id);
      let fresh = false;
      if (counting === undefined || counting.terms !== terms) {
        counting = { since: now, terms };
        this.#counting.set(budget.id, counting);
        fresh = true;
      }
      if (!rebuild) {
        if (this.#seeded.has(window.key)) continue;
        if (!fresh && window.start > counting.since) {
          // A window that began while this process counted the budget: its counter holds every settlement, while
          // the log lags (batched writes); rebuilding it from the log would drop the newest spend.
          this.#seeded.add(window.key);
          continue;
        }
      }
      const spent = await this.#spent(budget, window.start, window.end);
      await this.#counters.seed([{ key: window.key, committed: spent, expireAtMs: window.end ?? undefined }], {
        onlyIfAbsent: shared && !rebuild,
      });
      this.#seeded.add(window.key);
    }
    // Marked only once every window is rebuilt: a process that dies halfway leaves the rebuild to the next one.
    if (rebuild) await this.#counters.seed([], { markSeeded: true });
  }

  async #spent(budget: BudgetSnapshot, from: number, to: number | null): Promise<number> {
    let query = this.#db
      .selectFrom("request_logs")
      .select(sumAsText("cost_nano_usd").as("spent"))
      .where("started_at", ">=", from);
    if (to !== null) query = query.where("started_at", "<", to);
    if (budget.scopeType in SCOPE_COLUMN) {
      const column = SCOPE_COLUMN[budget.scopeType as keyof typeof SCOPE_COLUMN];
      query = query.where(column, "=", budget.scopeId ?? "");
    }
    if (budget.provider !== null) query = query.where("provider", "=", budget.provider);
    if (budget.scopeType === "model" && budget.model !== null) {
      query = query.where((eb) =>
        eb.or([eb("served_model", "=", budget.model ?? ""), eb("requested_model", "=", budget.model ?? "")]),
      );
    }
    const row = await query.executeTakeFirst();
    return Number(row?.spent ?? 0);
  }
}
