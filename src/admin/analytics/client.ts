import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { InvalidCursorError } from "../../store/cursor.ts";
import type { Database } from "../../store/database.ts";
import type { SessionListFilter } from "../../store/sessions-repo.ts";
import type { CacheDiscount } from "../../store/spend-repo.ts";
import { sessionListJson } from "../sessions-render.ts";
import type { AnalyticsConnection, DiscountPairs, FromWorker, SpendRequest, ToWorker } from "./protocol.ts";
import { computeSpend } from "./spend-compute.ts";

/** The worker file sits beside this module with the same extension (`.ts` under type stripping, `.js` in dist/). */
function workerUrl(): URL {
  return new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}

interface Pending {
  /** Spend jobs price cache savings on this thread. */
  discount: CacheDiscount | null;
  resolve(body: Buffer): void;
  reject(error: Error): void;
}

/** An error thrown inside the worker, re-created here (the admin API answers it as its usual 500). */
class AnalyticsWorkerError extends Error {
  constructor(message: string, stack: string | undefined) {
    super(message);
    this.name = "AnalyticsWorkerError";
    if (stack !== undefined) this.stack = stack;
  }
}

function discountValues(discount: CacheDiscount, pairs: DiscountPairs): (number | null)[] {
  return pairs.map(([provider, model]) => discount(provider, model));
}

/**
 * Spend analytics off the request path: queries, BigInt merging and rendering run on a dedicated worker thread with
 * its own database connection; this thread posts the validated query and gets the answer's bytes back. The worker
 * starts on first use; when it cannot start, answers are computed in-process (the old path) and a warning is given.
 */
export class AnalyticsClient {
  readonly #connection: AnalyticsConnection;
  readonly #database: Database;
  readonly #warn: (message: string) => void;
  #worker: Worker | null = null;
  #ready: Promise<boolean> | null = null;
  #fallback = false;
  #closed = false;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(options: { connection: AnalyticsConnection; database: Database; warn: (message: string) => void }) {
    this.#connection = options.connection;
    this.#database = options.database;
    this.#warn = options.warn;
  }

  /** The worker thread's id while one runs (null before first use, after close, or on the in-process fallback). */
  get workerThreadId(): number | null {
    return this.#worker?.threadId ?? null;
  }

  /** The answer's body (UTF-8 JSON or CSV). `discount` prices cache savings; it is called on this thread. */
  async spend(request: SpendRequest, discount: CacheDiscount): Promise<Buffer> {
    const worker = await this.#available();
    if (worker !== null) return this.#post(worker, discount, (id) => ({ type: "spend", id, request }));
    const text = await computeSpend(this.#database.db, this.#database.kind, request, async (pairs) =>
      discountValues(discount, pairs),
    );
    return Buffer.from(text);
  }

  /** One `GET /api/sessions` page as JSON bytes; rejects with InvalidCursorError for a malformed cursor. */
  async sessions(filter: SessionListFilter): Promise<Buffer> {
    const worker = await this.#available();
    if (worker !== null) return this.#post(worker, null, (id) => ({ type: "sessions", id, filter }));
    return Buffer.from(await sessionListJson(this.#database.db, filter));
  }

  /** The running worker, or null for the in-process fallback. */
  async #available(): Promise<Worker | null> {
    if (this.#closed) throw new Error("analytics client is closed");
    if (this.#fallback || !(await this.#start())) return null;
    return this.#worker;
  }

  #post(worker: Worker, discount: CacheDiscount | null, message: (id: number) => ToWorker): Promise<Buffer> {
    const id = this.#nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { discount, resolve, reject });
      // Idle, the worker must not keep the process alive; while a request is pending it must.
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage(message(id));
    });
  }

  /** Starts the worker once; resolves false when it could not open its connection (then: in-process fallback). */
  #start(): Promise<boolean> {
    if (this.#ready !== null) return this.#ready;
    this.#ready = new Promise<boolean>((resolve) => {
      let worker: Worker;
      try {
        worker = new Worker(workerUrl(), { workerData: this.#connection });
      } catch (error) {
        this.#giveUp(`analytics worker could not start (${String(error)}); spend queries run in-process`);
        resolve(false);
        return;
      }
      this.#worker = worker;
      worker.unref();
      let started = false;
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          started = true;
          resolve(true);
        } else if (message.type === "startFailed") {
          if (this.#worker === worker) this.#worker = null;
          void worker.terminate();
          this.#giveUp(
            `analytics worker could not open the database (${message.message}); spend queries run in-process`,
          );
          resolve(false);
        } else this.#onMessage(worker, message);
      });
      const failed = (error: Error) => {
        if (this.#worker === worker) {
          this.#worker = null;
          // A worker that ran and died is replaced on the next query; one that never started is not retried.
          if (started) this.#ready = null;
        }
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
        if (!started) {
          this.#giveUp(`analytics worker failed to start (${error.message}); spend queries run in-process`);
          resolve(false);
        }
      };
      worker.on("error", (error: unknown) =>
        failed(error instanceof Error ? error : new Error(`analytics worker failed: ${String(error)}`)),
      );
      worker.on("exit", (code) => failed(new Error(`analytics worker exited (code ${code})`)));
    });
    return this.#ready;
  }

  #giveUp(message: string): void {
    if (this.#fallback || this.#closed) return;
    this.#fallback = true;
    this.#warn(message);
  }

  #onMessage(worker: Worker, message: FromWorker): void {
    if (message.type === "closed" || message.type === "ready" || message.type === "startFailed") return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    if (message.type === "discounts") {
      const discount = pending.discount;
      const reply: ToWorker = {
        type: "discounts",
        id: message.id,
        values: discount === null ? message.pairs.map(() => null) : discountValues(discount, message.pairs),
      };
      worker.postMessage(reply);
      return;
    }
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) worker.unref();
    if (message.type === "done") {
      pending.resolve(Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength));
    } else if (message.name === "InvalidCursorError") pending.reject(new InvalidCursorError());
    else pending.reject(new AnalyticsWorkerError(message.message, message.stack));
  }

  /** Closes the worker's connection and stops the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    if (worker === null) return;
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      timer.unref();
      worker.on("message", (message: FromWorker) => {
        if (message.type === "closed") {
          clearTimeout(timer);
          resolve();
        }
      });
      worker.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    worker.ref();
    worker.postMessage({ type: "close" } satisfies ToWorker);
    await closed;
    await worker.terminate();
  }
}
