import type { Dialect } from "../dialects/dialect.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { RequestLogRecord } from "./log-record.ts";
import { fromLogRow, toLabelRows, toLogRow } from "./log-rows.ts";
import type { Db } from "./schema.ts";

/**
 * Bind parameters per statement. SQLite's limit is 32766 and PostgreSQL's 65535; staying under both keeps
 * one code path for the two backends.
 */
const MAX_PARAMETERS = 30_000;

/**
 * Inserts records in one transaction with multi-row INSERTs. Idempotent: a row whose id already exists is left
 * as it is, so a retried batch or a replayed spill file never duplicates or fails on rows already written.
 */
export async function insertLogs(db: Db, records: readonly RequestLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  const rows = records.map(toLogRow);
  const labels = records.flatMap(toLabelRows);
  const rowsPerChunk = Math.max(1, Math.floor(MAX_PARAMETERS / Object.keys(rows[0] ?? {}).length));
  const labelsPerChunk = Math.floor(MAX_PARAMETERS / 3);
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += rowsPerChunk) {
      await trx
        .insertInto("request_logs")
        .values(rows.slice(i, i + rowsPerChunk))
        .onConflict((oc) => oc.column("id").doNothing())
        .execute();
    }
    for (let i = 0; i < labels.length; i += labelsPerChunk) {
      await trx
        .insertInto("request_log_labels")
        .values(labels.slice(i, i + labelsPerChunk))
        .onConflict((oc) => oc.columns(["log_id", "name"]).doNothing())
        .execute();
    }
  });
}

export interface LogFilter {
  /** Inclusive lower bound on startedAt, epoch ms. */
  from?: number;
  /** Exclusive upper bound on startedAt, epoch ms. */
  to?: number;
  provider?: string;
  /** Matches the requested or the served model. */
  model?: string;
  sessionId?: string;
  agent?: string;
  dialect?: Dialect;
  /** An exact HTTP status, "error" (>= 400) or "ok" (< 400). */
  status?: number | "error" | "ok";
  label?: { name: string; value: string };
  virtualKeyId?: string;
  /** Page size; default 50, clamped to 1..1000. */
  limit?: number;
  /** `nextCursor` from the previous page. Throws InvalidCursorError when malformed. */
  cursor?: string;
}

export interface LogPage {
  items: RequestLogRecord[];
  /** Cursor for the next (older) page, or null on the last page. */
  nextCursor: string | null;
}

export const DEFAULT_LOG_PAGE = 50;
export const MAX_LOG_PAGE = 1000;

function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LOG_PAGE;
  return Math.min(MAX_LOG_PAGE, Math.max(1, Math.floor(limit)));
}

/** Newest first, keyset-paginated on (started_at, id), so equal timestamps never skip or repeat a row. */
export async function queryLogs(db: Db, filter: LogFilter = {}): Promise<LogPage> {
  const limit = pageSize(filter.limit);
  const cursor = filter.cursor === undefined || filter.cursor === "" ? undefined : decodeCursor(filter.cursor);
  let query = db.selectFrom("request_logs").selectAll();
  if (filter.from !== undefined) query = query.where("started_at", ">=", filter.from);
  if (filter.to !== undefined) query = query.where("started_at", "<", filter.to);
  if (filter.provider !== undefined) query = query.where("provider", "=", filter.provider);
  if (filter.model !== undefined) {
    const model = filter.model;
    query = query.where((eb) => eb.or([eb("requested_model", "=", model), eb("served_model", "=", model)]));
  }
  if (filter.sessionId !== undefined) query = query.where("session_id", "=", filter.sessionId);
  if (filter.agent !== undefined) query = query.where("agent", "=", filter.agent);
  if (filter.dialect !== undefined) query = query.where("dialect", "=", filter.dialect);
  if (filter.virtualKeyId !== undefined) query = query.where("virtual_key_id", "=", filter.virtualKeyId);
  if (filter.status === "error") query = query.where("status", ">=", 400);
  else if (filter.status === "ok") query = query.where("status", "<", 400);
  else if (filter.status !== undefined) query = query.where("status", "=", filter.status);
  if (filter.label !== undefined) {
    const { name, value } = filter.label;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom("request_log_labels")
          .select("request_log_labels.log_id")
          .whereRef("request_log_labels.log_id", "=", "request_logs.id")
          .where("request_log_labels.name", "=", name)
          .where("request_log_labels.value", "=", value),
      ),
    );
  }
  if (cursor !== undefined) {
    query = query.where((eb) => eb(eb.refTuple("started_at", "id"), "<", eb.tuple(cursor.startedAt, cursor.id)));
  }
  const rows = await query
    .orderBy("started_at", "desc")
    .orderBy("id", "desc")
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map(fromLogRow);
  const last = items.at(-1);
  const nextCursor =
    rows.length > limit && last !== undefined ? encodeCursor({ startedAt: last.startedAt, id: last.id }) : null;
  return { items, nextCursor };
}

export async function getLog(db: Db, id: string): Promise<RequestLogRecord | null> {
  const row = await db.selectFrom("request_logs").selectAll().where("id", "=", id).executeTakeFirst();
  return row === undefined ? null : fromLogRow(row);
}
