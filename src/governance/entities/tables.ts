import type { Kysely, SqlBool } from "kysely";
import type { Db, TollgateTables } from "../../store/schema.ts";

/**
 * Table types of migration 0002 (governance). Kept here, beside their repository, rather than in store/schema.ts:
 * `governanceDb(db)` widens the shared handle with them. Same conventions as store/schema.ts: snake_case columns,
 * epoch-millisecond times, integer nano-dollars, JSON as text, booleans `true/false` (PostgreSQL) or `1/0` (SQLite).
 */

export interface CustomersTable {
  id: string;
  name: string;
  description: string | null;
  /** JSON object text, `{"name":"value"}`. */
  labels: string;
  created_at: number;
  updated_at: number;
}

export interface TeamsTable {
  id: string;
  name: string;
  customer_id: string | null;
  description: string | null;
  labels: string;
  /** JSON array of { match, to } (migration 0008); null: none. */
  model_aliases: string | null;
  created_at: number;
  updated_at: number;
}

export interface DevelopersTable {
  id: string;
  name: string;
  /** Lowercased; unique when present. */
  email: string | null;
  team_id: string | null;
  labels: string;
  created_at: number;
  updated_at: number;
}

export interface VirtualKeysTable {
  id: string;
  name: string;
  description: string | null;
  /** Hex SHA-256 of the whole secret (`sk-tg-…`); unique. The secret itself is never stored. */
  secret_hash: string;
  /** `sk-tg-` and the first characters of the random part, for display. */
  secret_prefix: string;
  /** After a rotation: the old secret's hash, accepted until `previous_valid_until`. */
  previous_secret_hash: string | null;
  previous_valid_until: number | null;
  active: SqlBool;
  expires_at: number | null;
  revoked_at: number | null;
  team_id: string | null;
  /** Only for keys that belong directly to a customer; a team key's customer is its team's. */
  customer_id: string | null;
  developer_id: string | null;
  /** JSON array text (exact names and globs); null: no restriction. */
  allowed_providers: string | null;
  allowed_models: string | null;
  /** JSON object text: provider name → { allowedModels }. */
  provider_settings: string;
  labels: string;
  credential_policy: string;
  /** JSON SessionCaps, or null. */
  session_caps: string | null;
  /** JSON array of { match, to } (migration 0008); null: none. */
  model_aliases: string | null;
  created_at: number;
  updated_at: number;
}

export interface BudgetsTable {
  id: string;
  name: string | null;
  scope_type: string;
  scope_id: string | null;
  provider: string | null;
  model: string | null;
  limit_nano_usd: number;
  period: string;
  mode: string;
  time_zone: string;
  anchor_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Settled spend per budget window; written by the counters, never by config reconciliation. */
export interface BudgetSpendTable {
  budget_id: string;
  /** Epoch ms where the window starts (0 for `never`). */
  window_start: number;
  spent_nano_usd: number;
  updated_at: number;
}

export interface RateLimitsTable {
  id: string;
  name: string | null;
  scope_type: string;
  scope_id: string | null;
  provider: string | null;
  model: string | null;
  /** `1s` | `1m` | `1h` | `1d`; null when the row only limits concurrency. */
  window: string | null;
  max_requests: number | null;
  max_tokens: number | null;
  max_concurrent: number | null;
  created_at: number;
  updated_at: number;
}

// A type alias, not an interface: `withTables` wants an index-signature-compatible record.
export type GovernanceTables = {
  customers: CustomersTable;
  teams: TeamsTable;
  developers: DevelopersTable;
  virtual_keys: VirtualKeysTable;
  budgets: BudgetsTable;
  budget_spend: BudgetSpendTable;
  rate_limits: RateLimitsTable;
};

export type GovernanceDb = Kysely<TollgateTables & GovernanceTables>;

/** The shared query handle, typed with the governance tables too (a light wrapper over the same pool or worker). */
export function governanceDb(db: Db): GovernanceDb {
  return db.withTables<GovernanceTables>();
}
