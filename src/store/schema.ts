import type { Kysely, SqlBool } from "kysely";

/**
 * Table types for the typed query layer. Column names are snake_case; times are integer epoch milliseconds,
 * money is integer nano-dollars. JSON columns hold text (the same on SQLite and PostgreSQL).
 * Booleans read back as `true/false` on PostgreSQL and `1/0` on SQLite (`SqlBool`): convert with `Boolean()`.
 */
export interface RequestLogsTable {
  id: string;
  started_at: number;
  dialect: string;
  endpoint: string;
  stream: SqlBool;
  provider: string | null;
  provider_key_id: string | null;
  requested_model: string | null;
  served_model: string | null;
  status: number;
  error_code: string | null;
  error_message: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  input_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_nano_usd: number | null;
  price_version: string | null;
  usage_estimated: SqlBool;
  session_id: string | null;
  agent: string | null;
  agent_version: string | null;
  agent_id: string | null;
  parent_agent_id: string | null;
  turn_id: string | null;
  workspace: string | null;
  /** JSON object text, `{"name":"value"}`. */
  labels: string;
  client_ip: string | null;
  user_agent: string | null;
  virtual_key_id: string | null;
  team_id: string | null;
  customer_id: string | null;
  developer_id: string | null;
  /** The provider's dialect when the request was translated; null for passthrough. */
  upstream_dialect: string | null;
  /** JSON array text of translation warnings; null when there were none. */
  warnings: string | null;
  /** Name of the routing rule that chose the target; null when none matched. */
  routing_rule: string | null;
  /** JSON array text of the upstream attempts (UpstreamAttempt); null for a single plain attempt. */
  attempts: string | null;
  /** `exact` | `semantic` for a response-cache hit; null otherwise. */
  cache_hit: string | null;
  /** What a cache hit saved (the original request's cost), nano-dollars; null when not a hit or unpriced. */
  cache_saved_nano_usd: number | string | null;
}

/** One row per (log, label): lets both backends filter labels with plain indexed SQL. */
export interface RequestLogLabelsTable {
  log_id: string;
  name: string;
  value: string;
}

export interface ProvidersTable {
  name: string;
  kind: string;
  base_url: string | null;
  /** JSON object text. */
  settings: string;
  created_at: number;
  updated_at: number;
}

export interface ProviderKeysTable {
  id: string;
  provider: string;
  label: string | null;
  /** Ciphertext only; the plaintext secret never reaches the database. */
  secret_encrypted: string;
  /** Short non-secret fingerprint for display (e.g. last characters or a hash prefix). */
  fingerprint: string;
  created_at: number;
  disabled: SqlBool;
  /** Share of the provider's traffic relative to its other keys; null: 1. */
  weight: number | null;
  /** JSON array of model names or globs the key serves; null: every model. */
  models: string | null;
}

export interface PriceOverridesTable {
  id: string;
  provider: string | null;
  model: string;
  /** JSON object text with the overriding prices. */
  data: string;
  created_at: number;
  updated_at: number;
}

export interface SettingsTable {
  key: string;
  /** JSON text. */
  value: string;
  updated_at: number;
}

/** Routing rules (migration 0013; routing/rules/repo.ts). Epoch ms; `enabled` 0/1; targets and fallbacks JSON. */
export interface RoutingRulesTable {
  id: string;
  name: string;
  description: string | null;
  scope_type: string;
  scope_id: string | null;
  priority: number;
  enabled: number;
  expression: string;
  targets: string;
  fallbacks: string;
  source: string;
  created_at: number | string;
  updated_at: number | string;
}

export interface TollgateTables {
  request_logs: RequestLogsTable;
  request_log_labels: RequestLogLabelsTable;
  providers: ProvidersTable;
  provider_keys: ProviderKeysTable;
  price_overrides: PriceOverridesTable;
  settings: SettingsTable;
  routing_rules: RoutingRulesTable;
}

/** The typed query handle every repository takes (a `Transaction` is one too). */
export type Db = Kysely<TollgateTables>;
