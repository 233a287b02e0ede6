import type { ModelAlias } from "../../routing/aliases.ts";

/**
 * The governance entities as the repository returns them and the management API shows them (camelCase, epoch-ms
 * times, integer nano-dollars). Nothing here carries a secret or a secret's hash.
 */

export type Labels = Record<string, string>;

export interface Customer {
  id: string;
  name: string;
  description: string | null;
  labels: Labels;
  createdAt: number;
  updatedAt: number;
}

export interface Team {
  id: string;
  name: string;
  /** null: a team of its own, outside any customer. */
  customerId: string | null;
  description: string | null;
  labels: Labels;
  /** Model aliases for the team's keys, below each key's own; [] for none. */
  modelAliases: ModelAlias[];
  createdAt: number;
  updatedAt: number;
}

export interface Developer {
  id: string;
  name: string;
  email: string | null;
  teamId: string | null;
  labels: Labels;
  createdAt: number;
  updatedAt: number;
}

/**
 * Whether a client's own credential sent beside the virtual key may be forwarded upstream (the request is still
 * attributed, metered and counted): never, a provider API key, a Claude subscription token, or either.
 */
export const CREDENTIAL_POLICIES = ["deny", "allow-own-provider-key", "allow-subscription", "allow-all"] as const;
export type CredentialPolicy = (typeof CREDENTIAL_POLICIES)[number];

/** Settings of one provider within a key. Its budgets and rate limits are rows with scope `key-provider`. */
export interface ProviderSetting {
  /** Exact names and globs; null: whatever the key's other rules allow. */
  allowedModels: string[] | null;
}

/** Revoked wins over expired, expired over inactive. */
export type KeyStatus = "active" | "inactive" | "expired" | "revoked";

export interface VirtualKey {
  id: string;
  name: string;
  description: string | null;
  /** `sk-tg-abcd…`: enough to recognise a key, useless to use it. */
  displayPrefix: string;
  status: KeyStatus;
  active: boolean;
  expiresAt: number | null;
  revokedAt: number | null;
  /** Until when the secret replaced by the last rotation still works; null when it no longer does. */
  previousSecretValidUntil: number | null;
  teamId: string | null;
  /** Set only for a key that belongs directly to a customer; a team key's customer is its team's. */
  customerId: string | null;
  developerId: string | null;
  /** Exact names and globs (`*`, `?`); null: no restriction. */
  allowedProviders: string[] | null;
  allowedModels: string[] | null;
  providerSettings: Record<string, ProviderSetting>;
  labels: Labels;
  credentialPolicy: CredentialPolicy;
  /** Caps per agent session (runaway agents); null: none. */
  sessionCaps: SessionCaps | null;
  /** Model aliases of this key, above its team's and the config file's; [] for none. */
  modelAliases: ModelAlias[];
  createdAt: number;
  updatedAt: number;
}

/**
 * Caps on one agent session of a key: spend, requests, and a loop guard (the same request body seen `repeats` times
 * within `window` is refused). Stored as JSON on the key.
 */
export interface SessionCaps {
  maxNanoUsd: number | null;
  maxRequests: number | null;
  loopGuard: { repeats: number; window: string } | null;
}

/** What create and rotate return: the only moments the secret exists outside the client. */
export interface KeyWithSecret {
  key: VirtualKey;
  secret: string;
}

export const SCOPE_TYPES = [
  "global",
  "provider",
  "model",
  "customer",
  "team",
  "developer",
  "key",
  "key-provider",
] as const;
export type ScopeType = (typeof SCOPE_TYPES)[number];

/** Scope types whose `scopeId` names an entity. */
export type EntityScopeType = "customer" | "team" | "developer" | "key" | "key-provider";

/**
 * A budget period in canonical spelling (governance/periods.ts): `never`, or a count and a unit such as `1h`, `1d`,
 * `2w`, `1mo`, `1q`, `1y` (`1M` and `1Y` are accepted on input and stored as `1mo` and `1y`).
 */
export type BudgetPeriod = string;

export const BUDGET_MODES = ["calendar", "rolling"] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];

/** Where a budget or rate limit applies. */
export interface Scope {
  scopeType: ScopeType;
  /** The customer, team, developer or key id; null for global, provider and model scopes. */
  scopeId: string | null;
  /** Set for provider and key-provider scopes; optional for model scope. */
  provider: string | null;
  /** Set for model scope: an exact name or a glob. */
  model: string | null;
}

export interface Budget extends Scope {
  id: string;
  name: string | null;
  limitNanoUsd: number;
  period: BudgetPeriod;
  mode: BudgetMode;
  /** IANA zone for calendar alignment. */
  timeZone: string;
  /** Where rolling window 0 starts (set to the creation time when not given); null in calendar mode. */
  anchorAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A rate-limit window in canonical spelling (governance/periods.ts): a count and s, m, h or d, e.g. `1m`, `10s`. */
export type RateWindow = string;

export interface RateLimit extends Scope {
  id: string;
  name: string | null;
  /** Window of `maxRequests` and `maxTokens`; null when the limit is on concurrency only. */
  window: RateWindow | null;
  maxRequests: number | null;
  maxTokens: number | null;
  maxConcurrent: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A page of a list, oldest first; pass `nextCursor` as `after` for the next one. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
