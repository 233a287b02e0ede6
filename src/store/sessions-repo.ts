import { type RawBuilder, sql } from "kysely";
import { InvalidCursorError } from "./cursor.ts";
import type { Db } from "./schema.ts";
import { MODEL_SQL, type SpendTokens } from "./spend-repo.ts";

/**
 * Coding-agent sessions (`GET /api/sessions`, `/api/sessions/:id`) from the raw request log: rows grouped by
 * `session_id`. Sums travel as text and become bigints (exact money at any size).
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

/** Sessions most recently active first, keyset-paginated on (last seen, id). */
export async function listSessions(
  db: Db,
  filter: SessionListFilter,
): Promise<{ items: SessionSummary[]; nextCursor: string | null }> {
  const where: RawBuilder<unknown>[] = [
    sql`session_id is not null`,
    sql`started_at >= ${filter.from}`,
    sql`started_at < ${filter.to}`,
  ];
  const columns = {
    agent: "agent",
    key: "virtual_key_id",
    team: "team_id",
    customer: "customer_id",
    developer: "developer_id",
  } as const;
  for (const [name, column] of Object.entries(columns) as [keyof typeof columns, string][]) {
    const value = filter[name];
    if (value !== undefined) where.push(sql`${sql.ref(column)} = ${value}`);
  }
  const cursor = filter.cursor === undefined || filter.cursor === "" ? undefined : decodeSessionCursor(filter.cursor);
  const having =
    cursor === undefined
      ? sql``
      : sql`having max(started_at) < ${cursor.lastSeen} or (max(started_at) = ${cursor.lastSeen} and session_id < ${cursor.id})`;
  const result = await sql<Row>`select session_id, ${TOTALS_SQL},
      max(agent) as agent, max(virtual_key_id) as key, max(team_id) as team, max(customer_id) as customer,
      max(developer_id) as developer
    from request_logs
    where ${sql.join(where, sql` and `)}
    group by session_id
    ${having}
    order by max(started_at) desc, session_id desc
    limit ${filter.limit + 1}`.execute(db);
  const rows = result.rows.slice(0, filter.limit);
  const ids = rows.map((r) => String(r.session_id));
  const models = new Map<string, string[]>();
  if (ids.length > 0) {
    const found = await sql<Row>`select session_id, ${sql.raw(MODEL_SQL)} as model
      from request_logs
      where session_id in (${sql.join(ids)}) and started_at >= ${filter.from} and started_at < ${filter.to}
        and ${sql.raw(MODEL_SQL)} is not null
      group by 1, 2
      order by 1, 2`.execute(db);
    for (const r of found.rows) {
      const id = String(r.session_id);
      models.set(id, [...(models.get(id) ?? []), String(r.model)]);
    }
  }
  const items = rows.map((r) => ({
    id: String(r.session_id),
    ...totalsOf(r),
    agent: str(r.agent),
    virtualKeyId: str(r.key),
    teamId: str(r.team),
    customerId: str(r.customer),
    developerId: str(r.developer),
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
