import { type RawBuilder, sql } from "kysely";
import type { DatabaseKind } from "./database.ts";
import type { Db } from "./schema.ts";

/**
 * Spend analytics over the raw request log (`GET /api/spend`). One grouped SELECT; sums travel as text and become
 * bigints, so money is exact at any size. Attribution is what the row recorded at request time.
 */

/** Dimensions that are a plain `request_logs` column. */
export const COLUMN_DIMENSIONS = {
  customer: "customer_id",
  team: "team_id",
  developer: "developer_id",
  key: "virtual_key_id",
  provider: "provider",
  agent: "agent",
  session: "session_id",
} as const;

export type ColumnDimension = keyof typeof COLUMN_DIMENSIONS;
export type TimeDimension = "hour" | "day" | "month";
export type SpendDimension = ColumnDimension | TimeDimension | "model" | `label:${string}`;

export const TIME_DIMENSIONS: readonly TimeDimension[] = ["hour", "day", "month"];

/** Every plain dimension name, in the order error messages list them. */
export const DIMENSION_NAMES: readonly string[] = [
  "customer",
  "team",
  "developer",
  "key",
  "provider",
  "model",
  "agent",
  "session",
  "label:<name>",
  "hour",
  "day",
  "month",
];

/** The served model when the provider reported one, else the requested one: what the request was priced as. */
export const MODEL_SQL = "coalesce(served_model, requested_model)";

export interface SpendFilters {
  customer?: string;
  team?: string;
  developer?: string;
  key?: string;
  provider?: string;
  /** Compared with the `model` dimension's value (served, else requested model). */
  model?: string;
  agent?: string;
  session?: string;
  label?: { name: string; value: string };
}

export interface SpendQuery {
  kind: DatabaseKind;
  /** Inclusive, epoch ms. */
  from: number;
  /** Exclusive, epoch ms. */
  to: number;
  groupBy: readonly SpendDimension[];
  filters: SpendFilters;
}

export interface SpendTokens {
  input: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
  reasoning: bigint;
}

/** One (group, provider, model) aggregate: the model split lets cache savings use each model's own prices. */
export interface SpendPart {
  /** The group's values, in `groupBy` order. */
  group: (string | null)[];
  provider: string | null;
  model: string | null;
  requests: bigint;
  unpricedRequests: bigint;
  costNanoUsd: bigint;
  tokens: SpendTokens;
  /** Requests answered from the response cache (a `cache_hit` layer on the row). */
  cacheHits: bigint;
  /** What those hits saved: the sum of the rows' `cache_saved_nano_usd`. */
  responseCacheSavingsNanoUsd: bigint;
}

const TOKEN_COLUMNS = {
  input: "input_tokens",
  cacheRead: "cache_read_tokens",
  cacheWrite5m: "cache_write_5m_tokens",
  cacheWrite1h: "cache_write_1h_tokens",
  output: "output_tokens",
  reasoning: "reasoning_tokens",
} as const satisfies Record<keyof SpendTokens, string>;

const TOKEN_KEYS = Object.keys(TOKEN_COLUMNS) as (keyof SpendTokens)[];

/**
 * Unpriced: the cost is unknown although tokens were used. A request refused before any provider answered has no
 * cost and no tokens: nothing was billed, so it is not counted as unpriced.
 */
const UNPRICED_SQL = sql`sum(case when cost_nano_usd is null and (input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens) > 0 then 1 else 0 end)`;

/** A UTC time bucket of `started_at` as ISO-8601 text: hour `2026-01-02T13:00:00Z`, day `2026-01-02`, month `2026-01`. */
export function timeBucketSql(kind: DatabaseKind, unit: TimeDimension): RawBuilder<string> {
  if (kind === "sqlite") {
    const format = unit === "hour" ? "%Y-%m-%dT%H:00:00Z" : unit === "day" ? "%Y-%m-%d" : "%Y-%m";
    return sql<string>`strftime(${sql.lit(format)}, started_at / 1000, 'unixepoch')`;
  }
  const format = unit === "hour" ? 'YYYY-MM-DD"T"HH24:00:00"Z"' : unit === "day" ? "YYYY-MM-DD" : "YYYY-MM";
  return sql<string>`to_char(to_timestamp(started_at / 1000) at time zone 'UTC', ${sql.lit(format)})`;
}

export function labelName(dimension: SpendDimension): string | null {
  return dimension.startsWith("label:") ? dimension.slice("label:".length) : null;
}

function dimensionSql(kind: DatabaseKind, dimension: SpendDimension, labelAlias: string | null): RawBuilder<unknown> {
  if (labelAlias !== null) return sql`${sql.ref(`${labelAlias}.value`)}`;
  if (dimension === "model") return sql.raw(MODEL_SQL);
  if (dimension === "hour" || dimension === "day" || dimension === "month") return timeBucketSql(kind, dimension);
  return sql.ref(`request_logs.${COLUMN_DIMENSIONS[dimension as ColumnDimension]}`);
}

/** The WHERE conditions shared by spend queries: the time range and the exact-match filters. */
export function spendConditions(q: { from: number; to: number; filters: SpendFilters }): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = [sql`started_at >= ${q.from}`, sql`started_at < ${q.to}`];
  const f = q.filters;
  for (const name of Object.keys(COLUMN_DIMENSIONS) as ColumnDimension[]) {
    const value = f[name];
    if (value !== undefined) where.push(sql`${sql.ref(`request_logs.${COLUMN_DIMENSIONS[name]}`)} = ${value}`);
  }
  if (f.model !== undefined) where.push(sql`${sql.raw(MODEL_SQL)} = ${f.model}`);
  if (f.label !== undefined) {
    where.push(
      sql`exists (select 1 from request_log_labels f where f.log_id = request_logs.id and f.name = ${f.label.name} and f.value = ${f.label.value})`,
    );
  }
  return where;
}

/**
 * Aggregates per (group, provider, model) in SQL. Labels are LEFT JOINed one alias per label dimension
 * (`(log_id, name)` is the primary key, so a join never multiplies a row); a row without the label groups under null.
 */
export async function querySpendParts(db: Db, q: SpendQuery): Promise<SpendPart[]> {
  const joins: RawBuilder<unknown>[] = [];
  // Column 1 = provider, 2 = model, then the other dimensions; `positions[i]` = column of groupBy[i].
  const columns: RawBuilder<unknown>[] = [sql`request_logs.provider`, sql.raw(MODEL_SQL)];
  const positions: number[] = [];
  for (const [i, dimension] of q.groupBy.entries()) {
    if (dimension === "provider" || dimension === "model") {
      positions.push(dimension === "provider" ? 0 : 1);
      continue;
    }
    const label = labelName(dimension);
    let alias: string | null = null;
    if (label !== null) {
      alias = `l${i}`;
      joins.push(
        sql`left join request_log_labels ${sql.id(alias)} on ${sql.ref(`${alias}.log_id`)} = request_logs.id and ${sql.ref(`${alias}.name`)} = ${label}`,
      );
    }
    positions.push(columns.length);
    columns.push(dimensionSql(q.kind, dimension, alias));
  }
  const selects = columns.map((c, i) => sql`${c} as ${sql.id(`g${i}`)}`);
  const groupBy = columns.map((_, i) => sql.raw(String(i + 1)));
  const sums = TOKEN_KEYS.map((k) => sql`cast(coalesce(sum(${sql.ref(TOKEN_COLUMNS[k])}), 0) as text) as ${sql.id(k)}`);
  const query = sql<Record<string, unknown>>`select ${sql.join(selects)},
      cast(count(*) as text) as requests,
      cast(${UNPRICED_SQL} as text) as unpriced,
      cast(coalesce(sum(cost_nano_usd), 0) as text) as cost,
      cast(sum(case when cache_hit is not null then 1 else 0 end) as text) as cache_hits,
      cast(coalesce(sum(cache_saved_nano_usd), 0) as text) as cache_saved,
      ${sql.join(sums)}
    from request_logs ${joins.length === 0 ? sql`` : sql.join(joins, sql` `)}
    where ${sql.join(spendConditions(q), sql` and `)}
    group by ${sql.join(groupBy)}`;
  const result = await query.execute(db);
  return result.rows.map((row) => {
    const value = (i: number): string | null => {
      const v = row[`g${i}`];
      return v === null || v === undefined ? null : String(v);
    };
    const tokens = {} as SpendTokens;
    for (const k of TOKEN_KEYS) tokens[k] = BigInt(String(row[k]));
    return {
      group: positions.map(value),
      provider: value(0),
      model: value(1),
      requests: BigInt(String(row.requests)),
      unpricedRequests: BigInt(String(row.unpriced)),
      costNanoUsd: BigInt(String(row.cost)),
      tokens,
      cacheHits: BigInt(String(row.cache_hits)),
      responseCacheSavingsNanoUsd: BigInt(String(row.cache_saved)),
    };
  });
}

export interface SpendRow {
  group: (string | null)[];
  requests: bigint;
  unpricedRequests: bigint;
  costNanoUsd: bigint;
  tokens: SpendTokens;
  /** What cache reads saved against the full input price, nano-USD (rounded half-up once per row). */
  cacheSavingsNanoUsd: bigint;
  /** Response-cache hits, and what they saved (the original calls' cost), nano-USD. */
  cacheHits: bigint;
  responseCacheSavingsNanoUsd: bigint;
}

/**
 * `(input − cache-read)` price in nano-USD per million tokens for a (provider, model), or null when unknown.
 * Returns 0 when the model has no cheaper cache-read price.
 */
export type CacheDiscount = (provider: string, model: string) => number | null;

const MILLION = 1_000_000n;

function emptyTokens(): SpendTokens {
  return { input: 0n, cacheRead: 0n, cacheWrite5m: 0n, cacheWrite1h: 0n, output: 0n, reasoning: 0n };
}

function addInto(target: SpendRow & { savingsMicro: bigint }, part: Omit<SpendRow, "group" | "cacheSavingsNanoUsd">) {
  target.requests += part.requests;
  target.unpricedRequests += part.unpricedRequests;
  target.costNanoUsd += part.costNanoUsd;
  for (const k of TOKEN_KEYS) target.tokens[k] += part.tokens[k];
  target.cacheHits += part.cacheHits;
  target.responseCacheSavingsNanoUsd += part.responseCacheSavingsNanoUsd;
}

/**
 * Merges (group, provider, model) parts into the requested groups, adds cache savings per model, and sorts by cost
 * (highest first; ties by group values, so the order is stable). Also returns the totals over every row.
 */
export function rollUpSpend(
  parts: readonly SpendPart[],
  discount: CacheDiscount,
): { rows: SpendRow[]; totals: Omit<SpendRow, "group"> } {
  type Acc = SpendRow & { savingsMicro: bigint };
  const newAcc = (group: (string | null)[]): Acc => ({
    group,
    requests: 0n,
    unpricedRequests: 0n,
    costNanoUsd: 0n,
    tokens: emptyTokens(),
    cacheSavingsNanoUsd: 0n,
    cacheHits: 0n,
    responseCacheSavingsNanoUsd: 0n,
    savingsMicro: 0n,
  });
  const byGroup = new Map<string, Acc>();
  const total = newAcc([]);
  for (const part of parts) {
    const key = JSON.stringify(part.group);
    let acc = byGroup.get(key);
    if (acc === undefined) {
      acc = newAcc(part.group);
      byGroup.set(key, acc);
    }
    addInto(acc, part);
    addInto(total, part);
    if (part.tokens.cacheRead > 0n && part.provider !== null && part.model !== null) {
      const perMTok = discount(part.provider, part.model);
      if (perMTok !== null && perMTok > 0) {
        const micro = part.tokens.cacheRead * BigInt(perMTok);
        acc.savingsMicro += micro;
        total.savingsMicro += micro;
      }
    }
  }
  const finish = (acc: Acc): SpendRow => ({
    group: acc.group,
    requests: acc.requests,
    unpricedRequests: acc.unpricedRequests,
    costNanoUsd: acc.costNanoUsd,
    tokens: acc.tokens,
    cacheSavingsNanoUsd: (acc.savingsMicro + MILLION / 2n) / MILLION,
    cacheHits: acc.cacheHits,
    responseCacheSavingsNanoUsd: acc.responseCacheSavingsNanoUsd,
  });
  const rows = [...byGroup.values()].map(finish);
  rows.sort((a, b) => {
    if (a.costNanoUsd !== b.costNanoUsd) return a.costNanoUsd > b.costNanoUsd ? -1 : 1;
    return compareGroups(a.group, b.group);
  });
  const { group: _group, ...totals } = finish(total);
  return { rows, totals };
}

/** Nulls last, then by text. */
function compareGroups(a: readonly (string | null)[], b: readonly (string | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}
