import { type Clock, systemClock } from "../../clock.ts";
import type { Db } from "../../store/schema.ts";
import { type DeleteResult, deleteCustomer, deleteDeveloper, deleteKey, deleteTeam } from "./cascade.ts";
import type { PageRequest, RepoContext } from "./context.ts";
import { notFound } from "./errors.ts";
import {
  type CreatedKey,
  createKey,
  findKeyBySecret,
  getKey,
  type KeyFilter,
  listKeys,
  revokeKey,
  rotateKey,
  updateKey,
} from "./keys-repo.ts";
import {
  budgetsOf,
  createBudget,
  createRateLimit,
  deleteBudgetRows,
  deleteRateLimitRows,
  getBudget,
  getRateLimit,
  listBudgets,
  listRateLimits,
  rateLimitsOf,
  type ScopeFilter,
  updateBudget,
  updateRateLimit,
} from "./limits-repo.ts";
import {
  createCustomer,
  createDeveloper,
  createTeam,
  getCustomer,
  getDeveloper,
  getTeam,
  listCustomers,
  listDevelopers,
  listTeams,
  updateCustomer,
  updateDeveloper,
  updateTeam,
} from "./org-repo.ts";
import type {
  BudgetCreate,
  BudgetPatch,
  CustomerCreate,
  CustomerPatch,
  DeveloperCreate,
  DeveloperPatch,
  KeyCreate,
  KeyPatch,
  RateLimitCreate,
  RateLimitPatch,
  TeamCreate,
  TeamPatch,
} from "./schemas.ts";
import { DEFAULT_ROTATION_GRACE_SECONDS } from "./schemas.ts";
import { type GovernanceSnapshot, loadKeySnapshot } from "./snapshot.ts";
import { type GovernanceDb, governanceDb } from "./tables.ts";
import type {
  Budget,
  Customer,
  Developer,
  KeyWithSecret,
  Page,
  RateLimit,
  ScopeType,
  Team,
  VirtualKey,
} from "./types.ts";

export type GovernanceEntity = "customer" | "team" | "developer" | "virtual-key" | "budget" | "rate-limit";
export type GovernanceAction = "create" | "update" | "delete" | "rotate" | "revoke";

/** Told after every committed write, so the data plane can reload its snapshot (and tell other processes). */
export interface GovernanceChange {
  entity: GovernanceEntity;
  action: GovernanceAction;
  id: string;
}

export interface GovernanceRepositoryOptions {
  db: Db;
  clock?: Clock;
  /** Called after a write commits; errors it throws are the caller's (the write stays committed). */
  onChange?: (change: GovernanceChange) => void | Promise<void>;
}

/**
 * Typed CRUD for customers, teams, developers, virtual keys, budgets and rate limits, on SQLite or PostgreSQL.
 * Inputs are the zod schemas' outputs (schemas.ts): the repository checks what needs the database — references,
 * uniqueness, twins — and throws GovernanceError (invalid → 400, not_found → 404, conflict → 409). Every write
 * runs in one transaction.
 */
export class GovernanceRepository {
  readonly #db: GovernanceDb;
  readonly #clock: Clock;
  readonly #onChange: GovernanceRepositoryOptions["onChange"];

  constructor(options: GovernanceRepositoryOptions) {
    this.#db = governanceDb(options.db);
    this.#clock = options.clock ?? systemClock;
    this.#onChange = options.onChange;
  }

  get clock(): Clock {
    return this.#clock;
  }

  #read(): RepoContext {
    return { db: this.#db, clock: this.#clock };
  }

  async #write<T>(
    entity: GovernanceEntity,
    action: GovernanceAction,
    idOf: (result: T) => string,
    work: (ctx: RepoContext) => Promise<T>,
  ): Promise<T> {
    const result = await this.#db.transaction().execute((trx) => work({ db: trx, clock: this.#clock }));
    await this.#onChange?.({ entity, action, id: idOf(result) });
    return result;
  }

  /** Everything the data plane needs (see snapshot.ts). */
  loadSnapshot(): Promise<GovernanceSnapshot> {
    return loadKeySnapshot(this.#db, { clock: this.#clock });
  }

  // ---------- customers ----------
  createCustomer(input: CustomerCreate): Promise<Customer> {
    return this.#write(
      "customer",
      "create",
      (c) => c.id,
      (ctx) => createCustomer(ctx, input),
    );
  }
  getCustomer(id: string): Promise<Customer | null> {
    return getCustomer(this.#read(), id);
  }
  listCustomers(page?: PageRequest): Promise<Page<Customer>> {
    return listCustomers(this.#read(), page);
  }
  updateCustomer(id: string, patch: CustomerPatch): Promise<Customer> {
    return this.#write(
      "customer",
      "update",
      (c) => c.id,
      (ctx) => updateCustomer(ctx, id, patch),
    );
  }
  deleteCustomer(id: string, options: { cascade?: boolean } = {}): Promise<DeleteResult> {
    return this.#write(
      "customer",
      "delete",
      (r) => r.id,
      (ctx) => deleteCustomer(ctx, id, options.cascade ?? false),
    );
  }

  // ---------- teams ----------
  createTeam(input: TeamCreate): Promise<Team> {
    return this.#write(
      "team",
      "create",
      (t) => t.id,
      (ctx) => createTeam(ctx, input),
    );
  }
  getTeam(id: string): Promise<Team | null> {
    return getTeam(this.#read(), id);
  }
  listTeams(page?: PageRequest & { customerId?: string | undefined }): Promise<Page<Team>> {
    return listTeams(this.#read(), page);
  }
  updateTeam(id: string, patch: TeamPatch): Promise<Team> {
    return this.#write(
      "team",
      "update",
      (t) => t.id,
      (ctx) => updateTeam(ctx, id, patch),
    );
  }
  deleteTeam(id: string, options: { cascade?: boolean } = {}): Promise<DeleteResult> {
    return this.#write(
      "team",
      "delete",
      (r) => r.id,
      (ctx) => deleteTeam(ctx, id, options.cascade ?? false),
    );
  }

  // ---------- developers ----------
  createDeveloper(input: DeveloperCreate): Promise<Developer> {
    return this.#write(
      "developer",
      "create",
      (d) => d.id,
      (ctx) => createDeveloper(ctx, input),
    );
  }
  getDeveloper(id: string): Promise<Developer | null> {
    return getDeveloper(this.#read(), id);
  }
  listDevelopers(page?: PageRequest & { teamId?: string | undefined }): Promise<Page<Developer>> {
    return listDevelopers(this.#read(), page);
  }
  updateDeveloper(id: string, patch: DeveloperPatch): Promise<Developer> {
    return this.#write(
      "developer",
      "update",
      (d) => d.id,
      (ctx) => updateDeveloper(ctx, id, patch),
    );
  }
  deleteDeveloper(id: string, options: { cascade?: boolean } = {}): Promise<DeleteResult> {
    return this.#write(
      "developer",
      "delete",
      (r) => r.id,
      (ctx) => deleteDeveloper(ctx, id, options.cascade ?? false),
    );
  }

  // ---------- virtual keys ----------
  /** The result holds the secret: hand it to the caller once and drop it. */
  createKey(input: KeyCreate): Promise<CreatedKey> {
    return this.#write(
      "virtual-key",
      "create",
      (k) => k.key.id,
      (ctx) => createKey(ctx, input),
    );
  }
  getKey(id: string): Promise<VirtualKey | null> {
    return getKey(this.#read(), id);
  }
  findKeyBySecret(secret: string): Promise<VirtualKey | null> {
    return findKeyBySecret(this.#read(), secret);
  }
  listKeys(page?: PageRequest & KeyFilter): Promise<Page<VirtualKey>> {
    return listKeys(this.#read(), page);
  }
  updateKey(id: string, patch: KeyPatch): Promise<VirtualKey> {
    return this.#write(
      "virtual-key",
      "update",
      (k) => k.id,
      (ctx) => updateKey(ctx, id, patch),
    );
  }
  /** A new secret; the old one keeps working for `graceMs` (default 24 h, 0: stops at once). */
  rotateKey(id: string, options: { graceMs?: number } = {}): Promise<KeyWithSecret> {
    const graceMs = options.graceMs ?? DEFAULT_ROTATION_GRACE_SECONDS * 1000;
    return this.#write(
      "virtual-key",
      "rotate",
      (k) => k.key.id,
      (ctx) => rotateKey(ctx, id, graceMs),
    );
  }
  revokeKey(id: string): Promise<VirtualKey> {
    return this.#write(
      "virtual-key",
      "revoke",
      (k) => k.id,
      (ctx) => revokeKey(ctx, id),
    );
  }
  deleteKey(id: string): Promise<DeleteResult> {
    return this.#write(
      "virtual-key",
      "delete",
      (r) => r.id,
      (ctx) => deleteKey(ctx, id),
    );
  }

  // ---------- budgets ----------
  createBudget(input: BudgetCreate): Promise<Budget> {
    return this.#write(
      "budget",
      "create",
      (b) => b.id,
      (ctx) => createBudget(ctx, input),
    );
  }
  getBudget(id: string): Promise<Budget | null> {
    return getBudget(this.#read(), id);
  }
  listBudgets(page?: PageRequest & ScopeFilter): Promise<Page<Budget>> {
    return listBudgets(this.#read(), page);
  }
  /** Budgets on one entity (a key: also its key-provider budgets). */
  budgetsOf(scopeType: "customer" | "team" | "developer" | "key", scopeId: string): Promise<Budget[]> {
    return budgetsOf(this.#read(), scopeTypesOf(scopeType), scopeId);
  }
  updateBudget(id: string, patch: BudgetPatch): Promise<Budget> {
    return this.#write(
      "budget",
      "update",
      (b) => b.id,
      (ctx) => updateBudget(ctx, id, patch),
    );
  }
  /** Deletes the budget and its recorded spend. */
  async deleteBudget(id: string): Promise<void> {
    await this.#write(
      "budget",
      "delete",
      () => id,
      async (ctx) => {
        if (!(await getBudget(ctx, id))) throw notFound("budget", id);
        await deleteBudgetRows(ctx, [id]);
      },
    );
  }

  // ---------- rate limits ----------
  createRateLimit(input: RateLimitCreate): Promise<RateLimit> {
    return this.#write(
      "rate-limit",
      "create",
      (l) => l.id,
      (ctx) => createRateLimit(ctx, input),
    );
  }
  getRateLimit(id: string): Promise<RateLimit | null> {
    return getRateLimit(this.#read(), id);
  }
  listRateLimits(page?: PageRequest & ScopeFilter): Promise<Page<RateLimit>> {
    return listRateLimits(this.#read(), page);
  }
  rateLimitsOf(scopeType: "customer" | "team" | "developer" | "key", scopeId: string): Promise<RateLimit[]> {
    return rateLimitsOf(this.#read(), scopeTypesOf(scopeType), scopeId);
  }
  updateRateLimit(id: string, patch: RateLimitPatch): Promise<RateLimit> {
    return this.#write(
      "rate-limit",
      "update",
      (l) => l.id,
      (ctx) => updateRateLimit(ctx, id, patch),
    );
  }
  async deleteRateLimit(id: string): Promise<void> {
    await this.#write(
      "rate-limit",
      "delete",
      () => id,
      async (ctx) => {
        if (!(await getRateLimit(ctx, id))) throw notFound("rate limit", id);
        await deleteRateLimitRows(ctx, [id]);
      },
    );
  }
}

function scopeTypesOf(type: "customer" | "team" | "developer" | "key"): ScopeType[] {
  return type === "key" ? ["key", "key-provider"] : [type];
}
