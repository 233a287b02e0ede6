import type { Clock } from "../clock.ts";
import { PeriodicJob } from "../periodic-job.ts";
import type { Db } from "./schema.ts";

export const DAY_MS = 86_400_000;
export const DEFAULT_LOG_RETENTION_DAYS = 90;

export interface LogRetentionOptions {
  db: Db;
  clock: Clock;
  warn: (message: string) => void;
  /** Raw request-log rows older than this many days are deleted; 0 keeps them forever. */
  logsDays: number;
  /** Real time between passes. Default 1 h. */
  intervalMs?: number;
  /** Real time from `start()` to the first pass. Default 60 s (not during startup work). */
  firstRunDelayMs?: number;
  /** Rows per delete batch (one short transaction each, so the log writer is never held up long). Default 1000. */
  batchSize?: number;
  /**
   * The oldest instant (epoch ms) whose rows must stay whatever the age: budget counters are rebuilt from the raw
   * log over each budget's current window (governance/budget-seed.ts), so rows inside one are kept until it ends.
   */
  keepFrom?: () => number;
}

export interface RetentionPass {
  /** Rows older than this (epoch ms) were deleted. */
  cutoff: number;
  deleted: number;
}

/**
 * Raw-log retention: deletes `request_logs` rows (and their `request_log_labels`) older than the cutoff, in small
 * batches, off the request path. Rollups (`spend_hourly`, `spend_daily`, `session_hourly`) are never touched, so
 * spend totals and the sessions list of old periods stay as they were. Safe with several processes: two passes
 * deleting the same ids only repeat a no-op.
 */
export class LogRetention {
  readonly #o: LogRetentionOptions;
  readonly #batchSize: number;
  readonly #job: PeriodicJob<RetentionPass | null>;
  /** Set by close(): a running pass stops after its current batch. */
  #closed = false;

  constructor(options: LogRetentionOptions) {
    if (!Number.isInteger(options.logsDays) || options.logsDays < 0) {
      throw new Error(`retention.logsDays must be a whole number ≥ 0, got ${options.logsDays}`);
    }
    this.#o = options;
    this.#batchSize = options.batchSize ?? 1000;
    this.#job = new PeriodicJob(() => this.#pass(), {
      intervalMs: options.intervalMs ?? 3_600_000,
      firstRunDelayMs: options.firstRunDelayMs ?? 60_000,
      onError: (err) => {
        this.#o.warn(`log retention: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      },
    });
  }

  get enabled(): boolean {
    return this.#o.logsDays > 0;
  }

  /** Schedules the passes (unref'd timers: they never keep the process alive). */
  start(): void {
    if (this.enabled) this.#job.start();
  }

  /** One pass now (a running pass is joined, not doubled). Never rejects; null when retention is off or it failed. */
  runOnce(): Promise<RetentionPass | null> {
    return this.enabled ? this.#job.runOnce() : Promise.resolve(null);
  }

  /** Stops scheduling and waits for a running pass (it stops after its current batch). */
  close(): Promise<void> {
    this.#closed = true;
    return this.#job.close();
  }

  /** Rows older than this go: `logsDays` ago, or earlier when a budget window needs them. */
  cutoff(): number {
    const byAge = this.#o.clock.now() - this.#o.logsDays * DAY_MS;
    const keep = this.#o.keepFrom?.() ?? Number.POSITIVE_INFINITY;
    return Math.max(0, Math.min(byAge, keep));
  }

  async #pass(): Promise<RetentionPass> {
    const cutoff = this.cutoff();
    let deleted = 0;
    for (;;) {
      // Oldest first along the (started_at, id) index; ids are fetched first so both deletes name the same rows.
      const batch = await this.#o.db
        .selectFrom("request_logs")
        .select("id")
        .where("started_at", "<", cutoff)
        .orderBy("started_at")
        .orderBy("id")
        .limit(this.#batchSize)
        .execute();
      if (batch.length === 0) break;
      const ids = batch.map((r) => r.id);
      await this.#o.db.transaction().execute(async (trx) => {
        await trx.deleteFrom("request_log_labels").where("log_id", "in", ids).execute();
        await trx.deleteFrom("request_logs").where("id", "in", ids).execute();
      });
      deleted += ids.length;
      if (batch.length < this.#batchSize || this.#closed) break;
      // Let queued log-writer batches in between two deletes.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { cutoff, deleted };
  }
}
