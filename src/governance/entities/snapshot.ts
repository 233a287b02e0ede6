import type { Clock } from "../../clock.ts";
import { systemClock } from "../../clock.ts";
import { type AliasTable, compileAliases, type ModelAlias } from "../../routing/aliases.ts";
import type { Db } from "../../store/schema.ts";
import { compileNameMatcher, type NameMatcher } from "./globs.ts";
import { hashVirtualKeySecret, isWellFormedVirtualKey } from "./key-material.ts";
import {
  budgetFromRow,
  customerFromRow,
  developerFromRow,
  rateLimitFromRow,
  teamFromRow,
  virtualKeyFromRow,
} from "./rows.ts";
import { type GovernanceDb, governanceDb } from "./tables.ts";
import type {
  Budget,
  CredentialPolicy,
  Labels,
  ProviderSetting,
  RateLimit,
  ScopeType,
  SessionCaps,
  VirtualKey,
} from "./types.ts";

/**
 * Everything the data plane needs about keys, budgets and rate limits, loaded in one go and held in memory: a
 * request hashes the presented secret once and finds its key in a Map (O(1) at any number of keys), with owners,
 * allow-lists (globs compiled here, not per request) and the budgets and limits that apply. Reload it after a
 * change (GovernanceRepository's `onChange`) and swap it in whole; a request keeps the snapshot it started with.
 */

export interface EntityRef {
  id: string;
  name: string;
}

/** A budget with the name of the entity it belongs to (null for global, provider and model budgets). */
export interface BudgetSnapshot extends Budget {
  scopeName: string | null;
}

export interface RateLimitSnapshot extends RateLimit {
  scopeName: string | null;
}

/** A key's allow-lists, compiled; null: no restriction at that level. */
export interface KeyAccess {
  providers: NameMatcher | null;
  models: NameMatcher | null;
  /** provider name → its allowed models within this key. */
  modelsByProvider: ReadonlyMap<string, NameMatcher>;
}

export interface VirtualKeySnapshot {
  id: string;
  name: string;
  displayPrefix: string;
  active: boolean;
  expiresAt: number | null;
  revokedAt: number | null;
  team: EntityRef | null;
  /** The key's customer: its team's, or its own for a key held directly by a customer. */
  customer: EntityRef | null;
  developer: (EntityRef & { email: string | null }) | null;
  allowedProviders: readonly string[] | null;
  allowedModels: readonly string[] | null;
  providerSettings: Readonly<Record<string, ProviderSetting>>;
  labels: Readonly<Labels>;
  /** The labels of the key's team and customer (settings carried as labels, e.g. `tollgate.cache`). */
  ownerLabels?: { team: Readonly<Labels>; customer: Readonly<Labels> };
  credentialPolicy: CredentialPolicy;
  sessionCaps: SessionCaps | null;
  access: KeyAccess;
  /** The key's model aliases, then its team's (routing/aliases.ts), compiled; the config file's come after. */
  aliases: AliasTable;
  /**
   * Budgets on the key, on its providers (`key-provider`: apply when `provider` is the request's), its developer,
   * team and customer. Global, provider and model budgets are in `GovernanceSnapshot.unscopedBudgets`.
   */
  budgets: readonly BudgetSnapshot[];
  rateLimits: readonly RateLimitSnapshot[];
  updatedAt: number;
}

/** Where a secret hash leads: the key's current secret, or the one its last rotation replaced. */
export interface KeyHashEntry {
  key: VirtualKeySnapshot;
  previous: boolean;
  /** For a previous secret: accepted while `now < validUntil`. null for the current secret. */
  validUntil: number | null;
}

export interface GovernanceSnapshot {
  loadedAt: number;
  /** Keys in the database, revoked and inactive ones included (anonymous mode ends once any key exists). */
  keysDefined: number;
  byHash: ReadonlyMap<string, KeyHashEntry>;
  byId: ReadonlyMap<string, VirtualKeySnapshot>;
  /** Global, provider and model budgets: they apply with or without a key. */
  unscopedBudgets: readonly BudgetSnapshot[];
  unscopedRateLimits: readonly RateLimitSnapshot[];
  budgetsById: ReadonlyMap<string, BudgetSnapshot>;
}

const UNSCOPED: ReadonlySet<ScopeType> = new Set<ScopeType>(["global", "provider", "model"]);

/** `scope_type:scope_id` → items, for attaching budgets and limits to keys. */
function groupByScope<T extends { scopeType: ScopeType; scopeId: string | null }>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    if (item.scopeId === null) continue;
    // key-provider budgets hang on the key; the provider is checked per request.
    const type = item.scopeType === "key-provider" ? "key" : item.scopeType;
    const k = `${type}:${item.scopeId}`;
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/**
 * Reads every key, owner, budget and rate limit. The reads are separate statements, so a change landing between
 * them shows up half-applied until the next reload; references that do not resolve are left out, never thrown.
 */
export async function loadKeySnapshot(
  database: Db | GovernanceDb,
  options: { clock?: Clock } = {},
): Promise<GovernanceSnapshot> {
  const db = governanceDb(database as Db);
  const now = (options.clock ?? systemClock).now();
  const customerRows = await db.selectFrom("customers").selectAll().execute();
  const teamRows = await db.selectFrom("teams").selectAll().execute();
  const developerRows = await db.selectFrom("developers").selectAll().execute();
  const budgetRows = await db.selectFrom("budgets").selectAll().orderBy("id").execute();
  const limitRows = await db.selectFrom("rate_limits").selectAll().orderBy("id").execute();
  const keyRows = await db.selectFrom("virtual_keys").selectAll().orderBy("id").execute();

  const customers = new Map(customerRows.map((c) => [c.id, { id: c.id, name: c.name }]));
  const customerLabels = new Map(customerRows.map((c) => [c.id, customerFromRow(c).labels]));
  const teams = new Map(teamRows.map((row) => [row.id, teamFromRow(row)]));
  const developers = new Map(developerRows.map((row) => [row.id, developerFromRow(row)]));
  const keyNames = new Map(keyRows.map((k) => [k.id, k.name]));

  const scopeName = (type: ScopeType, id: string | null): string | null => {
    if (id === null) return null;
    switch (type) {
      case "customer":
        return customers.get(id)?.name ?? null;
      case "team":
        return teams.get(id)?.name ?? null;
      case "developer":
        return developers.get(id)?.name ?? null;
      case "key":
      case "key-provider":
        return keyNames.get(id) ?? null;
      default:
        return null;
    }
  };
  const budgets: BudgetSnapshot[] = budgetRows.map((row) => {
    const b = budgetFromRow(row);
    return { ...b, scopeName: scopeName(b.scopeType, b.scopeId) };
  });
  const limits: RateLimitSnapshot[] = limitRows.map((row) => {
    const l = rateLimitFromRow(row);
    return { ...l, scopeName: scopeName(l.scopeType, l.scopeId) };
  });
  const budgetsByScope = groupByScope(budgets);
  const limitsByScope = groupByScope(limits);

  // Many keys share the same allow-lists: compile each distinct list once per load.
  const matchers = new Map<string, NameMatcher>();
  const matcherFor = (list: readonly string[]): NameMatcher => {
    const k = JSON.stringify(list);
    let m = matchers.get(k);
    if (!m) {
      m = compileNameMatcher(list);
      matchers.set(k, m);
    }
    return m;
  };

  // A team's keys share its aliases: one table per distinct (key, team) pair of lists.
  const aliasTables = new Map<string, AliasTable>();
  const aliasTableFor = (own: readonly ModelAlias[], team: readonly ModelAlias[]): AliasTable => {
    const k = JSON.stringify([own, team]);
    let t = aliasTables.get(k);
    if (!t) {
      t = compileAliases([
        ["key", own],
        ["team", team],
      ]);
      aliasTables.set(k, t);
    }
    return t;
  };

  const byHash = new Map<string, KeyHashEntry>();
  const byId = new Map<string, VirtualKeySnapshot>();
  for (const row of keyRows) {
    const key: VirtualKey = virtualKeyFromRow(row, now);
    const team = key.teamId === null ? undefined : teams.get(key.teamId);
    const customerId = team ? team.customerId : key.customerId;
    const customer = customerId === null ? undefined : customers.get(customerId);
    const developer = key.developerId === null ? undefined : developers.get(key.developerId);
    const owners: Array<[ScopeType, string | undefined]> = [
      ["key", key.id],
      ["developer", developer?.id],
      ["team", team?.id],
      ["customer", customer?.id],
    ];
    const modelsByProvider = new Map<string, NameMatcher>();
    for (const [provider, setting] of Object.entries(key.providerSettings)) {
      if (setting.allowedModels !== null) modelsByProvider.set(provider, matcherFor(setting.allowedModels));
    }
    const snapshot: VirtualKeySnapshot = {
      id: key.id,
      name: key.name,
      displayPrefix: key.displayPrefix,
      active: key.active,
      expiresAt: key.expiresAt,
      revokedAt: key.revokedAt,
      team: team ? { id: team.id, name: team.name } : null,
      customer: customer ?? null,
      developer: developer ? { id: developer.id, name: developer.name, email: developer.email } : null,
      allowedProviders: key.allowedProviders,
      allowedModels: key.allowedModels,
      providerSettings: key.providerSettings,
      labels: key.labels,
      ownerLabels: {
        team: team?.labels ?? {},
        customer: (customer && customerLabels.get(customer.id)) ?? {},
      },
      credentialPolicy: key.credentialPolicy,
      sessionCaps: key.sessionCaps,
      access: {
        providers: key.allowedProviders === null ? null : matcherFor(key.allowedProviders),
        models: key.allowedModels === null ? null : matcherFor(key.allowedModels),
        modelsByProvider,
      },
      aliases: aliasTableFor(key.modelAliases, team?.modelAliases ?? []),
      budgets: owners.flatMap(([type, id]) => (id === undefined ? [] : (budgetsByScope.get(`${type}:${id}`) ?? []))),
      rateLimits: owners.flatMap(([type, id]) => (id === undefined ? [] : (limitsByScope.get(`${type}:${id}`) ?? []))),
      updatedAt: key.updatedAt,
    };
    byId.set(key.id, snapshot);
    byHash.set(row.secret_hash, { key: snapshot, previous: false, validUntil: null });
    if (row.previous_secret_hash !== null && row.previous_valid_until !== null) {
      byHash.set(row.previous_secret_hash, {
        key: snapshot,
        previous: true,
        validUntil: Number(row.previous_valid_until),
      });
    }
  }

  return {
    loadedAt: now,
    keysDefined: keyRows.length,
    byHash,
    byId,
    unscopedBudgets: budgets.filter((b) => UNSCOPED.has(b.scopeType)),
    unscopedRateLimits: limits.filter((l) => UNSCOPED.has(l.scopeType)),
    budgetsById: new Map(budgets.map((b) => [b.id, b])),
  };
}

// ---------- per-request checks (pure, in memory) ----------

export type KeyRejection = "malformed" | "unknown" | "revoked" | "rotated" | "expired" | "inactive";

export type KeyAuthResult =
  | { ok: true; key: VirtualKeySnapshot; viaPreviousSecret: boolean }
  | { ok: false; reason: KeyRejection; key: VirtualKeySnapshot | null; message: string };

/**
 * Which key a presented `sk-tg-…` secret is, and whether it may be used at `now`. Reasons map to 401s with a
 * message that says what happened (never echoing the secret).
 */
/**
 * SHA-256 of recently presented secrets: hashing is a few microseconds, a Map hit a few dozen nanoseconds, and an
 * agent presents the same key on every call. Bounded (cleared when full); it holds only secrets this process has
 * already been sent, which it needed in memory anyway.
 */
const recentHashes = new Map<string, string>();
const RECENT_HASHES_MAX = 10_000;

function memoizedHash(secret: string): string {
  let hash = recentHashes.get(secret);
  if (hash === undefined) {
    hash = hashVirtualKeySecret(secret);
    if (recentHashes.size >= RECENT_HASHES_MAX) recentHashes.clear();
    recentHashes.set(secret, hash);
  }
  return hash;
}

export function authenticateVirtualKey(snapshot: GovernanceSnapshot, presented: string, now: number): KeyAuthResult {
  if (!isWellFormedVirtualKey(presented)) {
    return {
      ok: false,
      reason: "malformed",
      key: null,
      message: "The Tollgate key is malformed: expected sk-tg- followed by 43 characters.",
    };
  }
  const entry = snapshot.byHash.get(memoizedHash(presented));
  if (!entry) return { ok: false, reason: "unknown", key: null, message: "Unknown Tollgate key." };
  const key = entry.key;
  if (key.revokedAt !== null)
    return { ok: false, reason: "revoked", key, message: `${named(key)} was revoked at ${iso(key.revokedAt)}.` };
  if (entry.previous && entry.validUntil !== null && now >= entry.validUntil) {
    return {
      ok: false,
      reason: "rotated",
      key,
      message: `${named(key)} was rotated; the old secret stopped working at ${iso(entry.validUntil)}. Use the new one.`,
    };
  }
  if (key.expiresAt !== null && now >= key.expiresAt)
    return { ok: false, reason: "expired", key, message: `${named(key)} expired at ${iso(key.expiresAt)}.` };
  if (!key.active) return { ok: false, reason: "inactive", key, message: `${named(key)} is disabled.` };
  return { ok: true, key, viaPreviousSecret: entry.previous };
}

/** How a refusal names the key (built only for refusals, not on every request). */
function named(key: VirtualKeySnapshot): string {
  return `Tollgate key "${key.name}" (${key.displayPrefix})`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export type AccessDecision = { ok: true } | { ok: false; reason: "provider" | "model"; message: string };

/** A model pattern matches the bare model name or `provider/model`. */
function modelMatches(matcher: NameMatcher, provider: string, model: string): boolean {
  return matcher.matches(model) || matcher.matches(`${provider}/${model}`);
}

/**
 * Whether the key may call `model` on `provider`: every list that is set must allow it — the key's providers, the
 * key's models, and the provider's own models within the key.
 */
export function checkKeyAccess(key: VirtualKeySnapshot, provider: string, model: string): AccessDecision {
  const { access } = key;
  if (access.providers !== null && !access.providers.matches(provider)) {
    return {
      ok: false,
      reason: "provider",
      message: `Tollgate key "${key.name}" may not use provider "${provider}" (allowed: ${key.allowedProviders?.join(", ")}).`,
    };
  }
  if (access.models !== null && !modelMatches(access.models, provider, model)) {
    return {
      ok: false,
      reason: "model",
      message: `Tollgate key "${key.name}" may not use model "${model}" (allowed: ${key.allowedModels?.join(", ")}).`,
    };
  }
  const perProvider = access.modelsByProvider.get(provider);
  if (perProvider !== undefined && !modelMatches(perProvider, provider, model)) {
    const allowed = key.providerSettings[provider]?.allowedModels?.join(", ");
    return {
      ok: false,
      reason: "model",
      message: `Tollgate key "${key.name}" may not use model "${model}" on provider "${provider}" (allowed: ${allowed}).`,
    };
  }
  return { ok: true };
}
