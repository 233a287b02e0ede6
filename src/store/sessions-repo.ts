import { type RawBuilder, sql } from "kysely";
import { InvalidCursorError } from "./cursor.ts";
import { HOUR_MS } from "./rollups.ts";
import type { Db } from "./schema.ts";
import { SESSION_ROLLUP } from "./session-rollup.ts";
import { MODEL_SQL, type SpendTokens } from "./spend-repo.ts";

/**
 * Coding-agent sessions (`GET /api/sessions`, `/api/sessions/:id`): the list from the `session_hourly` rollup
 * (session-rollup.ts; the raw log only for partial hours at the range's ends), one session's detail from the raw log
 * (rows grouped by `session_id`, so it is gone once retention deleted them). Sums travel as text and become bigints
 * (exact money at any size).
 */

const TOTALS_SQL = sql`cast(count(*) as text) as requests,
  cast(sum(case when cost_nano_usd is null and (input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens) > 0 then 1 else 0 end) as text) as unpriced,
  cast(coalesce(sum(cost_nano_usd), 0) as text) as cost,
  cast(coalesce(sum(input_tokens), 0) as text) as t_input,
  cast(coalesce(sum(cache_read_tokens), 0) as text) as t_cache_read,
  cast(coalesce(sum(cache_write_5m_tokens), 0) as text) as t_cache_write_5m,
  cast(coalesce(sum(cache_write_1h_tokens), 0) as text) as t_cache_write_1h,
  cast(coalesce(sum(output_tokens), 0) as text) as t_output,
  cast(coalesce(sum(reasoning_tokens), 0) as text) as t_reasoning,
  min(started_at) as first_seen,
  max(started_at) as last_seen`;

/** Failed (status ≥ 400) or ended with an error (cut, stream error, client gone): money that bought no answer. */
const WASTED_SQL = "(status >= 400 or error_code is not null)";

export interface SessionTotals {
  requests: bigint;
  unpricedRequests: bigint;
  costNanoUsd: bigint;
  tokens: SpendTokens;
  firstSeen: number;
  lastSeen: number;
}

type Row = Record<string, unknown>;

/** Session ids may be up to 200 characters (attribution/session.ts), longer than a log cursor's id. */
function encodeSessionCursor(lastSeen: number, id: string): string {
  return Buffer.from(JSON.stringify([lastSeen, id]), "utf8").toString("base64url");
}

function decodeSessionCursor(text: string): { lastSeen: number; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [lastSeen, id] = parsed as [unknown, unknown];
      if (Number.isSafeInteger(lastSeen) && typeof id === "string" && id.length > 0 && id.length <= 1000) {
        return { lastSeen: lastSeen as number, id };
      }
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}

const big = (v: unknown): bigint => BigInt(String(v ?? 0));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function totalsOf(row: Row): SessionTotals {
  return {
    requests: big(row.requests),
    unpricedRequests: big(row.unpriced),
    costNanoUsd: big(row.cost),
    tokens: {
      input: big(row.t_input),
      cacheRead: big(row.t_cache_read),
      cacheWrite5m: big(row.t_cache_write_5m),
      cacheWrite1h: big(row.t_cache_write_1h),
      output: big(row.t_output),
      reasoning: big(row.t_reasoning),
    },
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
  };
}

export interface SessionListFilter {
  /** Inclusive, epoch ms: only requests in [from, to) count. */
  from: number;
  to: number;
  agent?: string;
  key?: string;
  team?: string;
  customer?: string;
  developer?: string;
  limit: number;
  /** `nextCursor` of the previous page; InvalidCursorError when malformed. */
  cursor?: string;
}

export interface SessionSummary extends SessionTotals {
  id: string;
  agent: string | null;
  virtualKeyId: string | null;
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  models: string[];
}

/** List filter → raw-log column (`session_hourly` has the same columns, encoded). */
const FILTER_COLUMNS = {
  agent: "agent",
  key: "virtual_key_id",
  team: "team_id",
  customer: "customer_id",
  developer: "developer_id",
} as const;

/** Both sources as rows of one shape: session, dimensions (encoded as in the rollup), sums, first/last seen. */
const RAW_PART = `session_id, ${["agent", "virtual_key_id", "team_id", "customer_id", "developer_id", MODEL_SQL]
  .map((c, i) => `case when ${c} is null then '' else '=' || ${c} end as d${i}`)
  .join(", ")},
  1 as requests,
  case when cost_nano_usd is null and (input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens) > 0 then 1 else 0 end as unpriced,
  coalesce(cost_nano_usd, 0) as cost, input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
  output_tokens, reasoning_tokens, started_at as first_seen, started_at as last_seen`;
const ROLLUP_PART = `session_id, agent as d0, virtual_key_id as d1, team_id as d2, customer_id as d3, developer_id as d4,
  model as d5, requests, unpriced, cost_nano_usd as cost, input_tokens, cache_read_tokens, cache_write_5m_tokens,
  cache_write_1h_tokens, output_tokens, reasoning_tokens, first_seen, last_seen`;

/**
 * The rows of [from, to) as a union: whole UTC hours from `session_hourly`, the partial hours at either end from the
 * raw log (as the spend API splits its range), so any range answers exactly what the raw log alone would.
 */
function sessionSource(
  from: number,
  to: number,
  rawWhere: RawBuilder<unknown>[],
  rollupWhere: RawBuilder<unknown>[],
): RawBuilder<unknown> {
  const first = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const last = Math.floor(to / HOUR_MS) * HOUR_MS;
  const parts: RawBuilder<unknown>[] = [];
  const raw = (a: number, b: number) =>
    parts.push(sql`select ${sql.raw(RAW_PART)} from request_logs
      where session_id is not null and started_at >= ${a} and started_at < ${b}
      ${sql.join(
        rawWhere.map((w) => sql`and ${w}`),
        sql` `,
      )}`);
  if (first >= last) {
    raw(from, to);
  } else {
    parts.push(sql`select ${sql.raw(ROLLUP_PART)} from ${sql.table(SESSION_ROLLUP)}
      where bucket >= ${first} and bucket < ${last}
      ${sql.join(
        rollupWhere.map((w) => sql`and ${w}`),
        sql` `,
      )}`);
    if (from < first) raw(from, first);
    if (last < to) raw(last, to);
  }
  return sql.join(parts, sql` union all `);
}

/** A rollup dimension value: '' is null, '=v' is v. */
const decoded = (v: unknown): string | null => (v === null || v === undefined || v === "" ? null : String(v).slice(1));

/**
 * Sessions most recently active first, keyset-paginated on (last seen, id); totals, first/last seen and dimensions
 * count only the session's requests in [from, to) that match the filters, `models` all its requests in [from, to).
 */
export async function listSessions(
  db: Db,
  filter: SessionListFilter,
): Promise<{ items: SessionSummary[]; nextCursor: string | null }> {
  const rawWhere: RawBuilder<unknown>[] = [];
  const rollupWhere: RawBuilder<unknown>[] = [];
  for (const [name, column] of Object.entries(FILTER_COLUMNS) as [keyof typeof FILTER_COLUMNS, string][]) {
    const value = filter[name];
    if (value === undefined) continue;
    rawWhere.push(sql`${sql.ref(column)} = ${value}`);
    rollupWhere.push(sql`${sql.ref(column)} = ${`=${value}`}`);
  }
  const cursor = filter.cursor === undefined || filter.cursor === "" ? undefined : decodeSessionCursor(filter.cursor);
  const having =
    cursor === undefined
      ? sql``
      : sql`having max(last_seen) < ${cursor.lastSeen} or (max(last_seen) = ${cursor.lastSeen} and session_id < ${cursor.id})`;
  const result = await sql<Row>`select session_id, cast(sum(requests) as text) as requests,
      cast(sum(unpriced) as text) as unpriced, cast(sum(cost) as text) as cost,
      cast(sum(input_tokens) as text) as t_input, cast(sum(cache_read_tokens) as text) as t_cache_read,
      cast(sum(cache_write_5m_tokens) as text) as t_cache_write_5m,
      cast(sum(cache_write_1h_tokens) as text) as t_cache_write_1h, cast(sum(output_tokens) as text) as t_output,
      cast(sum(reasoning_tokens) as text) as t_reasoning, min(first_seen) as first_seen, max(last_seen) as last_seen,
      max(d0) as agent, max(d1) as key, max(d2) as team, max(d3) as customer, max(d4) as developer
    from (${sessionSource(filter.from, filter.to, rawWhere, rollupWhere)}) s
    group by session_id
    ${having}
    order by max(last_seen) desc, session_id desc
    limit ${filter.limit + 1}`.execute(db);
  const rows = result.rows.slice(0, filter.limit);
  const ids = rows.map((r) => String(r.session_id));
  const models = new Map<string, string[]>();
  if (ids.length > 0) {
    const inPage = sql`session_id in (${sql.join(ids)})`;
    const found = await sql<Row>`select distinct session_id, d5 as model
      from (${sessionSource(filter.from, filter.to, [inPage], [inPage])}) s
      where d5 <> ''`.execute(db);
    for (const r of found.rows) {
      const id = String(r.session_id);
      models.set(id, [...(models.get(id) ?? []), decoded(r.model) as string]);
    }
    for (const list of models.values()) list.sort();
  }
  const items = rows.map((r) => ({
    id: String(r.session_id),
    ...totalsOf(r),
    agent: decoded(r.agent),
    virtualKeyId: decoded(r.key),
    teamId: decoded(r.team),
    customerId: decoded(r.customer),
    developerId: decoded(r.developer),
    models: models.get(String(r.session_id)) ?? [],
  }));
  const last = items.at(-1);
  const nextCursor =
    result.rows.length > filter.limit && last !== undefined ? encodeSessionCursor(last.lastSeen, last.id) : null;
  return { items, nextCursor };
}

export interface SessionRequest {
  id: string;
  startedAt: number;
  provider: string | null;
  requestedModel: string | null;
  servedModel: string | null;
  status: number;
  errorCode: string | null;
  stream: boolean;
  latencyMs: number;
  costNanoUsd: number | null;
  usageEstimated: boolean;
  tokens: { [K in keyof SpendTokens]: number };
  agentId: string | null;
  parentAgentId: string | null;
}

export interface SessionModelUse {
  provider: string | null;
  model: string | null;
  requests: bigint;
  costNanoUsd: bigint;
}

export interface SubagentUse {
  agentId: string;
  parentAgentId: string | null;
  requests: bigint;
  costNanoUsd: bigint;
  firstSeen: number;
  lastSeen: number;
}

export interface SessionDetail {
  id: string;
  agent: string | null;
  agentVersion: string | null;
  virtualKeyId: string | null;
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  totals: SessionTotals;
  wasted: { requests: bigint; costNanoUsd: bigint };
  models: SessionModelUse[];
  subagents: SubagentUse[];
  /** Oldest first, at most `limit`. */
  requests: SessionRequest[];
  requestsTruncated: boolean;
}

/** One session's whole history (all time), or null when no row carries the id. */
export async function getSession(db: Db, id: string, limit: number): Promise<SessionDetail | null> {
  const [totals, wasted, models, subagents, requests] = await Promise.all([
    sql<Row>`select ${TOTALS_SQL}, max(agent) as agent, max(agent_version) as agent_version,
        max(virtual_key_id) as key, max(team_id) as team, max(customer_id) as customer, max(developer_id) as developer
      from request_logs where session_id = ${id}`.execute(db),
    sql<Row>`select cast(count(*) as text) as requests, cast(coalesce(sum(cost_nano_usd), 0) as text) as cost
      from request_logs where session_id = ${id} and ${sql.raw(WASTED_SQL)}`.execute(db),
    sql<Row>`select provider, ${sql.raw(MODEL_SQL)} as model, cast(count(*) as text) as requests,
        cast(coalesce(sum(cost_nano_usd), 0) as text) as cost
      from request_logs where session_id = ${id}
      group by 1, 2`.execute(db),
    sql<Row>`select agent_id, max(parent_agent_id) as parent, cast(count(*) as text) as requests,
        cast(coalesce(sum(cost_nano_usd), 0) as text) as cost, min(started_at) as first_seen, max(started_at) as last_seen
      from request_logs where session_id = ${id} and agent_id is not null
      group by agent_id
      order by min(started_at), agent_id`.execute(db),
    sql<Row>`select id, started_at, provider, requested_model, served_model, status, error_code, stream, latency_ms,
        cost_nano_usd, usage_estimated, input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
        output_tokens, reasoning_tokens, agent_id, parent_agent_id
      from request_logs where session_id = ${id}
      order by started_at, id
      limit ${limit + 1}`.execute(db),
  ]);
  const head = totals.rows[0];
  if (head === undefined || big(head.requests) === 0n) return null;
  const waste = wasted.rows[0] ?? {};
  return {
    id,
    agent: str(head.agent),
    agentVersion: str(head.agent_version),
    virtualKeyId: str(head.key),
    teamId: str(head.team),
    customerId: str(head.customer),
    developerId: str(head.developer),
    totals: totalsOf(head),
    wasted: { requests: big(waste.requests), costNanoUsd: big(waste.cost) },
    models: models.rows
      .map((r) => ({
        provider: str(r.provider),
        model: str(r.model),
        requests: big(r.requests),
        costNanoUsd: big(r.cost),
      }))
      .sort((a, b) =>
        a.costNanoUsd === b.costNanoUsd ? Number(b.requests - a.requests) : a.costNanoUsd > b.costNanoUsd ? -1 : 1,
      ),
    subagents: subagents.rows.map((r) => ({
      agentId: String(r.agent_id),
      parentAgentId: str(r.parent),
      requests: big(r.requests),
      costNanoUsd: big(r.cost),
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
    })),
    requests: requests.rows.slice(0, limit).map((r) => ({
      id: String(r.id),
      startedAt: Number(r.started_at),
      provider: str(r.provider),
      requestedModel: str(r.requested_model),
      servedModel: str(r.served_model),
      status: Number(r.status),
      errorCode: str(r.error_code),
      stream: Boolean(r.stream),
      latencyMs: Number(r.latency_ms),
      costNanoUsd: r.cost_nano_usd === null ? null : Number(r.cost_nano_usd),
      usageEstimated: Boolean(r.usage_estimated),
      tokens: {
        input: Number(r.input_tokens),
        cacheRead: Number(r.cache_read_tokens),
        cacheWrite5m: Number(r.cache_write_5m_tokens),
        cacheWrite1h: Number(r.cache_write_1h_tokens),
        output: Number(r.output_tokens),
        reasoning: Number(r.reasoning_tokens),
      },
      agentId: str(r.agent_id),
      parentAgentId: str(r.parent_agent_id),
    })),
    requestsTruncated: requests.rows.length > limit,
  };
}
