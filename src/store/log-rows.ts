import type { Insertable, Selectable } from "kysely";
import type { Dialect } from "../dialects/dialect.ts";
import type { RequestLogRecord } from "./log-record.ts";
import type { RequestLogLabelsTable, RequestLogsTable } from "./schema.ts";

/** RequestLogRecord ⇄ request_logs row. Kept next to nothing else so the column list lives in one place. */
export function toLogRow(record: RequestLogRecord): Insertable<RequestLogsTable> {
  return {
    id: record.id,
    started_at: record.startedAt,
    dialect: record.dialect,
    endpoint: record.endpoint,
    stream: record.stream,
    provider: record.provider,
    provider_key_id: record.providerKeyId,
    requested_model: record.requestedModel,
    served_model: record.servedModel,
    status: record.status,
    error_code: record.errorCode,
    error_message: record.errorMessage,
    latency_ms: record.latencyMs,
    ttft_ms: record.ttftMs,
    input_tokens: record.inputTokens,
    cache_read_tokens: record.cacheReadTokens,
    cache_write_5m_tokens: record.cacheWrite5mTokens,
    cache_write_1h_tokens: record.cacheWrite1hTokens,
    output_tokens: record.outputTokens,
    reasoning_tokens: record.reasoningTokens,
    cost_nano_usd: record.costNanoUsd,
    price_version: record.priceVersion,
    usage_estimated: record.usageEstimated,
    session_id: record.sessionId,
    agent: record.agent,
    agent_version: record.agentVersion,
    agent_id: record.agentId,
    parent_agent_id: record.parentAgentId,
    turn_id: record.turnId,
    workspace: record.workspace,
    labels: JSON.stringify(record.labels ?? {}),
    client_ip: record.clientIp,
    user_agent: record.userAgent,
    virtual_key_id: record.virtualKeyId,
  };
}

export function toLabelRows(record: RequestLogRecord): RequestLogLabelsTable[] {
  const rows: RequestLogLabelsTable[] = [];
  for (const [name, value] of Object.entries(record.labels ?? {})) rows.push({ log_id: record.id, name, value });
  return rows;
}

function parseLabels(text: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return {};
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed)) if (typeof value === "string") labels[name] = value;
    return labels;
  } catch {
    return {};
  }
}

export function fromLogRow(row: Selectable<RequestLogsTable>): RequestLogRecord {
  return {
    id: row.id,
    startedAt: Number(row.started_at),
    dialect: row.dialect as Dialect,
    endpoint: row.endpoint,
    stream: Boolean(row.stream),
    provider: row.provider,
    providerKeyId: row.provider_key_id,
    requestedModel: row.requested_model,
    servedModel: row.served_model,
    status: Number(row.status),
    errorCode: row.error_code,
    errorMessage: row.error_message,
    latencyMs: Number(row.latency_ms),
    ttftMs: row.ttft_ms === null ? null : Number(row.ttft_ms),
    inputTokens: Number(row.input_tokens),
    cacheReadTokens: Number(row.cache_read_tokens),
    cacheWrite5mTokens: Number(row.cache_write_5m_tokens),
    cacheWrite1hTokens: Number(row.cache_write_1h_tokens),
    outputTokens: Number(row.output_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    costNanoUsd: row.cost_nano_usd === null ? null : Number(row.cost_nano_usd),
    priceVersion: row.price_version,
    usageEstimated: Boolean(row.usage_estimated),
    sessionId: row.session_id,
    agent: row.agent,
    agentVersion: row.agent_version,
    agentId: row.agent_id,
    parentAgentId: row.parent_agent_id,
    turnId: row.turn_id,
    workspace: row.workspace,
    labels: parseLabels(row.labels),
    clientIp: row.client_ip,
    userAgent: row.user_agent,
    virtualKeyId: row.virtual_key_id,
  };
}

/** A light shape check for records read back from spill files (written by us, but possibly truncated). */
export function looksLikeLogRecord(value: unknown): value is RequestLogRecord {
  if (value === null || typeof value !== "object") return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.id === "string" &&
    typeof r.startedAt === "number" &&
    typeof r.dialect === "string" &&
    typeof r.endpoint === "string" &&
    typeof r.stream === "boolean" &&
    typeof r.status === "number" &&
    typeof r.latencyMs === "number" &&
    typeof r.usageEstimated === "boolean" &&
    r.labels !== null &&
    typeof r.labels === "object"
  );
}
