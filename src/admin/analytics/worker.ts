/**
 * Analytics worker-thread entry: runs spend queries on its own connection, merges and renders the answer, so none
 * of it runs on the request path's event loop. Imports store/ and admin/ modules that carry no Fastify or runtime.
 */
import { parentPort, workerData } from "node:worker_threads";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { createPostgresDialect, createPostgresPool } from "../../store/postgres.ts";
import type { Db, TollgateTables } from "../../store/schema.ts";
import { sessionListJson } from "../sessions-render.ts";
import type { AnalyticsConnection, DiscountValues, FromWorker, ToWorker } from "./protocol.ts";
import { computeSpend } from "./spend-compute.ts";

const port = parentPort;
if (port === null) throw new Error("admin/analytics/worker.ts must run in a worker thread");
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/**
 * SQLite: a read-only better-sqlite3 connection to the gateway's file. The main connection runs in WAL mode, so
 * this reader never blocks the log writer nor waits for it. PostgreSQL: a small pool with the same search_path.
 */
function open(connection: AnalyticsConnection): Db {
  if (connection.kind === "sqlite") {
    const database = new BetterSqlite3(connection.filename, {
      readonly: true,
      fileMustExist: true,
      timeout: connection.busyTimeoutMs,
    });
    return new Kysely<TollgateTables>({ dialect: new SqliteDialect({ database }) });
  }
  const pool = createPostgresPool({
    url: connection.url,
    max: connection.poolSize,
    ...(connection.schema === undefined ? {} : { schema: connection.schema }),
  });
  return new Kysely<TollgateTables>({ dialect: createPostgresDialect(pool) });
}

const connection = workerData as AnalyticsConnection;
let db: Db;
try {
  db = open(connection);
  post({ type: "ready" });
} catch (error) {
  post({ type: "startFailed", message: error instanceof Error ? error.message : String(error) });
  port.close();
  throw error;
}

const discountWaits = new Map<number, (values: DiscountValues) => void>();

/** Runs one job and posts its answer's bytes, or its error (name kept: InvalidCursorError is a 400). */
async function answer(id: number, job: () => Promise<string>): Promise<void> {
  try {
    const text = await job();
    // Its own ArrayBuffer (TextEncoder never pools), moved to the main thread rather than copied.
    const body = new TextEncoder().encode(text);
    post({ type: "done", id, body }, [body.buffer as ArrayBuffer]);
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    post({
      type: "failed",
      id,
      name: err.name,
      message: err.message,
      ...(err.stack === undefined ? {} : { stack: err.stack }),
    });
  } finally {
    discountWaits.delete(id);
  }
}

port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "spend": {
      const { id, request } = message;
      void answer(id, () =>
        computeSpend(db, connection.kind, request, (pairs) => {
          const values = new Promise<DiscountValues>((resolve) => discountWaits.set(id, resolve));
          post({ type: "discounts", id, pairs });
          return values;
        }),
      );
      return;
    }
    case "sessions":
      void answer(message.id, () => sessionListJson(db, message.filter));
      return;
    case "discounts":
      discountWaits.get(message.id)?.(message.values);
      return;
    case "close":
      void db
        .destroy()
        .catch(() => {})
        .then(() => {
          post({ type: "closed" });
          port.close();
        });
      return;
  }
});
