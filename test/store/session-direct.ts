import { sql } from "kysely";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import type { Db } from "../../src/store/schema.ts";
import { BASE_TIME, makeRecord } from "./records.ts";

const DAY = 86_400_000;

/** One listed session, every number as text (comparable across the store's bigints and the API's JSON). */
export interface DirectSession {
  id: string;
  requests: string;
  unpricedRequests: string;
  costNanoUsd: string;
  tokens: string[];
  firstSeen: string;
  lastSeen: string;
  agent: string | null;
  virtualKeyId: string | null;
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  models: string[];
}

export interface DirectFilter {
  from: number;
  to: number;
  agent?: string;
  key?: string;
  team?: string;
  customer?: string;
  developer?: string;
}

type Row = Record<string, unknown>;
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * The sessions list computed straight from the raw log (what `GET /api/sessions` did before its rollup): every
 * session active in [from, to) matching the filters, most recent first; models over all its rows in the range.
 */
export async function directSessions(db: Db, f: DirectFilter): Promise<DirectSession[]> {
  const where = [sql`session_id is not null`, sql`started_at >= ${f.from}`, sql`started_at < ${f.to}`];
  const columns = {
    agent: "agent",
    key: "virtual_key_id",
    team: "team_id",
    customer: "customer_id",
    developer: "developer_id",
  };
  for (const [name, column] of Object.entries(columns)) {
    const value = f[name as keyof typeof columns];
    if (value !== undefined) where.push(sql`${sql.ref(column)} = ${value}`);
  }
  const rows = await sql<Row>`select session_id, cast(count(*) as text) as requests,
      cast(sum(case when cost_nano_usd is null and (input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens) > 0 then 1 else 0 end) as text) as unpriced,
      cast(coalesce(sum(cost_nano_usd), 0) as text) as cost,
      cast(sum(input_tokens) as text) as t0, cast(sum(cache_read_tokens) as text) as t1,
      cast(sum(cache_write_5m_tokens) as text) as t2, cast(sum(cache_write_1h_tokens) as text) as t3,
      cast(sum(output_tokens) as text) as t4, cast(sum(reasoning_tokens) as text) as t5,
      cast(min(started_at) as text) as first_seen, cast(max(started_at) as text) as last_seen,
      max(agent) as agent, max(virtual_key_id) as k, max(team_id) as team, max(customer_id) as customer,
      max(developer_id) as developer
    from request_logs where ${sql.join(where, sql` and `)}
    group by session_id
    order by max(started_at) desc, session_id desc`.execute(db);
  const models = await sql<Row>`select distinct session_id, coalesce(served_model, requested_model) as model
    from request_logs
    where session_id is not null and started_at >= ${f.from} and started_at < ${f.to}
      and coalesce(served_model, requested_model) is not null`.execute(db);
  const bySession = new Map<string, string[]>();
  for (const r of models.rows) {
    const id = String(r.session_id);
    bySession.set(id, [...(bySession.get(id) ?? []), String(r.model)]);
  }
  return rows.rows.map((r) => ({
    id: String(r.session_id),
    requests: String(r.requests),
    unpricedRequests: String(r.unpriced),
    costNanoUsd: String(r.cost),
    tokens: [r.t0, r.t1, r.t2, r.t3, r.t4, r.t5].map(String),
    firstSeen: String(r.first_seen),
    lastSeen: String(r.last_seen),
    agent: text(r.agent),
    virtualKeyId: text(r.k),
    teamId: text(r.team),
    customerId: text(r.customer),
    developerId: text(r.developer),
    models: (bySession.get(String(r.session_id)) ?? []).sort(),
  }));
}

/** A listed session (store bigints or API JSON numbers) in the same text shape. */
export function asDirect(s: {
  id: string;
  requests: unknown;
  unpricedRequests: unknown;
  costNanoUsd: unknown;
  tokens: {
    input: unknown;
    cacheRead: unknown;
    cacheWrite5m: unknown;
    cacheWrite1h: unknown;
    output: unknown;
    reasoning: unknown;
  };
  firstSeen: unknown;
  lastSeen: unknown;
  agent: string | null;
  virtualKeyId: string | null;
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  models: string[];
}): DirectSession {
  const t = s.tokens;
  return {
    id: s.id,
    requests: String(s.requests),
    unpricedRequests: String(s.unpricedRequests),
    costNanoUsd: String(s.costNanoUsd),
    tokens: [t.input, t.cacheRead, t.cacheWrite5m, t.cacheWrite1h, t.output, t.reasoning].map(String),
    firstSeen: String(s.firstSeen),
    lastSeen: String(s.lastSeen),
    agent: s.agent,
    virtualKeyId: s.virtualKeyId,
    teamId: s.teamId,
    customerId: s.customerId,
    developerId: s.developerId,
    models: s.models,
  };
}

/**
 * `count` rows over three days: 16 sessions (and rows without one), varied models, agents, keys, teams, prices.
 * Rows come in threes with the same dimensions minutes apart (i % 3: 0, +10 min, −10 min), so batches split by
 * i % 3 upsert onto each other's rollup rows.
 */
export function sessionRecords(count = 600, base = BASE_TIME): RequestLogRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const d = Math.floor(i / 3);
    const offset = [0, 600_000, -600_000][i % 3] as number;
    return makeRecord({
      startedAt: base + 600_000 + ((d * 7_919_993) % (3 * DAY - 1_200_000)) + offset,
      sessionId: d % 13 === 0 ? null : `sess-${(d % 16).toString().padStart(2, "0")}`,
      requestedModel: d % 31 === 0 ? null : `m-${d % 3}`,
      servedModel: d % 4 === 0 || d % 31 === 0 ? null : `m-${d % 3}-dated`,
      agent: d % 6 === 0 ? null : d % 2 === 0 ? "claude-code" : "codex",
      virtualKeyId: d % 9 === 0 ? null : `k-${d % 4}`,
      teamId: `t-${d % 3}`,
      customerId: `c-${d % 2}`,
      developerId: d % 11 === 0 ? null : `d-${d % 5}`,
      costNanoUsd: i % 10 === 0 ? null : 1_000_000 + i * 37,
      inputTokens: i % 17 === 0 ? 0 : 100 + i,
      outputTokens: i % 17 === 0 ? 0 : 10 + (i % 50),
      cacheReadTokens: (i % 5) * 1000,
      cacheWrite5mTokens: i % 7 === 0 ? 300 : 0,
      cacheWrite1hTokens: i % 8 === 0 ? 200 : 0,
      reasoningTokens: i % 3 === 0 ? 40 : 0,
    });
  });
}
