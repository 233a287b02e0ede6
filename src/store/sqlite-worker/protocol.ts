/** Messages between the SQLite driver (main thread) and the worker thread that owns the database. */

export interface SqliteWorkerOptions {
  /** Database file path. */
  filename: string;
  /** How long a statement waits for a lock held by another connection before failing, ms. */
  busyTimeoutMs: number;
}

export type WorkerRequestBody =
  | { type: "open"; options: SqliteWorkerOptions }
  | { type: "query"; sql: string; parameters: readonly unknown[] }
  | { type: "close" };

/** Each request carries an id; the worker answers with the same id. */
export type WorkerRequest = WorkerRequestBody & { id: number };

export interface WorkerQueryResult {
  rows: unknown[];
  numAffectedRows?: bigint;
  insertId?: bigint;
}

export interface WorkerErrorInfo {
  name: string;
  message: string;
  /** better-sqlite3's SQLite result code, e.g. SQLITE_CONSTRAINT_PRIMARYKEY. */
  code?: string;
}

export type WorkerResponse =
  | { id: number; ok: true; result: WorkerQueryResult }
  | { id: number; ok: false; error: WorkerErrorInfo };
