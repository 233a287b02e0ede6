import { CompiledQuery } from "kysely";
import type { Dialect } from "../dialects/dialect.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { RequestLogRecord } from "./log-record.ts";
import { fromLogRow, LOG_COLUMNS, pushLogRowValues, toLabelRows } from "./log-rows.ts";
import { addToSpendRollup } from "./rollups.ts";
import type { Db, RequestLogLabelsTable } from "./schema.ts";
import { addToSessionRollup } from "./session-rollup.ts";

/**
 * Inserts records in one transaction with multi-row INSERTs. Idempotent: a row whose id already exists is left
 * as it is, so a retried batch or a replayed spill file never duplicates or fails on rows already written.
 * The SQL text is built once per (placeholder style, chunk size) and cached, so a batch costs a flat parameter array
 * on the main thread; the statement is also prepared once in the SQLite worker.
 */
export async function insertLogs(db: Db, records: readonly RequestLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  const style = placeholderStyle(db);
  await db.transaction().execute(async (trx) => {
    // Only rows actually inserted (RETURNING skips ids already there) add to the rollup, so a replay never counts twice.
    const inserted = new Set<string>();
    for (const [start, size] of chunks(records.length)) {
      const params: unknown[] = [];
      for (let i = start; i < start + size; i++) pushLogRowValues(records[i] as RequestLogRecord, params);
      const result = await trx.executeQuery<{ id: string }>(CompiledQuery.raw(insertSql(style, "logs", size), params));
      for (const row of result.rows) inserted.add(row.id);
    }
    const added = inserted.size === records.length ? records : records.filter((r) => inserted.has(r.id));
    await addToSpendRollup(trx, style, added);
    await addToSessionRollup(trx, style, added);
    const labels = records.flatMap(toLabelRows);
    for (const [start, size] of chunks(labels.length)) {
      const params: unknown[] = [];
      for (let i = start; i < start + size; i++) {
        const l = labels[i] as RequestLogLabelsTable;
        params.push(l.log_id, l.name, l.value);
      }
      await trx.executeQuery(CompiledQuery.raw(insertSql(style, "labels", size), params));
    }
  });
}

type PlaceholderStyle = "?" | "$n";
const styles = new WeakMap<Db, PlaceholderStyle>();

/** SQLite binds `?`, PostgreSQL `$1…`; asked of the dialect's own compiler once per handle. */
function placeholderStyle(db: Db): PlaceholderStyle {
  let style = styles.get(db);
  if (style === undefined) {
    const probe = db.selectFrom("request_logs").select("id").where("id", "=", "x").compile().sql;
    style = probe.includes("$1") ? "$n" : "?";
    styles.set(db, style);
  }
  return style;
}

/** Chunk sizes are powers of four (≤ 256 rows, under every backend's parameter limit), so few SQL texts exist. */
const CHUNK_SIZES = [256, 64, 16, 4, 1];

function* chunks(total: number): Generator<[start: number, size: number]> {
  let start = 0;
  for (const size of CHUNK_SIZES) {
    while (total - start >= size) {
      yield [start, size];
      start += size;
    }
  }
}

const TABLES = {
  logs: { name: "request_logs", columns: LOG_COLUMNS as readonly string[], conflict: "(id)" },
  labels: { name: "request_log_labels", columns: ["log_id", "name", "value"], conflict: "(log_id, name)" },
} as const;
const sqlCache = new Map<string, string>();

function insertSql(style: PlaceholderStyle, table: keyof typeof TABLES, rows: number): string {
  const key = `${style}:${table}:${rows}`;
  let text = sqlCache.get(key);
  if (text === undefined) {
    const t = TABLES[table];
    const width = t.columns.length;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const marks: string[] = [];
      for (let c = 1; c <= width; c++) marks.push(style === "?" ? "?" : `$${r * width + c}`);
      tuples.push(`(${marks.join(",")})`);
    }
    text = `insert into "${t.name}" (${t.columns.map((c) => `"${c}"`).join(",")}) values ${tuples.join(",")} on conflict ${t.conflict} do nothing${table === "logs" ? ' returning "id"' : ""}`;
    sqlCache.set(key, text);
  }
  return text;
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
