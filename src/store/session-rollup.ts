import { CompiledQuery, type Kysely, sql, type Transaction } from "kysely";
import type { RequestLogRecord } from "./log-record.ts";
import { HOUR_MS } from "./rollups.ts";
import type { Db, TollgateTables } from "./schema.ts";
import { MODEL_SQL } from "./spend-repo.ts";

/**
 * `session_hourly`: per (UTC hour, session, model, agent, key, team, customer, developer) sums of the raw log rows
 * that carry a session id, plus the first and last `started_at` of the hour. Kept up to date in the log writer's
 * transaction, like the spend rollups (rollups.ts), and never deleted by retention, so `GET /api/sessions` lists
 * sessions without scanning the raw log. Dimension columns use the spend rollups' encoding (null → '', v → '=' || v)
 * so they can be part of the primary key that ON CONFLICT matches.
 */

export const SESSION_ROLLUP = "session_hourly";

/** Dimension columns after `bucket` and `session_id`, and the raw-log expression each comes from. */
export const SESSION_DIMS = {
  model: MODEL_SQL,
  agent: "agent",
  virtual_key_id: "virtual_key_id",
  team_id: "team_id",
  customer_id: "customer_id",
  developer_id: "developer_id",
} as const;
const DIM_COLUMNS = Object.keys(SESSION_DIMS) as (keyof typeof SESSION_DIMS)[];

/** Each sum column and its aggregate over `request_logs` (the backfill); order = the upsert's parameter order. */
export const SESSION_SUMS = {
  requests: "count(*)",
  unpriced:
    "sum(case when cost_nano_usd is null and (input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens) > 0 then 1 else 0 end)",
  cost_nano_usd: "coalesce(sum(cost_nano_usd), 0)",
  input_tokens: "sum(input_tokens)",
  cache_read_tokens: "sum(cache_read_tokens)",
  cache_write_5m_tokens: "sum(cache_write_5m_tokens)",
  cache_write_1h_tokens: "sum(cache_write_1h_tokens)",
  output_tokens: "sum(output_tokens)",
  reasoning_tokens: "sum(reasoning_tokens)",
} as const;
const SUM_COLUMNS = Object.keys(SESSION_SUMS) as (keyof typeof SESSION_SUMS)[];
const KEY_COLUMNS = ["bucket", "session_id", ...DIM_COLUMNS];
const ALL_COLUMNS = [...KEY_COLUMNS, ...SUM_COLUMNS, "first_seen", "last_seen"];

/** The table as migration 0017 makes it (frozen: a migration must do the same thing forever). */
export async function createSessionRollup(db: Kysely<unknown>): Promise<void> {
  let t = db.schema
    .createTable(SESSION_ROLLUP)
    .addColumn("bucket", "bigint", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull());
  for (const c of DIM_COLUMNS) t = t.addColumn(c, "text", (col) => col.notNull());
  for (const c of SUM_COLUMNS) t = t.addColumn(c, "bigint", (col) => col.notNull());
  t = t.addColumn("first_seen", "bigint", (c) => c.notNull()).addColumn("last_seen", "bigint", (c) => c.notNull());
  // Bucket first: the list reads a range of hours and groups it by session.
  await t.addPrimaryKeyConstraint(`${SESSION_ROLLUP}_pk`, KEY_COLUMNS as never).execute();
  // One session's hours (the list's models per session on its page).
  await db.schema
    .createIndex(`${SESSION_ROLLUP}_session`)
    .on(SESSION_ROLLUP)
    .columns(["session_id", "bucket"])
    .execute();
}

const enc = (expr: string) => `case when ${expr} is null then '' else '=' || ${expr} end`;

/** The INSERT … SELECT that fills the table from the raw log (migration 0017's backfill). */
export function sessionRollupRebuildSql(): string {
  return `insert into ${SESSION_ROLLUP} (${ALL_COLUMNS.join(", ")})
    select started_at - (started_at % ${HOUR_MS}), session_id, ${DIM_COLUMNS.map((c) => enc(SESSION_DIMS[c])).join(", ")},
      ${SUM_COLUMNS.map((c) => SESSION_SUMS[c]).join(", ")}, min(started_at), max(started_at)
    from request_logs
    where session_id is not null
    group by ${KEY_COLUMNS.map((_, i) => i + 1).join(", ")}`;
}

/** Recomputes the rollup from the raw log in one transaction (what the migration did; for repairs and tests). */
export async function rebuildSessionRollup(db: Db): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`delete from ${sql.table(SESSION_ROLLUP)}`.execute(trx);
    await sql.raw(sessionRollupRebuildSql()).execute(trx);
  });
}

const strOrEmpty = (v: string | null) => (v === null ? "" : `=${v}`);

interface Group {
  key: (number | string)[];
  sums: number[];
  cost: bigint;
  first: number;
  last: number;
}

/**
 * Adds the given (newly inserted) records to `session_hourly` inside the caller's transaction: aggregated per key in
 * JS, then multi-row upserts that add the sums and widen first/last seen.
 */
export async function addToSessionRollup(
  trx: Transaction<TollgateTables>,
  style: "?" | "$n",
  records: readonly RequestLogRecord[],
): Promise<void> {
  // Counts and tokens of one batch stay far below 2^53; cost alone is summed as a bigint (one row can be ~2^62).
  const groups = new Map<string, Group>();
  for (const r of records) {
    if (r.sessionId === null) continue;
    const key = [
      r.startedAt - (r.startedAt % HOUR_MS),
      r.sessionId,
      strOrEmpty(r.servedModel ?? r.requestedModel),
      strOrEmpty(r.agent),
      strOrEmpty(r.virtualKeyId),
      strOrEmpty(r.teamId),
      strOrEmpty(r.customerId),
      strOrEmpty(r.developerId),
    ];
    const id = JSON.stringify(key);
    let group = groups.get(id);
    if (group === undefined) {
      group = { key, sums: [0, 0, 0, 0, 0, 0, 0, 0], cost: 0n, first: r.startedAt, last: r.startedAt };
      groups.set(id, group);
    }
    const used = r.inputTokens + r.cacheReadTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens + r.outputTokens;
    const add = [
      1,
      r.costNanoUsd === null && used > 0 ? 1 : 0,
      r.inputTokens,
      r.cacheReadTokens,
      r.cacheWrite5mTokens,
      r.cacheWrite1hTokens,
      r.outputTokens,
      r.reasoningTokens,
    ];
    for (let i = 0; i < add.length; i++) group.sums[i] = (group.sums[i] as number) + (add[i] as number);
    if (r.costNanoUsd !== null) group.cost += BigInt(r.costNanoUsd);
    if (r.startedAt < group.first) group.first = r.startedAt;
    if (r.startedAt > group.last) group.last = r.startedAt;
  }
  if (groups.size === 0) return;
  // One key order for every writer, so concurrent upserts lock rows in the same order (no PostgreSQL deadlock).
  const rows = [...groups.keys()].sort().map((k) => groups.get(k) as Group);
  const CHUNK = 64;
  for (let start = 0; start < rows.length; start += CHUNK) {
    const slice = rows.slice(start, start + CHUNK);
    const params: unknown[] = [];
    for (const g of slice) {
      // Column order: ALL_COLUMNS (key, requests, unpriced, cost, the six token sums, first/last seen).
      params.push(...g.key, ...g.sums.slice(0, 2), style === "$n" ? String(g.cost) : g.cost, ...g.sums.slice(2));
      params.push(g.first, g.last);
    }
    await trx.executeQuery(CompiledQuery.raw(upsertSql(style, slice.length), params));
  }
}

const upsertCache = new Map<string, string>();

function upsertSql(style: "?" | "$n", rows: number): string {
  const cacheKey = `${style}:${rows}`;
  let text = upsertCache.get(cacheKey);
  if (text === undefined) {
    const width = ALL_COLUMNS.length;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const marks: string[] = [];
      for (let c = 1; c <= width; c++) marks.push(style === "?" ? "?" : `$${r * width + c}`);
      tuples.push(`(${marks.join(",")})`);
    }
    const t = SESSION_ROLLUP;
    // SQLite's two-argument min/max are scalar; PostgreSQL spells them least/greatest.
    const [lo, hi] = style === "?" ? ["min", "max"] : ["least", "greatest"];
    const set = [
      ...SUM_COLUMNS.map((c) => `${c} = ${t}.${c} + excluded.${c}`),
      `first_seen = ${lo}(${t}.first_seen, excluded.first_seen)`,
      `last_seen = ${hi}(${t}.last_seen, excluded.last_seen)`,
    ].join(", ");
    text = `insert into ${t} (${ALL_COLUMNS.join(",")}) values ${tuples.join(",")}
      on conflict (${KEY_COLUMNS.join(", ")}) do update set ${set}`;
    upsertCache.set(cacheKey, text);
  }
  return text;
}
