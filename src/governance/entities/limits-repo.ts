import { DEFAULT_PAGE_SIZE, newId, type PageRequest, pageOf, type RepoContext } from "./context.ts";
import { conflict, GovernanceError, invalidField, notFound } from "./errors.ts";
import { assertCustomerExists, assertDeveloperExists, assertTeamExists } from "./org-repo.ts";
import { budgetFromRow, rateLimitFromRow } from "./rows.ts";
import {
  type BudgetCreate,
  type BudgetPatch,
  periodModeProblem,
  type RateLimitCreate,
  type RateLimitPatch,
  rateShapeIssues,
} from "./schemas.ts";
import type { Budget, BudgetMode, BudgetPeriod, Page, RateLimit, RateWindow, Scope, ScopeType } from "./types.ts";

/**
 * Budgets and rate limits. Both point at a scope (see types.ts `Scope`); an entity scope must exist. At most one
 * budget per (scope, period, mode) and one rate limit per (scope, window): a second would only shadow the first.
 * Spend is not here: it lives in the counters and `budget_spend`, which these functions only ever delete with
 * their budget.
 */

/** A budget's terms, the limit already in nano-dollars. */
export interface BudgetTerms {
  name: string | null;
  limitNanoUsd: number;
  period: BudgetPeriod;
  mode: BudgetMode;
  timeZone: string;
  anchorAt: number | null;
}

export interface RateTerms {
  name: string | null;
  window: RateWindow | null;
  maxRequests: number | null;
  maxTokens: number | null;
  maxConcurrent: number | null;
}

export async function assertScopeExists(ctx: RepoContext, scope: Scope, field = "scopeId"): Promise<void> {
  const id = scope.scopeId;
  if (id === null) return;
  switch (scope.scopeType) {
    case "customer":
      return assertCustomerExists(ctx, id, field);
    case "team":
      return assertTeamExists(ctx, id, field);
    case "developer":
      return assertDeveloperExists(ctx, id, field);
    case "key":
    case "key-provider": {
      const found = await ctx.db.selectFrom("virtual_keys").select("id").where("id", "=", id).executeTakeFirst();
      if (!found) throw invalidField(field, `no virtual key "${id}"`);
      return;
    }
    case "global":
    case "provider":
    case "model":
      return;
    default: {
      const unexpected: never = scope.scopeType;
      throw new Error(`unknown scope type ${String(unexpected)}`);
    }
  }
}

function describeScope(scope: Scope): string {
  const parts: string[] = [scope.scopeType];
  if (scope.scopeId !== null) parts.push(scope.scopeId);
  if (scope.provider !== null) parts.push(`provider ${scope.provider}`);
  if (scope.model !== null) parts.push(`model ${scope.model}`);
  return parts.join(" ");
}

// ---------- budgets ----------

async function findBudgetInScope(
  ctx: RepoContext,
  scope: Scope,
  period: BudgetPeriod,
  mode: BudgetMode,
): Promise<string | undefined> {
  let q = ctx.db
    .selectFrom("budgets")
    .select("id")
    .where("scope_type", "=", scope.scopeType)
    .where("period", "=", period)
    .where("mode", "=", mode);
  q = scope.scopeId === null ? q.where("scope_id", "is", null) : q.where("scope_id", "=", scope.scopeId);
  q = scope.provider === null ? q.where("provider", "is", null) : q.where("provider", "=", scope.provider);
  q = scope.model === null ? q.where("model", "is", null) : q.where("model", "=", scope.model);
  return (await q.executeTakeFirst())?.id;
}

async function assertNoBudgetTwin(
  ctx: RepoContext,
  scope: Scope,
  period: BudgetPeriod,
  mode: BudgetMode,
  exceptId: string | null,
): Promise<void> {
  const twin = await findBudgetInScope(ctx, scope, period, mode);
  if (twin !== undefined && twin !== exceptId) {
    throw conflict(
      `A ${period} ${mode} budget for ${describeScope(scope)} already exists (id ${twin}); change its limit with PATCH /api/budgets/${twin}.`,
    );
  }
}

/** The terms of a create body, with defaults (calendar periods in UTC). */
export function budgetTerms(input: {
  name?: string | null | undefined;
  limitUsd?: number | undefined;
  limitNanoUsd?: number | undefined;
  period: BudgetPeriod;
  mode?: BudgetMode | undefined;
  timeZone?: string | undefined;
  anchorAt?: number | null | undefined;
}): BudgetTerms {
  const limitNanoUsd = input.limitUsd ?? input.limitNanoUsd;
  if (limitNanoUsd === undefined) throw invalidField("limitUsd", "required (or limitNanoUsd)");
  return {
    name: input.name ?? null,
    limitNanoUsd,
    period: input.period,
    mode: input.mode ?? "calendar",
    timeZone: input.timeZone ?? "UTC",
    anchorAt: input.anchorAt ?? null,
  };
}

/** Inserts a budget whose scope shape is already valid (the schemas check it); checks the entity and twins. */
export async function insertBudget(ctx: RepoContext, scope: Scope, terms: BudgetTerms): Promise<Budget> {
  await assertScopeExists(ctx, scope);
  await assertNoBudgetTwin(ctx, scope, terms.period, terms.mode, null);
  const now = ctx.clock.now();
  const row = {
    id: newId("budget", ctx.clock),
    name: terms.name,
    scope_type: scope.scopeType,
    scope_id: scope.scopeId,
    provider: scope.provider,
    model: scope.model,
    limit_nano_usd: terms.limitNanoUsd,
    period: terms.period,
    mode: terms.mode,
    time_zone: terms.timeZone,
    // A rolling window needs a start: by default the budget's first window starts now.
    anchor_at: terms.anchorAt ?? (terms.mode === "rolling" ? now : null),
    created_at: now,
    updated_at: now,
  };
  await ctx.db.insertInto("budgets").values(row).execute();
  return budgetFromRow(row);
}

export function createBudget(ctx: RepoContext, input: BudgetCreate): Promise<Budget> {
  const scope: Scope = {
    scopeType: input.scopeType,
    scopeId: input.scopeId ?? null,
    provider: input.provider ?? null,
    model: input.model ?? null,
  };
  return insertBudget(ctx, scope, budgetTerms(input));
}

export async function getBudget(ctx: RepoContext, id: string): Promise<Budget | null> {
  const row = await ctx.db.selectFrom("budgets").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? budgetFromRow(row) : null;
}

export interface ScopeFilter {
  scopeType?: ScopeType | undefined;
  scopeId?: string | undefined;
}

export async function listBudgets(ctx: RepoContext, page: PageRequest & ScopeFilter = {}): Promise<Page<Budget>> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  let q = ctx.db
    .selectFrom("budgets")
    .selectAll()
    .orderBy("id")
    .limit(limit + 1);
  if (page.after !== undefined) q = q.where("id", ">", page.after);
  if (page.scopeType !== undefined) q = q.where("scope_type", "=", page.scopeType);
  if (page.scopeId !== undefined) q = q.where("scope_id", "=", page.scopeId);
  return pageOf((await q.execute()).map(budgetFromRow), limit);
}

/** Every budget on an entity (for a key: its key and key-provider budgets). */
export async function budgetsOf(
  ctx: RepoContext,
  scopeTypes: readonly ScopeType[],
  scopeId: string,
): Promise<Budget[]> {
  const rows = await ctx.db
    .selectFrom("budgets")
    .selectAll()
    .where("scope_type", "in", scopeTypes)
    .where("scope_id", "=", scopeId)
    .orderBy("id")
    .execute();
  return rows.map(budgetFromRow);
}

export async function updateBudget(ctx: RepoContext, id: string, patch: BudgetPatch): Promise<Budget> {
  const current = await getBudget(ctx, id);
  if (!current) throw notFound("budget", id);
  const period = patch.period ?? current.period;
  const mode = patch.mode ?? current.mode;
  const problem = periodModeProblem(period, mode);
  if (problem) throw invalidField(patch.period === undefined ? "mode" : "period", problem);
  if (period !== current.period || mode !== current.mode) await assertNoBudgetTwin(ctx, current, period, mode, id);
  const limit = patch.limitUsd ?? patch.limitNanoUsd;
  const now = ctx.clock.now();
  // Switching to rolling without an anchor: the first rolling window starts now.
  const anchorAt =
    patch.anchorAt !== undefined ? patch.anchorAt : mode === "rolling" && current.anchorAt === null ? now : undefined;
  const changes = {
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(limit === undefined ? {} : { limit_nano_usd: limit }),
    ...(patch.period === undefined ? {} : { period: patch.period }),
    ...(patch.mode === undefined ? {} : { mode: patch.mode }),
    ...(patch.timeZone === undefined ? {} : { time_zone: patch.timeZone }),
    ...(anchorAt === undefined ? {} : { anchor_at: anchorAt ?? (mode === "rolling" ? now : null) }),
    updated_at: now,
  };
  await ctx.db.updateTable("budgets").set(changes).where("id", "=", id).execute();
  return (await getBudget(ctx, id)) ?? current;
}

/** Deletes budgets and their recorded spend. */
export async function deleteBudgetRows(ctx: RepoContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db.deleteFrom("budget_spend").where("budget_id", "in", ids).execute();
  await ctx.db.deleteFrom("budgets").where("id", "in", ids).execute();
}

// ---------- rate limits ----------

async function assertNoRateTwin(
  ctx: RepoContext,
  scope: Scope,
  window: RateWindow | null,
  exceptId: string | null,
): Promise<void> {
  let q = ctx.db.selectFrom("rate_limits").select("id").where("scope_type", "=", scope.scopeType);
  q = scope.scopeId === null ? q.where("scope_id", "is", null) : q.where("scope_id", "=", scope.scopeId);
  q = scope.provider === null ? q.where("provider", "is", null) : q.where("provider", "=", scope.provider);
  q = scope.model === null ? q.where("model", "is", null) : q.where("model", "=", scope.model);
  q = window === null ? q.where("window", "is", null) : q.where("window", "=", window);
  const twin = (await q.executeTakeFirst())?.id;
  if (twin !== undefined && twin !== exceptId) {
    const what = window === null ? "concurrency-only rate limit" : `rate limit with window ${window}`;
    throw conflict(
      `A ${what} for ${describeScope(scope)} already exists (id ${twin}); change it with PATCH /api/rate-limits/${twin}.`,
    );
  }
}

export function rateTerms(input: {
  name?: string | null | undefined;
  window?: RateWindow | null | undefined;
  maxRequests?: number | null | undefined;
  maxTokens?: number | null | undefined;
  maxConcurrent?: number | null | undefined;
}): RateTerms {
  return {
    name: input.name ?? null,
    window: input.window ?? null,
    maxRequests: input.maxRequests ?? null,
    maxTokens: input.maxTokens ?? null,
    maxConcurrent: input.maxConcurrent ?? null,
  };
}

export async function insertRateLimit(ctx: RepoContext, scope: Scope, terms: RateTerms): Promise<RateLimit> {
  await assertScopeExists(ctx, scope);
  await assertNoRateTwin(ctx, scope, terms.window, null);
  const now = ctx.clock.now();
  const row = {
    id: newId("rateLimit", ctx.clock),
    name: terms.name,
    scope_type: scope.scopeType,
    scope_id: scope.scopeId,
    provider: scope.provider,
    model: scope.model,
    window: terms.window,
    max_requests: terms.maxRequests,
    max_tokens: terms.maxTokens,
    max_concurrent: terms.maxConcurrent,
    created_at: now,
    updated_at: now,
  };
  await ctx.db.insertInto("rate_limits").values(row).execute();
  return rateLimitFromRow(row);
}

export function createRateLimit(ctx: RepoContext, input: RateLimitCreate): Promise<RateLimit> {
  const scope: Scope = {
    scopeType: input.scopeType,
    scopeId: input.scopeId ?? null,
    provider: input.provider ?? null,
    model: input.model ?? null,
  };
  return insertRateLimit(ctx, scope, rateTerms(input));
}

export async function getRateLimit(ctx: RepoContext, id: string): Promise<RateLimit | null> {
  const row = await ctx.db.selectFrom("rate_limits").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? rateLimitFromRow(row) : null;
}

export async function listRateLimits(ctx: RepoContext, page: PageRequest & ScopeFilter = {}): Promise<Page<RateLimit>> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  let q = ctx.db
    .selectFrom("rate_limits")
    .selectAll()
    .orderBy("id")
    .limit(limit + 1);
  if (page.after !== undefined) q = q.where("id", ">", page.after);
  if (page.scopeType !== undefined) q = q.where("scope_type", "=", page.scopeType);
  if (page.scopeId !== undefined) q = q.where("scope_id", "=", page.scopeId);
  return pageOf((await q.execute()).map(rateLimitFromRow), limit);
}

export async function rateLimitsOf(
  ctx: RepoContext,
  scopeTypes: readonly ScopeType[],
  scopeId: string,
): Promise<RateLimit[]> {
  const rows = await ctx.db
    .selectFrom("rate_limits")
    .selectAll()
    .where("scope_type", "in", scopeTypes)
    .where("scope_id", "=", scopeId)
    .orderBy("id")
    .execute();
  return rows.map(rateLimitFromRow);
}

export async function updateRateLimit(ctx: RepoContext, id: string, patch: RateLimitPatch): Promise<RateLimit> {
  const current = await getRateLimit(ctx, id);
  if (!current) throw notFound("rate limit", id);
  const next: RateTerms = {
    name: patch.name === undefined ? current.name : patch.name,
    window: patch.window === undefined ? current.window : patch.window,
    maxRequests: patch.maxRequests === undefined ? current.maxRequests : patch.maxRequests,
    maxTokens: patch.maxTokens === undefined ? current.maxTokens : patch.maxTokens,
    maxConcurrent: patch.maxConcurrent === undefined ? current.maxConcurrent : patch.maxConcurrent,
  };
  const issues = rateShapeIssues(next);
  if (issues.length > 0) {
    const message = issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new GovernanceError("invalid", message, issues);
  }
  if (next.window !== current.window) await assertNoRateTwin(ctx, current, next.window, id);
  await ctx.db
    .updateTable("rate_limits")
    .set({
      name: next.name,
      window: next.window,
      max_requests: next.maxRequests,
      max_tokens: next.maxTokens,
      max_concurrent: next.maxConcurrent,
      updated_at: ctx.clock.now(),
    })
    .where("id", "=", id)
    .execute();
  return (await getRateLimit(ctx, id)) ?? current;
}

export async function deleteRateLimitRows(ctx: RepoContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db.deleteFrom("rate_limits").where("id", "in", ids).execute();
}
