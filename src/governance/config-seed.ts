import { PostgresAdapter, type Selectable, sql, type Transaction } from "kysely";
import type { Clock } from "../clock.ts";
import { ConfigError } from "../config/load.ts";
import type { ConfigGovernance } from "../config/schema.ts";
import type { Db, TollgateTables } from "../store/schema.ts";
import { newId, type RepoContext } from "./entities/context.ts";
import { GovernanceError } from "./entities/errors.ts";
import {
  budgetTerms,
  deleteBudgetRows,
  deleteRateLimitRows,
  insertBudget,
  insertRateLimit,
  rateTerms,
} from "./entities/limits-repo.ts";
import { aliasesText, listText } from "./entities/rows.ts";
import { type BudgetsTable, type GovernanceTables, governanceDb, type RateLimitsTable } from "./entities/tables.ts";
import type { Scope } from "./entities/types.ts";

/**
 * Entities declared in the config file's `governance` section → the database, at startup, before the data plane
 * first reads them. Rules:
 * - Identity is the name (customers, teams, developers, keys) or the scope plus period and mode (budgets) / scope
 *   plus window (rate limits): the same twin rules as the management API. A renamed key keeps its id when its
 *   secret stays, a renamed developer when the email stays; any other rename is a removal plus a creation.
 * - Rows the file created carry `managed_by = 'config'` (migration 0006). Only those are ever updated or removed;
 *   a declared entity that collides with one created through the API is a config error, never a takeover.
 * - A changed entity is updated in place (same id: spend in the request log and the counters, keyed by id, stays
 *   with it); an unchanged one is not written at all, so a restart with the same file writes nothing.
 * - Removed from the file: a key is deactivated (its secret stops working; it comes back, same id, when declared
 *   again); budgets and rate limits are deleted; customers, teams and developers are deleted once nothing refers
 *   to them, else kept with a warning.
 * - request_logs and the counters are never touched.
 * Everything runs in one transaction: a config error leaves the database as it was.
 */

export const CONFIG_MANAGER = "config";

export interface ReconcileResult {
  /** `kind "name" (id)` of each entity written, by what happened to it. */
  created: string[];
  updated: string[];
  deactivated: string[];
  deleted: string[];
  /** For the operator: entities kept although the file dropped them, keys revoked through the API. */
  warnings: string[];
}

type Managed = { managed_by: string | null };
type ManagedTables = {
  customers: Managed;
  teams: Managed;
  developers: Managed;
  virtual_keys: Managed;
  budgets: Managed;
  rate_limits: Managed;
};
type SeedTrx = Transaction<TollgateTables & GovernanceTables & ManagedTables>;

/** Arbitrary constant: one reconciliation at a time across gateway processes sharing a PostgreSQL database. */
const PG_LOCK_KEY = 7_415_022_611;

export async function reconcileConfigEntities(
  db: Db,
  declared: ConfigGovernance,
  clock: Clock,
): Promise<ReconcileResult> {
  return governanceDb(db)
    .transaction()
    .execute(async (trx) => {
      if (trx.getExecutor().adapter instanceof PostgresAdapter)
        await sql`select pg_advisory_xact_lock(${PG_LOCK_KEY})`.execute(trx);
      return new Reconciler(trx.withTables<ManagedTables>(), { db: trx, clock }).run(declared);
    });
}

/** Where in the file, for messages: `governance.teams.1 (team "Payments")`. */
function at(list: string, index: number, kind: string, name: string): string {
  return `governance.${list}.${index} (${kind} "${name}")`;
}

function refused(where: string, message: string): ConfigError {
  return new ConfigError(`Config file: ${where}: ${message}`);
}

function describe(kind: string, name: string, id: string): string {
  return `${kind} "${name}" (${id})`;
}

const JSON_COLUMNS = new Set([
  "labels",
  "provider_settings",
  "allowed_providers",
  "allowed_models",
  "session_caps",
  "model_aliases",
]);

/** JSON text with object keys sorted, so stored and declared values compare by content. */
function canonicalJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), (_, value: unknown) =>
      value !== null && typeof value === "object" && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : value,
    );
  } catch {
    return text;
  }
}

function sameValue(column: string, stored: unknown, wanted: unknown): boolean {
  if (stored === null || stored === undefined || wanted === null) return (stored ?? null) === wanted;
  if (JSON_COLUMNS.has(column) && typeof stored === "string" && typeof wanted === "string")
    return canonicalJson(stored) === canonicalJson(wanted);
  // Booleans are 1/0 in SQLite; bigint columns may read back as text from PostgreSQL.
  if (typeof wanted === "boolean") return Boolean(stored) === wanted;
  if (typeof wanted === "number") return Number(stored) === wanted;
  return stored === wanted;
}

/** The columns of `wanted` whose stored value differs. */
function changesOf<T extends object>(row: T, wanted: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const column of Object.keys(wanted) as (keyof T & string)[]) {
    if (!sameValue(column, row[column], wanted[column])) out[column] = wanted[column];
  }
  return out;
}

function isEmpty(changes: object): boolean {
  return Object.keys(changes).length === 0;
}

/** First row per name (rows come in id order); later duplicates are left to the removal pass. */
function byName<T extends { name: string }>(rows: readonly T[]): Map<string, T> {
  const out = new Map<string, T>();
  for (const row of rows) if (!out.has(row.name)) out.set(row.name, row);
  return out;
}

interface DeclaredBudget {
  where: string;
  scope: Scope;
  entry: Parameters<typeof budgetTerms>[0];
}

interface DeclaredRateLimit {
  where: string;
  scope: Scope;
  entry: Parameters<typeof rateTerms>[0];
}

interface LimitLists {
  budgets?: readonly (Parameters<typeof budgetTerms>[0] & { provider?: string | null | undefined })[] | undefined;
  rateLimits?: readonly (Parameters<typeof rateTerms>[0] & { provider?: string | null | undefined })[] | undefined;
}

function scopeKey(scope: Scope): string {
  return [scope.scopeType, scope.scopeId ?? "", scope.provider ?? "", scope.model ?? ""].join("|");
}

function describeScope(scope: Scope): string {
  switch (scope.scopeType) {
    case "global":
      return "global";
    case "provider":
      return `provider ${scope.provider}`;
    case "model":
      return `model ${scope.model}${scope.provider === null ? "" : ` of provider ${scope.provider}`}`;
    case "key-provider":
      return `key ${scope.scopeId} for provider ${scope.provider}`;
    default:
      return `${scope.scopeType} ${scope.scopeId}`;
  }
}

class Reconciler {
  readonly #m: SeedTrx;
  readonly #ctx: RepoContext;
  readonly #now: number;
  readonly #out: ReconcileResult = { created: [], updated: [], deactivated: [], deleted: [], warnings: [] };
  readonly #customers = new Map<string, string>();
  readonly #teams = new Map<string, string>();
  readonly #developers = new Map<string, string>();
  readonly #keys = new Map<string, string>();
  readonly #budgets: DeclaredBudget[] = [];
  readonly #rateLimits: DeclaredRateLimit[] = [];

  constructor(m: SeedTrx, ctx: RepoContext) {
    this.#m = m;
    this.#ctx = ctx;
    this.#now = ctx.clock.now();
  }

  async run(declared: ConfigGovernance): Promise<ReconcileResult> {
    await this.#reconcileCustomers(declared);
    await this.#reconcileTeams(declared);
    await this.#reconcileDevelopers(declared);
    await this.#reconcileKeys(declared);
    declared.budgets.forEach((b, i) => {
      this.#budgets.push({ where: `governance.budgets.${i}`, scope: unscoped(b), entry: b });
    });
    declared.rateLimits.forEach((r, i) => {
      this.#rateLimits.push({ where: `governance.rateLimits.${i}`, scope: unscoped(r), entry: r });
    });
    await this.#reconcileBudgets();
    await this.#reconcileRateLimits();
    await this.#removeDevelopers();
    await this.#removeTeams();
    await this.#removeCustomers();
    return this.#out;
  }

  /** Budgets and rate limits declared inline on an entity. */
  #collectLimits(owner: LimitLists, where: string, scopeType: "customer" | "team" | "developer" | "key", id: string) {
    const scope = (provider: string | null | undefined): Scope => ({
      scopeType: provider == null ? scopeType : "key-provider",
      scopeId: id,
      provider: provider ?? null,
      model: null,
    });
    (owner.budgets ?? []).forEach((b, i) => {
      this.#budgets.push({ where: `${where}.budgets.${i}`, scope: scope(b.provider), entry: b });
    });
    (owner.rateLimits ?? []).forEach((r, i) => {
      this.#rateLimits.push({ where: `${where}.rateLimits.${i}`, scope: scope(r.provider), entry: r });
    });
  }

  // ---------- customers, teams, developers ----------

  async #reconcileCustomers(declared: ConfigGovernance): Promise<void> {
    const m = this.#m;
    const managed = byName(
      await m.selectFrom("customers").selectAll().where("managed_by", "=", CONFIG_MANAGER).orderBy("id").execute(),
    );
    for (const [i, c] of declared.customers.entries()) {
      const where = at("customers", i, "customer", c.name);
      const wanted = { description: c.description ?? null, labels: JSON.stringify(c.labels ?? {}) };
      const row = managed.get(c.name);
      let id: string;
      if (row) {
        id = row.id;
        await this.#update("customers", row, changesOf(row, wanted), describe("customer", c.name, id));
      } else {
        const clash = await m.selectFrom("customers").select("id").where("name", "=", c.name).executeTakeFirst();
        if (clash) throw refused(where, apiClash(`a customer named "${c.name}"`, clash.id));
        id = newId("customer", this.#ctx.clock);
        await m
          .insertInto("customers")
          .values({
            id,
            name: c.name,
            ...wanted,
            managed_by: CONFIG_MANAGER,
            created_at: this.#now,
            updated_at: this.#now,
          })
          .execute();
        this.#out.created.push(describe("customer", c.name, id));
      }
      this.#customers.set(c.name, id);
      this.#collectLimits(c, `governance.customers.${i}`, "customer", id);
    }
  }

  async #reconcileTeams(declared: ConfigGovernance): Promise<void> {
    const m = this.#m;
    const managed = byName(
      await m.selectFrom("teams").selectAll().where("managed_by", "=", CONFIG_MANAGER).orderBy("id").execute(),
    );
    for (const [i, t] of declared.teams.entries()) {
      const where = at("teams", i, "team", t.name);
      const customerId = this.#ref(this.#customers, t.customer, `${where}.customer`, "customer");
      const wanted = {
        customer_id: customerId,
        description: t.description ?? null,
        labels: JSON.stringify(t.labels ?? {}),
        model_aliases: aliasesText(t.modelAliases),
      };
      const row = managed.get(t.name);
      // Team names are unique within their customer (and among teams without one).
      let q = m.selectFrom("teams").select("id").where("name", "=", t.name);
      q = customerId === null ? q.where("customer_id", "is", null) : q.where("customer_id", "=", customerId);
      const clash = await q.executeTakeFirst();
      if (clash && clash.id !== row?.id) {
        const owner = t.customer == null ? "without a customer" : `of customer "${t.customer}"`;
        throw refused(where, apiClash(`a team named "${t.name}" ${owner}`, clash.id));
      }
      let id: string;
      if (row) {
        id = row.id;
        await this.#update("teams", row, changesOf(row, wanted), describe("team", t.name, id));
      } else {
        id = newId("team", this.#ctx.clock);
        await m
          .insertInto("teams")
          .values({
            id,
            name: t.name,
            ...wanted,
            managed_by: CONFIG_MANAGER,
            created_at: this.#now,
            updated_at: this.#now,
          })
          .execute();
        this.#out.created.push(describe("team", t.name, id));
      }
      this.#teams.set(t.name, id);
      this.#collectLimits(t, `governance.teams.${i}`, "team", id);
    }
  }

  async #reconcileDevelopers(declared: ConfigGovernance): Promise<void> {
    const m = this.#m;
    const managed = byName(
      await m.selectFrom("developers").selectAll().where("managed_by", "=", CONFIG_MANAGER).orderBy("id").execute(),
    );
    const names = new Set(declared.developers.map((d) => d.name));
    const dropped = [...managed.values()].filter((r) => !names.has(r.name));
    for (const [i, d] of declared.developers.entries()) {
      const where = at("developers", i, "developer", d.name);
      const wanted = {
        name: d.name,
        email: d.email ?? null,
        team_id: this.#ref(this.#teams, d.team, `${where}.team`, "team"),
        labels: JSON.stringify(d.labels ?? {}),
      };
      // Matched by name; else a renamed developer: a managed one with this email whose name the file no longer has.
      const row =
        managed.get(d.name) ?? (wanted.email === null ? undefined : dropped.find((r) => r.email === wanted.email));
      if (wanted.email !== null) {
        const clash = await m
          .selectFrom("developers")
          .select("id")
          .where("email", "=", wanted.email)
          .executeTakeFirst();
        if (clash && clash.id !== row?.id)
          throw refused(`${where}.email`, `a developer with email "${wanted.email}" already exists (${clash.id})`);
      }
      let id: string;
      if (row) {
        id = row.id;
        await this.#update("developers", row, changesOf(row, wanted), describe("developer", d.name, id));
      } else {
        id = newId("developer", this.#ctx.clock);
        await m
          .insertInto("developers")
          .values({ id, ...wanted, managed_by: CONFIG_MANAGER, created_at: this.#now, updated_at: this.#now })
          .execute();
        this.#out.created.push(describe("developer", d.name, id));
      }
      this.#developers.set(d.name, id);
      this.#collectLimits(d, `governance.developers.${i}`, "developer", id);
    }
  }

  /** The id of a referenced entity declared in the file (the schema checks this too; the seed may be fed directly). */
  #ref(ids: Map<string, string>, name: string | null | undefined, field: string, kind: string): string | null {
    if (name == null) return null;
    const id = ids.get(name);
    if (id === undefined) throw refused(field, `no ${kind} "${name}" in governance.${kind}s`);
    return id;
  }

  // ---------- virtual keys ----------

  async #reconcileKeys(declared: ConfigGovernance): Promise<void> {
    const m = this.#m;
    const managed = byName(
      await m.selectFrom("virtual_keys").selectAll().where("managed_by", "=", CONFIG_MANAGER).orderBy("id").execute(),
    );
    const names = new Set(declared.virtualKeys.map((k) => k.name));
    const dropped = [...managed.values()].filter((r) => !names.has(r.name));
    for (const [i, k] of declared.virtualKeys.entries()) {
      const where = at("virtualKeys", i, "virtual key", k.name);
      const wanted = {
        name: k.name,
        description: k.description ?? null,
        secret_hash: k.secretHash,
        secret_prefix: k.secretPrefix,
        active: k.active ?? true,
        expires_at: k.expiresAt ?? null,
        team_id: this.#ref(this.#teams, k.team, `${where}.team`, "team"),
        customer_id: this.#ref(this.#customers, k.customer, `${where}.customer`, "customer"),
        developer_id: this.#ref(this.#developers, k.developer, `${where}.developer`, "developer"),
        allowed_providers: listText(k.allowedProviders ?? null),
        allowed_models: listText(k.allowedModels ?? null),
        provider_settings: JSON.stringify(k.providerSettings ?? {}),
        labels: JSON.stringify(k.labels ?? {}),
        credential_policy: k.credentialPolicy ?? "deny",
        session_caps: k.sessionCaps ? JSON.stringify(k.sessionCaps) : null,
        model_aliases: aliasesText(k.modelAliases),
      };
      // Matched by name; else a renamed key: a managed key with this secret whose name the file no longer has.
      const row = managed.get(k.name) ?? dropped.find((r) => r.secret_hash === k.secretHash);
      const clash = await m
        .selectFrom("virtual_keys")
        .select("id")
        .where((eb) => eb.or([eb("secret_hash", "=", k.secretHash), eb("previous_secret_hash", "=", k.secretHash)]))
        .where("id", "!=", row?.id ?? "")
        .executeTakeFirst();
      // Never echo the secret: the id of the key that already has it is enough to find it.
      if (clash)
        throw refused(where, `its secret is already the secret of virtual key ${clash.id}; each key needs its own`);
      let id: string;
      if (row) {
        id = row.id;
        const changes = changesOf(row, wanted);
        // A secret changed in the file replaces the old one at once (no grace period, unlike an API rotation).
        const secretChanged = changes.secret_hash !== undefined;
        await this.#update(
          "virtual_keys",
          row,
          secretChanged ? { ...changes, previous_secret_hash: null, previous_valid_until: null } : changes,
          describe("virtual key", k.name, id),
        );
        if (row.revoked_at !== null)
          this.#out.warnings.push(
            `${describe("virtual key", k.name, id)} in the config file was revoked through the management API; ` +
              "revocation is permanent, so it stays revoked: give it a new name in the config file to create a new key",
          );
      } else {
        id = newId("key", this.#ctx.clock);
        await m
          .insertInto("virtual_keys")
          .values({
            id,
            ...wanted,
            previous_secret_hash: null,
            previous_valid_until: null,
            revoked_at: null,
            managed_by: CONFIG_MANAGER,
            created_at: this.#now,
            updated_at: this.#now,
          })
          .execute();
        this.#out.created.push(describe("virtual key", k.name, id));
      }
      this.#keys.set(k.name, id);
      this.#collectLimits(k, `governance.virtualKeys.${i}`, "key", id);
    }
    // Dropped from the file: deactivated, not deleted (history keeps its name; declaring it again revives it).
    const declaredIds = new Set(this.#keys.values());
    for (const row of await m
      .selectFrom("virtual_keys")
      .select(["id", "name", "active"])
      .where("managed_by", "=", CONFIG_MANAGER)
      .orderBy("id")
      .execute()) {
      if (declaredIds.has(row.id) || !row.active) continue;
      await m
        .updateTable("virtual_keys")
        .set({ active: false, updated_at: this.#now })
        .where("id", "=", row.id)
        .execute();
      this.#out.deactivated.push(describe("virtual key", row.name, row.id));
    }
  }

  async #update(
    table: "customers" | "teams" | "developers" | "virtual_keys",
    row: { id: string },
    changes: object,
    what: string,
  ): Promise<void> {
    if (isEmpty(changes)) return;
    await this.#m
      .updateTable(table)
      .set({ ...changes, updated_at: this.#now })
      .where("id", "=", row.id)
      .execute();
    this.#out.updated.push(what);
  }

  // ---------- budgets and rate limits ----------

  async #reconcileBudgets(): Promise<void> {
    const m = this.#m;
    const identity = (scope: Scope, period: string, mode: string) => `${scopeKey(scope)}|${period}|${mode}`;
    const rowScope = (r: Selectable<BudgetsTable>): Scope => ({
      scopeType: r.scope_type as Scope["scopeType"],
      scopeId: r.scope_id,
      provider: r.provider,
      model: r.model,
    });
    const managed = new Map<string, Selectable<BudgetsTable>>();
    for (const r of await m
      .selectFrom("budgets")
      .selectAll()
      .where("managed_by", "=", CONFIG_MANAGER)
      .orderBy("id")
      .execute())
      managed.set(identity(rowScope(r), r.period, r.mode), r);
    const kept = new Set<string>();
    for (const b of this.#budgets) {
      const terms = budgetTerms(b.entry);
      const what = `budget ${terms.name === null ? "" : `"${terms.name}" `}${terms.period} ${terms.mode} on ${describeScope(b.scope)}`;
      const row = managed.get(identity(b.scope, terms.period, terms.mode));
      if (row) {
        kept.add(row.id);
        const wanted = {
          name: terms.name,
          limit_nano_usd: terms.limitNanoUsd,
          time_zone: terms.timeZone,
          // Not declared: a rolling budget keeps the anchor it got when created.
          ...(terms.anchorAt === null ? {} : { anchor_at: terms.anchorAt }),
        };
        const changes = changesOf(row, wanted);
        if (isEmpty(changes)) continue;
        await m
          .updateTable("budgets")
          .set({ ...changes, updated_at: this.#now })
          .where("id", "=", row.id)
          .execute();
        this.#out.updated.push(`${what} (${row.id})`);
        continue;
      }
      let twin = m
        .selectFrom("budgets")
        .select("id")
        .where("scope_type", "=", b.scope.scopeType)
        .where("period", "=", terms.period)
        .where("mode", "=", terms.mode);
      twin =
        b.scope.scopeId === null ? twin.where("scope_id", "is", null) : twin.where("scope_id", "=", b.scope.scopeId);
      twin =
        b.scope.provider === null ? twin.where("provider", "is", null) : twin.where("provider", "=", b.scope.provider);
      twin = b.scope.model === null ? twin.where("model", "is", null) : twin.where("model", "=", b.scope.model);
      const clash = await twin.executeTakeFirst();
      if (clash)
        throw refused(
          b.where,
          apiClash(`a ${terms.period} ${terms.mode} budget on ${describeScope(b.scope)}`, clash.id),
        );
      const created = await this.#insert(b.where, () => insertBudget(this.#ctx, b.scope, terms));
      await m.updateTable("budgets").set({ managed_by: CONFIG_MANAGER }).where("id", "=", created.id).execute();
      this.#out.created.push(`${what} (${created.id})`);
    }
    const gone = [...managed.values()].filter((r) => !kept.has(r.id));
    await deleteBudgetRows(
      this.#ctx,
      gone.map((r) => r.id),
    );
    for (const r of gone)
      this.#out.deleted.push(`budget ${r.period} ${r.mode} on ${describeScope(rowScope(r))} (${r.id})`);
  }

  async #reconcileRateLimits(): Promise<void> {
    const m = this.#m;
    const identity = (scope: Scope, window: string | null) => `${scopeKey(scope)}|${window ?? ""}`;
    const rowScope = (r: Selectable<RateLimitsTable>): Scope => ({
      scopeType: r.scope_type as Scope["scopeType"],
      scopeId: r.scope_id,
      provider: r.provider,
      model: r.model,
    });
    const managed = new Map<string, Selectable<RateLimitsTable>>();
    for (const r of await m
      .selectFrom("rate_limits")
      .selectAll()
      .where("managed_by", "=", CONFIG_MANAGER)
      .orderBy("id")
      .execute())
      managed.set(identity(rowScope(r), r.window), r);
    const kept = new Set<string>();
    for (const l of this.#rateLimits) {
      const terms = rateTerms(l.entry);
      const what = `rate limit ${terms.window ?? "(concurrency)"} on ${describeScope(l.scope)}`;
      const row = managed.get(identity(l.scope, terms.window));
      if (row) {
        kept.add(row.id);
        const changes = changesOf(row, {
          name: terms.name,
          max_requests: terms.maxRequests,
          max_tokens: terms.maxTokens,
          max_concurrent: terms.maxConcurrent,
        });
        if (isEmpty(changes)) continue;
        await m
          .updateTable("rate_limits")
          .set({ ...changes, updated_at: this.#now })
          .where("id", "=", row.id)
          .execute();
        this.#out.updated.push(`${what} (${row.id})`);
        continue;
      }
      let twin = m.selectFrom("rate_limits").select("id").where("scope_type", "=", l.scope.scopeType);
      twin =
        l.scope.scopeId === null ? twin.where("scope_id", "is", null) : twin.where("scope_id", "=", l.scope.scopeId);
      twin =
        l.scope.provider === null ? twin.where("provider", "is", null) : twin.where("provider", "=", l.scope.provider);
      twin = l.scope.model === null ? twin.where("model", "is", null) : twin.where("model", "=", l.scope.model);
      twin = terms.window === null ? twin.where("window", "is", null) : twin.where("window", "=", terms.window);
      const clash = await twin.executeTakeFirst();
      if (clash) throw refused(l.where, apiClash(`a ${what}`, clash.id));
      const created = await this.#insert(l.where, () => insertRateLimit(this.#ctx, l.scope, terms));
      await m.updateTable("rate_limits").set({ managed_by: CONFIG_MANAGER }).where("id", "=", created.id).execute();
      this.#out.created.push(`${what} (${created.id})`);
    }
    const gone = [...managed.values()].filter((r) => !kept.has(r.id));
    await deleteRateLimitRows(
      this.#ctx,
      gone.map((r) => r.id),
    );
    for (const r of gone)
      this.#out.deleted.push(`rate limit ${r.window ?? "(concurrency)"} on ${describeScope(rowScope(r))} (${r.id})`);
  }

  /** The repository's insert (defaults, checks); its refusals become config errors naming the entry. */
  async #insert<T>(where: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof GovernanceError) throw refused(where, error.message);
      throw error;
    }
  }

  // ---------- removal of customers, teams and developers the file dropped ----------

  /** What still refers to an entity (budgets and rate limits here are API-created: the file's own are gone). */
  async #references(
    scopeType: "customer" | "team" | "developer",
    id: string,
    columns: readonly { table: "virtual_keys" | "teams" | "developers"; column: string; what: string }[],
  ): Promise<string[]> {
    const m = this.#m;
    const found: string[] = [];
    for (const { table, column, what } of columns) {
      const rows = await m.selectFrom(table).select("id").where(sql.ref(column), "=", id).execute();
      if (rows.length > 0) found.push(`${rows.length} ${what}`);
    }
    for (const table of ["budgets", "rate_limits"] as const) {
      const rows = await m
        .selectFrom(table)
        .select("id")
        .where("scope_type", "=", scopeType)
        .where("scope_id", "=", id)
        .execute();
      if (rows.length > 0) found.push(`${rows.length} ${table === "budgets" ? "budget(s)" : "rate limit(s)"}`);
    }
    return found;
  }

  async #removeDropped(
    table: "customers" | "teams" | "developers",
    kind: "customer" | "team" | "developer",
    declared: Map<string, string>,
    columns: readonly { table: "virtual_keys" | "teams" | "developers"; column: string; what: string }[],
  ): Promise<void> {
    const m = this.#m;
    const ids = new Set(declared.values());
    const rows = await m
      .selectFrom(table)
      .select(["id", "name"])
      .where("managed_by", "=", CONFIG_MANAGER)
      .orderBy("id")
      .execute();
    for (const row of rows) {
      if (ids.has(row.id)) continue;
      const refs = await this.#references(kind, row.id, columns);
      if (refs.length > 0) {
        this.#out.warnings.push(
          `${describe(kind, row.name, row.id)} is no longer in the config file but is kept: ${refs.join(", ")} still ` +
            "refer to it (keys the file dropped are deactivated, not deleted; delete them with the management API to let it go)",
        );
        continue;
      }
      await m.deleteFrom(table).where("id", "=", row.id).execute();
      this.#out.deleted.push(describe(kind, row.name, row.id));
    }
  }

  #removeDevelopers(): Promise<void> {
    return this.#removeDropped("developers", "developer", this.#developers, [
      { table: "virtual_keys", column: "developer_id", what: "virtual key(s)" },
    ]);
  }

  #removeTeams(): Promise<void> {
    return this.#removeDropped("teams", "team", this.#teams, [
      { table: "virtual_keys", column: "team_id", what: "virtual key(s)" },
      { table: "developers", column: "team_id", what: "developer(s)" },
    ]);
  }

  #removeCustomers(): Promise<void> {
    return this.#removeDropped("customers", "customer", this.#customers, [
      { table: "virtual_keys", column: "customer_id", what: "virtual key(s)" },
      { table: "teams", column: "customer_id", what: "team(s)" },
    ]);
  }
}

function apiClash(what: string, id: string): string {
  return (
    `${what} already exists (${id}), not created by the config file; the file manages only what it created: ` +
    "rename this entry, or delete the existing one through the management API"
  );
}

function unscoped(input: {
  scopeType: Scope["scopeType"];
  provider?: string | null | undefined;
  model?: string | null | undefined;
}): Scope {
  return { scopeType: input.scopeType, scopeId: null, provider: input.provider ?? null, model: input.model ?? null };
}
