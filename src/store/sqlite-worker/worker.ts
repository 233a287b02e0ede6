/**
 * Worker-thread entry: owns the better-sqlite3 connection so synchronous SQLite work never runs on the main
 * event loop. Requests are handled one at a time, in arrival order, which also serialises transactions.
 */
import { parentPort } from "node:worker_threads";
import BetterSqlite3 from "better-sqlite3";
import type {
  SqliteWorkerOptions,
  WorkerErrorInfo,
  WorkerQueryResult,
  WorkerRequest,
  WorkerResponse,
} from "./protocol.ts";

const STATEMENT_CACHE_SIZE = 256;

let database: BetterSqlite3.Database | null = null;
/** Prepared statements by SQL text, least recently used first (Map keeps insertion order). */
const statements = new Map<string, BetterSqlite3.Statement>();

function open(options: SqliteWorkerOptions): void {
  const db = new BetterSqlite3(options.filename, { timeout: options.busyTimeoutMs });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
  db.pragma("foreign_keys = ON");
  database = db;
}

function prepare(db: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
  const cached = statements.get(sql);
  if (cached !== undefined) {
    statements.delete(sql);
    statements.set(sql, cached);
    return cached;
  }
  const statement = db.prepare(sql);
  statements.set(sql, statement);
  if (statements.size > STATEMENT_CACHE_SIZE) {
    const oldest = statements.keys().next();
    if (!oldest.done) statements.delete(oldest.value);
  }
  return statement;
}

/** better-sqlite3 binds only numbers, strings, bigints, buffers and null; map the rest the way SQLite stores them. */
function bindable(value: unknown): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof Date) return value.getTime();
  if (value === undefined) return null;
  return value;
}

function query(sql: string, parameters: readonly unknown[]): WorkerQueryResult {
  if (database === null) throw new Error("SQLite database is not open");
  const statement = prepare(database, sql);
  const args = parameters.map(bindable);
  if (statement.reader) return { rows: statement.all(args) };
  const { changes, lastInsertRowid } = statement.run(args);
  return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
}

function describeError(error: unknown): WorkerErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string"
      ? { name: error.name, message: error.message, code }
      : { name: error.name, message: error.message };
  }
  return { name: "Error", message: String(error) };
}

function handle(request: WorkerRequest): WorkerResponse {
  try {
    switch (request.type) {
      case "open":
        open(request.options);
        return { id: request.id, ok: true, result: { rows: [] } };
      case "query":
        return { id: request.id, ok: true, result: query(request.sql, request.parameters) };
      case "close":
        statements.clear();
        database?.close();
        database = null;
        return { id: request.id, ok: true, result: { rows: [] } };
      default: {
        const unreachable: never = request;
        throw new Error(`unknown request ${JSON.stringify(unreachable)}`);
      }
    }
  } catch (error) {
    return { id: request.id, ok: false, error: describeError(error) };
  }
}

const port = parentPort;
if (port === null) throw new Error("sqlite-worker/worker.ts must run in a worker thread");
port.on("message", (request: WorkerRequest) => {
  const response = handle(request);
  port.postMessage(response);
  if (request.type === "close") port.close();
});
