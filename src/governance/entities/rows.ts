import type { Selectable } from "kysely";
import type { ModelAlias } from "../../routing/aliases.ts";
import { tryParsePeriod, tryParseRateWindow } from "../periods.ts";
import type {
  BudgetsTable,
  CustomersTable,
  DevelopersTable,
  RateLimitsTable,
  TeamsTable,
  VirtualKeysTable,
} from "./tables.ts";
import {
  BUDGET_MODES,
  type Budget,
  type BudgetMode,
  type BudgetPeriod,
  CREDENTIAL_POLICIES,
  type CredentialPolicy,
  type Customer,
  type Developer,
  type KeyStatus,
  type Labels,
  type ProviderSetting,
  type RateLimit,
  SCOPE_TYPES,
  type ScopeType,
  type SessionCaps,
  type Team,
  type VirtualKey,
} from "./types.ts";

/** Rows → entities. A damaged row (bad JSON, unknown enum) throws an error naming the table, row and column. */

function damaged(table: string, id: string, column: string): Error {
  return new Error(`${table} row ${id} has an unreadable ${column}`);
}

function parseJson(text: string, table: string, id: string, column: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw damaged(table, id, column);
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

function labelsOf(text: string, table: string, id: string): Labels {
  const value = parseJson(text, table, id, "labels");
  if (!isStringRecord(value)) throw damaged(table, id, "labels");
  return value;
}

function stringListOf(text: string | null, table: string, id: string, column: string): string[] | null {
  if (text === null) return null;
  const value = parseJson(text, table, id, column);
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw damaged(table, id, column);
  return value;
}

function oneOf<T extends string>(allowed: readonly T[], value: string, table: string, id: string, column: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw damaged(table, id, column);
  return value as T;
}

/** bigint columns read back as numbers (see store/postgres.ts); null stays null. */
function num(value: number | string): number {
  return Number(value);
}
function numOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

export function customerFromRow(row: Selectable<CustomersTable>): Customer {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    labels: labelsOf(row.labels, "customers", row.id),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function teamFromRow(row: Selectable<TeamsTable>): Team {
  return {
    id: row.id,
    name: row.name,
    customerId: row.customer_id,
    description: row.description,
    labels: labelsOf(row.labels, "teams", row.id),
    modelAliases: modelAliasesOf(row.model_aliases ?? null, "teams", row.id),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function developerFromRow(row: Selectable<DevelopersTable>): Developer {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    teamId: row.team_id,
    labels: labelsOf(row.labels, "developers", row.id),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function providerSettingsOf(text: string, id: string): Record<string, ProviderSetting> {
  const value = parseJson(text, "virtual_keys", id, "provider_settings");
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw damaged("virtual_keys", id, "provider_settings");
  const out: Record<string, ProviderSetting> = {};
  for (const [provider, setting] of Object.entries(value)) {
    if (typeof setting !== "object" || setting === null) throw damaged("virtual_keys", id, "provider_settings");
    const models: unknown = (setting as { allowedModels?: unknown }).allowedModels ?? null;
    if (models !== null && (!Array.isArray(models) || !models.every((m) => typeof m === "string")))
      throw damaged("virtual_keys", id, "provider_settings");
    out[provider] = { allowedModels: models };
  }
  return out;
}

export function keyStatus(
  row: Pick<Selectable<VirtualKeysTable>, "active" | "expires_at" | "revoked_at">,
  now: number,
): KeyStatus {
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at !== null && num(row.expires_at) <= now) return "expired";
  if (!row.active) return "inactive";
  return "active";
}

export function virtualKeyFromRow(row: Selectable<VirtualKeysTable>, now: number): VirtualKey {
  const previousUntil = numOrNull(row.previous_valid_until);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    displayPrefix: `${row.secret_prefix}…`,
    status: keyStatus(row, now),
    active: Boolean(row.active),
    expiresAt: numOrNull(row.expires_at),
    revokedAt: numOrNull(row.revoked_at),
    previousSecretValidUntil:
      row.previous_secret_hash !== null && previousUntil !== null && previousUntil > now && row.revoked_at === null
        ? previousUntil
        : null,
    teamId: row.team_id,
    customerId: row.customer_id,
    developerId: row.developer_id,
    allowedProviders: stringListOf(row.allowed_providers, "virtual_keys", row.id, "allowed_providers"),
    allowedModels: stringListOf(row.allowed_models, "virtual_keys", row.id, "allowed_models"),
    providerSettings: providerSettingsOf(row.provider_settings, row.id),
    labels: labelsOf(row.labels, "virtual_keys", row.id),
    credentialPolicy: oneOf<CredentialPolicy>(
      CREDENTIAL_POLICIES,
      row.credential_policy,
      "virtual_keys",
      row.id,
      "credential_policy",
    ),
    sessionCaps: sessionCapsOf(row.session_caps ?? null),
    modelAliases: modelAliasesOf(row.model_aliases ?? null, "virtual_keys", row.id),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

function canonicalPeriod(text: string, id: string): BudgetPeriod {
  const parsed = tryParsePeriod(text);
  if (!parsed.ok) throw damaged("budgets", id, "period");
  return parsed.period.text;
}

function canonicalWindow(text: string, id: string): string {
  const parsed = tryParseRateWindow(text);
  if (!parsed.ok) throw damaged("rate_limits", id, "window");
  return parsed.window.text;
}

export function budgetFromRow(row: Selectable<BudgetsTable>): Budget {
  return {
    id: row.id,
    name: row.name,
    scopeType: oneOf<ScopeType>(SCOPE_TYPES, row.scope_type, "budgets", row.id, "scope_type"),
    scopeId: row.scope_id,
    provider: row.provider,
    model: row.model,
    limitNanoUsd: num(row.limit_nano_usd),
    period: canonicalPeriod(row.period, row.id),
    mode: oneOf<BudgetMode>(BUDGET_MODES, row.mode, "budgets", row.id, "mode"),
    timeZone: row.time_zone,
    anchorAt: numOrNull(row.anchor_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function rateLimitFromRow(row: Selectable<RateLimitsTable>): RateLimit {
  return {
    id: row.id,
    name: row.name,
    scopeType: oneOf<ScopeType>(SCOPE_TYPES, row.scope_type, "rate_limits", row.id, "scope_type"),
    scopeId: row.scope_id,
    provider: row.provider,
    model: row.model,
    window: row.window === null ? null : canonicalWindow(row.window, row.id),
    maxRequests: numOrNull(row.max_requests),
    maxTokens: numOrNull(row.max_tokens),
    maxConcurrent: numOrNull(row.max_concurrent),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

/** Stored model aliases; null (rows from before migration 0008, or none) is an empty list. */
function modelAliasesOf(text: string | null, table: string, id: string): ModelAlias[] {
  if (text === null) return [];
  const value = parseJson(text, table, id, "model_aliases");
  if (
    !Array.isArray(value) ||
    !value.every((a) => isStringRecord(a) && typeof a.match === "string" && typeof a.to === "string")
  )
    throw damaged(table, id, "model_aliases");
  return value.map((a: Record<string, string>) => ({ match: a.match ?? "", to: a.to ?? "" }));
}

/** JSON text for the model_aliases column: null when there are none (so an unchanged row compares equal). */
export function aliasesText(list: readonly ModelAlias[] | undefined): string | null {
  return list === undefined || list.length === 0 ? null : JSON.stringify(list.map(({ match, to }) => ({ match, to })));
}

/** JSON text for a nullable list column. */
export function listText(list: readonly string[] | null): string | null {
  return list === null ? null : JSON.stringify(list);
}

/** Stored session caps (written by this code from validated input); anything unreadable means no caps. */
function sessionCapsOf(text: string | null): SessionCaps | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Partial<SessionCaps>;
    return {
      maxNanoUsd: typeof v.maxNanoUsd === "number" ? v.maxNanoUsd : null,
      maxRequests: typeof v.maxRequests === "number" ? v.maxRequests : null,
      loopGuard:
        v.loopGuard && typeof v.loopGuard.repeats === "number" && typeof v.loopGuard.window === "string"
          ? { repeats: v.loopGuard.repeats, window: v.loopGuard.window }
          : null,
    };
  } catch {
    return null;
  }
}
