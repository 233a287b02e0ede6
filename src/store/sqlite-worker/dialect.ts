import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import type {
  SqliteWorkerOptions,
  WorkerErrorInfo,
  WorkerQueryResult,
  WorkerRequest,
  WorkerRequestBody,
  WorkerResponse,
} from "./protocol.ts";

/** An error raised by SQLite inside the worker, re-created on the main thread with its SQLite code. */
export class SqliteWorkerError extends Error {
  readonly code: string | undefined;
  constructor(info: WorkerErrorInfo) {
    super(info.message);
    this.name = info.name === "SqliteError" ? "SqliteError" : "SqliteWorkerError";
    this.code = info.code;
  }
}

/**
 * The worker file sits beside this module with the same extension: `.ts` when tests run the sources under
 * type stripping, `.js` once compiled to dist/.
 */
function workerUrl(): URL {
  const extension = extname(fileURLToPath(import.meta.url));
  return new URL(`./worker${extension}`, import.meta.url);
}

interface Pending {
  resolve(result: WorkerQueryResult): void;
  reject(error: Error): void;
}

/** Owns the worker thread and matches responses to requests. */
class WorkerClient {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: Error | null = null;

  constructor() {
    this.#worker = new Worker(workerUrl());
    // Idle, the worker must not keep the process alive; while a request is pending it must.
    this.#worker.unref();
    this.#worker.on("message", (response: WorkerResponse) => this.#settle(response));
    this.#worker.on("error", (error: unknown) =>
      this.#fail(error instanceof Error ? error : new Error(`SQLite worker failed: ${String(error)}`)),
    );
    this.#worker.on("exit", (code) => this.#fail(new Error(`SQLite worker exited (code ${code})`)));
  }

  request(message: WorkerRequestBody): Promise<WorkerQueryResult> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise<WorkerQueryResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#worker.ref();
      const request: WorkerRequest = { ...message, id };
      this.#worker.postMessage(request);
    });
  }

  #settle(response: WorkerResponse): void {
    const pending = this.#pending.get(response.id);
    if (pending === undefined) return;
    this.#pending.delete(response.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (response.ok) pending.resolve(response.result);
    else pending.reject(new SqliteWorkerError(response.error));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}

class WorkerConnection implements DatabaseConnection {
  readonly #client: WorkerClient;
  constructor(client: WorkerClient) {
    this.#client = client;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#client.request({
      type: "query",
      sql: compiledQuery.sql,
      parameters: compiledQuery.parameters,
    });
    return {
      rows: result.rows as R[],
      ...(result.numAffectedRows === undefined ? {} : { numAffectedRows: result.numAffectedRows }),
      ...(result.insertId === undefined ? {} : { insertId: result.insertId }),
    };
  }

  /** Rows cross the thread boundary in one message, so "streaming" yields an already complete result in chunks. */
  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.executeQuery<R>(compiledQuery);
    const size = Math.max(1, chunkSize);
    for (let i = 0; i < rows.length; i += size) yield { rows: rows.slice(i, i + size) };
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * One connection on one worker thread. Kysely serialises access to it (SqliteAdapter declares no multiple
 * connections), so a transaction's begin, queries and commit run back to back on the worker.
 */
class WorkerSqliteDriver implements Driver {
  readonly #options: SqliteWorkerOptions;
  #client: WorkerClient | null = null;
  #connection: WorkerConnection | null = null;

  constructor(options: SqliteWorkerOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    const client = new WorkerClient();
    try {
      await client.request({ type: "open", options: this.#options });
    } catch (error) {
      await client.terminate();
      throw error;
    }
    this.#client = client;
    this.#connection = new WorkerConnection(client);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#connection === null) throw new Error("SQLite driver is not initialised or already destroyed");
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release ${quoteIdentifier(name)}`));
  }

  async releaseConnection(): Promise<void> {
    // Single shared connection: nothing to give back.
  }

  async destroy(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#connection = null;
    if (client === null) return;
    try {
      await client.request({ type: "close" });
    } finally {
      await client.terminate();
    }
  }
}

/** Kysely dialect for SQLite whose statements run on a worker thread (better-sqlite3, WAL, synchronous=NORMAL). */
export class WorkerSqliteDialect implements Dialect {
  readonly #options: SqliteWorkerOptions;
  constructor(options: SqliteWorkerOptions) {
    this.#options = options;
  }
  createDriver(): Driver {
    return new WorkerSqliteDriver(this.#options);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
