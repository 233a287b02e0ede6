import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Clock, systemClock } from "../clock.ts";
import type { RequestLogRecord } from "./log-record.ts";
import { insertLogs } from "./logs-repo.ts";
import type { Db } from "./schema.ts";
import { type ReplayResult, replaySpillFiles, SpillWriter, spillFileName } from "./spill.ts";

/** Timer functions, injectable so tests drive flushes and retry backoff without sleeping. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export type LogWriterErrorContext = "batch" | "spill" | "spill-after-close";

export interface LogWriterOptions {
  db: Db;
  /** Where overflow rows go when the database cannot keep up (usually the data dir). */
  spillDir: string;
  clock?: Clock;
  timers?: Timers;
  /** Rows per transaction. */
  maxBatch?: number;
  /** How long a partial batch waits for company before it is written, ms. */
  flushIntervalMs?: number;
  /** Rows held in memory (including the batch in flight) before new rows spill to disk. */
  maxQueued?: number;
  /** First retry delay after a failed batch; doubles per failure up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Told about failed batches and spill trouble. Default: console.error. */
  onError?: (error: unknown, context: LogWriterErrorContext) => void;
}

export interface LogWriterCounters {
  /** Rows committed to the database by this writer. */
  written: number;
  /** Rows in memory waiting for the database (including a batch in flight). */
  queued: number;
  /** Rows appended to spill files (replayed on the next start). */
  spilled: number;
  /** Batches that failed (each is retried). */
  failedBatches: number;
}

type DrainOutcome = { ok: true } | { ok: false; error: unknown };

const defaultOnError = (error: unknown, context: LogWriterErrorContext): void => {
  console.error(`tollgate: request-log writer (${context}):`, error);
};

/**
 * Batches request-log rows into multi-row INSERTs off the request path. `write()` only appends to an in-memory
 * queue; a timer (or a full batch) starts a drain. A failed batch stays queued and is retried with exponential
 * backoff. When the queue is full (database down or slow) new rows go to an append-only spill file instead —
 * never dropped — and `replaySpill()` puts them in the database on the next start. `close()` writes what it can
 * and spills the rest.
 *
 * Records are kept by reference until written: callers must not mutate a record after `write()`.
 */
export class LogWriter {
  readonly #db: Db;
  readonly #spillDir: string;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #maxBatch: number;
  readonly #flushIntervalMs: number;
  readonly #maxQueued: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #onError: (error: unknown, context: LogWriterErrorContext) => void;

  /** Queue as array + head index: O(1) push, batches taken from the front without shifting every write. */
  #queue: RequestLogRecord[] = [];
  #head = 0;
  /** Rows ever queued / ever taken off the queue (written or spilled); flush() waits on these. */
  #enqueuedTotal = 0;
  #removedTotal = 0;

  #written = 0;
  #spilled = 0;
  #failedBatches = 0;

  #drain: Promise<DrainOutcome> | null = null;
  #flushTimer: unknown = null;
  #flushTimerImmediate = false;
  #retryTimer: unknown = null;
  #retryDelayMs: number;
  #drainWaiters: (() => void)[] = [];

  #spill: SpillWriter | null = null;
  #closing: Promise<void> | null = null;
  #closed = false;

  constructor(options: LogWriterOptions) {
    this.#db = options.db;
    this.#spillDir = options.spillDir;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.#flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 50);
    this.#maxQueued = Math.max(this.#maxBatch, options.maxQueued ?? 100_000);
    this.#retryBaseMs = Math.max(1, options.retryBaseMs ?? 100);
    this.#retryMaxMs = Math.max(this.#retryBaseMs, options.retryMaxMs ?? 30_000);
    this.#retryDelayMs = this.#retryBaseMs;
    this.#onError = options.onError ?? defaultOnError;
  }

  get counters(): LogWriterCounters {
    return {
      written: this.#written,
      queued: this.#size(),
      spilled: this.#spilled,
      failedBatches: this.#failedBatches,
    };
  }

  /** Delay before the next retry if the next batch fails, ms. */
  get retryDelayMs(): number {
    return this.#retryDelayMs;
  }

  /** Queues one row. O(1), synchronous, never throws, never waits on the database. */
  write(record: RequestLogRecord): void {
    let queued = false;
    try {
      if (this.#closed) {
        this.#spillAfterClose(record);
        return;
      }
      if (this.#size() >= this.#maxQueued && this.#spillUsable()) {
        this.#spillRecord(record);
        return;
      }
      this.#enqueue(record);
      queued = true;
      this.#schedule();
    } catch (error) {
      // Last resort: memory beats losing the row.
      if (!queued) this.#enqueue(record);
      this.#onError(error, "spill");
    }
  }

  /**
   * Writes every row queued before this call, now. Rejects when a batch fails (the rows stay queued and a
   * retry is scheduled).
   */
  async flush(): Promise<void> {
    const target = this.#enqueuedTotal;
    this.#cancelTimers();
    while (this.#removedTotal < target) {
      const outcome = await this.#startDrain();
      if (!outcome.ok) throw outcome.error;
    }
  }

  /** Resolves once the memory queue is empty, waiting through retries; never rejects. */
  whenDrained(): Promise<void> {
    if (this.#size() === 0 && this.#drain === null) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Writes everything still queued; if the database fails now, spills the rest to disk instead of waiting.
   * Then closes the spill file. Idempotent. Rows written after close go straight to a spill file.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Replays spill files left by earlier runs into the database (call once after opening the database). */
  replaySpill(): Promise<ReplayResult> {
    const skip = new Set<string>();
    if (this.#spill !== null) skip.add(this.#spill.path);
    return replaySpillFiles(this.#db, this.#spillDir, { batchSize: this.#maxBatch, skip });
  }

  async #close(): Promise<void> {
    this.#cancelTimers();
    while (this.#size() > 0 || this.#drain !== null) {
      const outcome = await this.#startDrain();
      if (!outcome.ok) {
        this.#spillQueue();
        break;
      }
    }
    this.#closed = true;
    this.#resolveDrainWaiters();
    await this.#spill?.close();
  }

  #size(): number {
    return this.#queue.length - this.#head;
  }

  #enqueue(record: RequestLogRecord): void {
    this.#queue.push(record);
    this.#enqueuedTotal += 1;
  }

  /** Drops `count` rows from the front once they are safely elsewhere. */
  #dequeue(count: number): void {
    this.#head += count;
    this.#removedTotal += count;
    if (this.#head >= this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #schedule(): void {
    if (this.#drain !== null || this.#retryTimer !== null || this.#closing !== null) return;
    const full = this.#size() >= this.#maxBatch;
    if (this.#flushTimer !== null) {
      if (!full || this.#flushTimerImmediate) return;
      this.#timers.clearTimeout(this.#flushTimer);
    }
    this.#flushTimerImmediate = full;
    this.#flushTimer = this.#timers.setTimeout(
      () => {
        this.#flushTimer = null;
        void this.#startDrain();
      },
      full ? 0 : this.#flushIntervalMs,
    );
  }

  #cancelTimers(): void {
    if (this.#flushTimer !== null) this.#timers.clearTimeout(this.#flushTimer);
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#flushTimer = null;
    this.#retryTimer = null;
  }

  /** One drain loop at a time; callers share it. */
  #startDrain(): Promise<DrainOutcome> {
    if (this.#drain !== null) return this.#drain;
    const drain = this.#drainQueue().then((outcome) => {
      this.#drain = null;
      if (!outcome.ok) {
        if (this.#closing === null) this.#scheduleRetry();
      } else if (this.#size() > 0) {
        // Rows queued after the loop's last look (from a microtask) still get a timer.
        this.#schedule();
      } else {
        this.#resolveDrainWaiters();
      }
      return outcome;
    });
    this.#drain = drain;
    return drain;
  }

  async #drainQueue(): Promise<DrainOutcome> {
    if (this.#flushTimer !== null) {
      this.#timers.clearTimeout(this.#flushTimer);
      this.#flushTimer = null;
    }
    while (this.#size() > 0) {
      const batch = this.#queue.slice(this.#head, this.#head + this.#maxBatch);
      try {
        await insertLogs(this.#db, batch);
      } catch (error) {
        this.#failedBatches += 1;
        this.#onError(error, "batch");
        return { ok: false, error };
      }
      this.#dequeue(batch.length);
      this.#written += batch.length;
      this.#retryDelayMs = this.#retryBaseMs;
      // Only a full batch goes at once; a partial one waits for the flush timer. Draining whatever trickled in
      // during the last insert made a stream of tiny transactions under load (~5x the main-thread cost per row).
      // flush() and close() call again until they are done.
      if (this.#size() < this.#maxBatch) break;
    }
    return { ok: true };
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== null) return;
    const delay = this.#retryDelayMs;
    this.#retryDelayMs = Math.min(this.#retryMaxMs, delay * 2);
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      void this.#startDrain();
    }, delay);
  }

  #resolveDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** False once the spill file has failed: rows then stay in memory past maxQueued rather than be lost. */
  #spillUsable(): boolean {
    return this.#spill === null || this.#spill.broken === null;
  }

  #spillWriter(): SpillWriter {
    if (this.#spill === null) {
      // One-time directory creation on the first overflow; every later spill write is asynchronous.
      mkdirSync(this.#spillDir, { recursive: true });
      this.#spill = new SpillWriter(this.#spillDir, spillFileName(this.#clock.now()));
    }
    return this.#spill;
  }

  #spillRecord(record: RequestLogRecord): void {
    const writer = this.#spillWriter();
    this.#spilled += 1;
    writer.write(record, (failed, error) => {
      this.#spilled -= 1;
      this.#onError(error, "spill");
      if (this.#closed) this.#spillAfterClose(failed);
      else {
        this.#enqueue(failed);
        this.#schedule();
      }
    });
  }

  /** On close with a failing database: everything still queued goes to the spill file. */
  #spillQueue(): void {
    const rows = this.#queue.slice(this.#head);
    this.#dequeue(rows.length);
    for (const record of rows) this.#spillRecord(record);
  }

  /**
   * After close() there is no stream to append to; a row that still arrives is appended synchronously. This
   * only happens when the app writes during shutdown, so the blocking append is acceptable there.
   */
  #spillAfterClose(record: RequestLogRecord): void {
    try {
      mkdirSync(this.#spillDir, { recursive: true });
      const path = this.#spill?.path ?? join(this.#spillDir, spillFileName(this.#clock.now()));
      appendFileSync(path, `${JSON.stringify(record)}\n`, "utf8");
      this.#spilled += 1;
    } catch (error) {
      this.#onError(
        new Error(`request log ${record.id} could not be saved after close`, { cause: error }),
        "spill-after-close",
      );
    }
  }
}
