import { CompiledQuery, type Kysely, type RawBuilder, sql, type Transaction } from "kysely";
import type { RequestLogRecord } from "./log-record.ts";
import type { Db, TollgateTables } from "./schema.ts";
import {
  MODEL_SQL,
  querySpendParts,
  type SpendPart,
  type SpendQuery,
  type SpendTokens,
  type TimeDimension,
} from "./spend-repo.ts";

/**
 * `spend_hourly` and `spend_daily`: per (UTC hour or day, customer, team, developer, key, provider, model, agent) sums
 * of the raw log, kept up to date in the log writer's transaction. The raw log stays the source of truth;
 * `rebuildSpendRollup` recomputes the tables from it. Dimension columns are NOT NULL text so they can be a primary key that ON CONFLICT matches (a NULL
 * never conflicts): null is stored as '' and a value v as '=' || v, so '' and null stay distinct.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Rollup tables, coarsest first; `bucket` is the start of the UTC hour or day, epoch ms. */
export const ROLLUP_TABLES = [
  { name: "spend_daily", ms: DAY_MS },
  { name: "spend_hourly", ms: HOUR_MS },
] as const;
type RollupTable = (typeof ROLLUP_TABLES)[number];

/** Spend dimension → rollup column. */
export const ROLLUP_COLUMNS = {
  customer: "customer_id",
  team: "team_id",
  developer: "developer_id",
  key: "virtual_key_id",
  provider: "provider",
  model: "model",
  agent: "agent",
} as const;
type RollupDimension = keyof typeof ROLLUP_COLUMNS;
const DIM_COLUMNS = Object.values(ROLLUP_COLUMNS);
/** Each sum column and its aggregate over `request_logs` (the rebuild). */
const SUM_SQL = {
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
  cache_hits: "sum(case when cache_hit is not null then 1 else 0 end)",
  cache_saved_nano_usd: "coalesce(sum(cache_saved_nano_usd), 0)",
} as const;
type SumColumn = keyof typeof SUM_SQL;
/** The sums migration 0011 created (frozen: a migration must do the same thing forever). */
export const SUM_COLUMNS_0011 = [
  "requests",
  "unpriced",
  "cost_nano_usd",
  "input_tokens",
  "cache_read_tokens",
  "cache_write_5m_tokens",
  "cache_write_1h_tokens",
  "output_tokens",
  "reasoning_tokens",
] as const satisfies readonly SumColumn[];
/** Response-cache hits and what they saved (migration 0014). */
export const SUM_COLUMNS_0014 = [...SUM_COLUMNS_0011, "cache_hits", "cache_saved_nano_usd"] as const;
const SUM_COLUMNS: readonly SumColumn[] = SUM_COLUMNS_0014;
const ALL_COLUMNS = ["bucket", ...DIM_COLUMNS, ...SUM_COLUMNS];

/** The tables as migration 0011 made them (0014 adds the cache sums). */
export async function createSpendRollup(db: Kysely<unknown>): Promise<void> {
  for (const table of ROLLUP_TABLES) {
    let t = db.schema.createTable(table.name).addColumn("bucket", "bigint", (c) => c.notNull());
    for (const c of DIM_COLUMNS) t = t.addColumn(c, "text", (col) => col.notNull());
    for (const c of SUM_COLUMNS_0011) t = t.addColumn(c, "bigint", (col) => col.notNull());
    await t.addPrimaryKeyConstraint(`${table.name}_pk`, ["bucket", ...DIM_COLUMNS] as never).execute();
  }
}

const enc = (expr: string) => `case when ${expr} is null then '' else '=' || ${expr} end`;

/** Recomputes the whole rollup from the raw log in one transaction (one grouped INSERT … SELECT). */
export async function rebuildSpendRollup(db: Db): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const table of ROLLUP_TABLES) {
      await sql`delete from ${sql.table(table.name)}`.execute(trx);
      await sql.raw(rebuildSql(table)).execute(trx);
    }
  });
}

/** The INSERT … SELECT that fills `table` from the raw log; `sums`: the columns the table has (a migration's own). */
export function rebuildSql(table: RollupTable, sums: readonly SumColumn[] = SUM_COLUMNS): string {
  const source = {
    customer_id: "customer_id",
    team_id: "team_id",
    developer_id: "developer_id",
    virtual_key_id: "virtual_key_id",
    provider: "provider",
    model: MODEL_SQL,
    agent: "agent",
  } as const satisfies Record<(typeof DIM_COLUMNS)[number], string>;
  const dims = DIM_COLUMNS.map((c) => enc(source[c]));
  return `insert into ${table.name} (${["bucket", ...DIM_COLUMNS, ...sums].join(", ")})
    select started_at - (started_at % ${table.ms}), ${dims.join(", ")},
      ${sums.map((c) => SUM_SQL[c]).join(", ")}
    from request_logs
    group by ${Array.from({ length: 1 + DIM_COLUMNS.length }, (_, i) => i + 1).join(", ")}`;
}

/** True when the rollup is empty but the log is not (e.g. a database restored without it): rebuild then. */
export async function rollupNeedsRebuild(db: Db): Promise<boolean> {
  const r = await sql<{ n: unknown }>`select (select count(*) from (select 1 from spend_daily limit 1) a) as n,
      (select count(*) from (select 1 from request_logs limit 1) b) as m`.execute(db);
  const row = r.rows[0] as { n: unknown; m: unknown } | undefined;
  return Number(row?.n ?? 0) === 0 && Number(row?.m ?? 0) > 0;
}

const strOrEmpty = (v: string | null) => (v === null ? "" : `=${v}`);

/**
 * Adds the given (newly inserted) records to the rollup inside the caller's transaction: aggregated per
 * (hour, dimensions) in JS, then one multi-row upsert per chunk that adds to existing sums.
 */
export async function addToSpendRollup(
  trx: Transaction<TollgateTables>,
  style: "?" | "$n",
  records: readonly RequestLogRecord[],
): Promise<void> {
  if (records.length === 0) return;
  for (const table of ROLLUP_TABLES) await addToTable(trx, style, records, table);
}

async function addToTable(
  trx: Transaction<TollgateTables>,
  style: "?" | "$n",
  records: readonly RequestLogRecord[],
  table: RollupTable,
): Promise<void> {
  // Counts and tokens of one batch stay far below 2^53; cost alone is summed as a bigint (one row can be ~2^62).
  const groups = new Map<string, { dims: (number | string)[]; sums: number[]; cost: bigint; saved: bigint }>();
  for (const r of records) {
    const dims = [
      r.startedAt - (r.startedAt % table.ms),
      strOrEmpty(r.customerId),
      strOrEmpty(r.teamId),
      strOrEmpty(r.developerId),
      strOrEmpty(r.virtualKeyId),
      strOrEmpty(r.provider),
      strOrEmpty(r.servedModel ?? r.requestedModel),
      strOrEmpty(r.agent),
    ];
    const key = JSON.stringify(dims);
    let group = groups.get(key);
    if (group === undefined) {
      group = { dims, sums: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], cost: 0n, saved: 0n };
      groups.set(key, group);
    }
    const used = r.inputTokens + r.cacheReadTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens + r.outputTokens;
    const add = [
      1,
      r.costNanoUsd === null && used > 0 ? 1 : 0,
      0,
      r.inputTokens,
      r.cacheReadTokens,
      r.cacheWrite5mTokens,
      r.cacheWrite1hTokens,
      r.outputTokens,
      r.reasoningTokens,
      r.cacheHit !== null ? 1 : 0,
    ];
    for (let i = 0; i < add.length; i++) group.sums[i] = (group.sums[i] as number) + (add[i] as number);
    if (r.costNanoUsd !== null) group.cost += BigInt(r.costNanoUsd);
    if (r.cacheSavedNanoUsd !== null) group.saved += BigInt(r.cacheSavedNanoUsd);
  }
  // One key order for every writer, so two processes upserting overlapping rows lock them in the same order (no
  // deadlock on PostgreSQL).
  const rows = [...groups.keys()]
    .sort()
    .map((k) => groups.get(k) as { dims: (number | string)[]; sums: number[]; cost: bigint; saved: bigint });
  const CHUNK = 64;
  for (let start = 0; start < rows.length; start += CHUNK) {
    const slice = rows.slice(start, start + CHUNK);
    const params: unknown[] = [];
    const big = (v: bigint) => (style === "$n" ? String(v) : v);
    // Column order: requests, unpriced, cost, the six token sums, cache hits, cache saving (SUM_COLUMNS).
    for (const { dims, sums, cost, saved } of slice) {
      params.push(...dims, ...sums.slice(0, 2), big(cost), ...sums.slice(3), big(saved));
    }
    await trx.executeQuery(CompiledQuery.raw(upsertSql(table.name, style, slice.length), params));
  }
}

const upsertCache = new Map<string, string>();

function upsertSql(name: string, style: "?" | "$n", rows: number): string {
  const key = `${name}:${style}:${rows}`;
  let text = upsertCache.get(key);
  if (text === undefined) {
    const width = ALL_COLUMNS.length;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const marks: string[] = [];
      for (let c = 1; c <= width; c++) marks.push(style === "?" ? "?" : `$${r * width + c}`);
      tuples.push(`(${marks.join(",")})`);
    }
    const set = SUM_COLUMNS.map((c) => `${c} = ${name}.${c} + excluded.${c}`).join(", ");
    text = `insert into ${name} (${ALL_COLUMNS.join(",")}) values ${tuples.join(",")}
      on conflict (bucket, ${DIM_COLUMNS.join(", ")}) do update set ${set}`;
    upsertCache.set(key, text);
  }
  return text;
}

/** The rollup answers a query when it groups and filters only by rollup dimensions and time buckets. */
export function rollupCanAnswer(q: SpendQuery): boolean {
  for (const d of q.groupBy) {
    if (!(d in ROLLUP_COLUMNS) && d !== "hour" && d !== "day" && d !== "month") return false;
  }
  return q.filters.session === undefined && q.filters.label === undefined;
}

/** A UTC time bucket as the raw path formats it: hour `2026-01-02T13:00:00Z`, day `2026-01-02`, month `2026-01`. */
function formatBucket(unit: TimeDimension, ms: number): string {
  const iso = new Date(ms).toISOString();
  return unit === "hour" ? `${iso.slice(0, 13)}:00:00Z` : iso.slice(0, unit === "day" ? 10 : 7);
}

/**
 * Same shape as `querySpendParts`, read from the rollup; `from`/`to` must be whole hours. SQL groups on the stored
 * (encoded) text and on integer hour/day starts only; decoding and date formatting happen per group in JS, not per
 * row in SQL. A month groups by day in SQL and its days merge in rollUpSpend (same group values).
 */
async function queryRollupParts(db: Db, table: RollupTable, q: SpendQuery): Promise<SpendPart[]> {
  const columns: string[] = ["provider", "model"];
  const decoders: ((v: unknown) => string | null)[] = [decode, decode];
  const positions: number[] = [];
  for (const d of q.groupBy) {
    if (d === "provider" || d === "model") {
      positions.push(d === "provider" ? 0 : 1);
      continue;
    }
    positions.push(columns.length);
    if (d === "hour" || d === "day" || d === "month") {
      columns.push(d === "hour" || table.ms === DAY_MS ? "bucket" : `bucket - bucket % ${DAY_MS}`);
      // A query has few distinct buckets and thousands of rows: format each bucket once (Date + ISO text is slow).
      const formatted = new Map<unknown, string>();
      decoders.push((v) => {
        let text = formatted.get(v);
        if (text === undefined) {
          text = formatBucket(d, Number(v));
          formatted.set(v, text);
        }
        return text;
      });
    } else {
      columns.push(ROLLUP_COLUMNS[d as RollupDimension]);
      decoders.push(decode);
    }
  }
  const where: RawBuilder<unknown>[] = [sql`bucket >= ${q.from}`, sql`bucket < ${q.to}`];
  for (const name of Object.keys(ROLLUP_COLUMNS) as RollupDimension[]) {
    const value = q.filters[name];
    if (value !== undefined) where.push(sql`${sql.ref(ROLLUP_COLUMNS[name])} = ${`=${value}`}`);
  }
  const sums = SUM_COLUMNS.map((c) => sql.raw(`cast(sum(${c}) as text) as ${c}`));
  const query = sql<Record<string, unknown>>`select ${sql.join(columns.map((c, i) => sql.raw(`${c} as g${i}`)))},
      ${sql.join(sums)}
    from ${sql.table(table.name)} where ${sql.join(where, sql` and `)}
    group by ${sql.join(columns.map((_, i) => sql.raw(String(i + 1))))}`;
  const result = await query.execute(db);
  return result.rows.map((row) => {
    const value = (i: number): string | null => (decoders[i] as (v: unknown) => string | null)(row[`g${i}`]);
    const n = (c: string) => BigInt(String(row[c]));
    const tokens: SpendTokens = {
      input: n("input_tokens"),
      cacheRead: n("cache_read_tokens"),
      cacheWrite5m: n("cache_write_5m_tokens"),
      cacheWrite1h: n("cache_write_1h_tokens"),
      output: n("output_tokens"),
      reasoning: n("reasoning_tokens"),
    };
    return {
      group: positions.map(value),
      provider: value(0),
      model: value(1),
      requests: n("requests"),
      unpricedRequests: n("unpriced"),
      costNanoUsd: n("cost_nano_usd"),
      tokens,
      cacheHits: n("cache_hits"),
      responseCacheSavingsNanoUsd: n("cache_saved_nano_usd"),
    };
  });
}

function decode(v: unknown): string | null {
  const s = String(v);
  return s === "" ? null : s.slice(1);
}

/**
 * Spend parts from the rollups when they can answer: whole days from `spend_daily`, whole hours at the edges from
 * `spend_hourly`, the partial hours at either end from the raw log (rollUpSpend merges parts of the same group).
 * Otherwise the raw log alone. `hour` grouping skips the daily table.
 */
export async function querySpendPartsFast(db: Db, q: SpendQuery): Promise<SpendPart[]> {
  if (!rollupCanAnswer(q)) return querySpendParts(db, q);
  const tables = q.groupBy.includes("hour") ? ROLLUP_TABLES.filter((t) => t.ms === HOUR_MS) : [...ROLLUP_TABLES];
  const tasks: Promise<SpendPart[]>[] = [];
  const split = (from: number, to: number, level: number): void => {
    const table = tables[level];
    if (from >= to) return;
    if (table === undefined) {
      tasks.push(querySpendParts(db, { ...q, from, to }));
      return;
    }
    const first = Math.ceil(from / table.ms) * table.ms;
    const last = Math.floor(to / table.ms) * table.ms;
    if (first >= last) {
      split(from, to, level + 1);
      return;
    }
    tasks.push(queryRollupParts(db, table, { ...q, from: first, to: last }));
    split(from, first, level + 1);
    split(last, to, level + 1);
  };
  split(q.from, q.to, 0);
  return (await Promise.all(tasks)).flat();
}
