import type { RepoContext } from "./context.ts";
import { conflict, notFound } from "./errors.ts";
import { deleteBudgetRows, deleteRateLimitRows } from "./limits-repo.ts";
import type { ScopeType } from "./types.ts";

/**
 * Deleting entities. Owners refuse to go while they own something (409 naming what), unless `cascade`:
 *   customer → its teams (and their keys) and its direct keys;  team → its keys;  developer → their keys.
 * Team membership is not ownership: developers of a deleted team stay, without a team ("detached").
 * Budgets and rate limits of every deleted entity go with it, and the deleted budgets' recorded spend too.
 * Request logs keep their ids (they are history, not references). Run inside a transaction (the repository does).
 */

export interface DeleteResult {
  /** The entity asked for. */
  id: string;
  /** Everything else removed with it. */
  cascaded: {
    teams: string[];
    virtualKeys: string[];
    budgets: string[];
    rateLimits: string[];
  };
  /** Developers that stay but lost their team. */
  detached: { developers: string[] };
}

function emptyResult(id: string): DeleteResult {
  return { id, cascaded: { teams: [], virtualKeys: [], budgets: [], rateLimits: [] }, detached: { developers: [] } };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Both backends cap bound parameters per statement (SQLite 32766, PostgreSQL 65535): delete in slices. */
const SLICE = 500;
function* slices(ids: readonly string[]): Generator<readonly string[]> {
  for (let i = 0; i < ids.length; i += SLICE) yield ids.slice(i, i + SLICE);
}

async function dropLimitsOf(
  ctx: RepoContext,
  scopeTypes: readonly ScopeType[],
  allIds: readonly string[],
  out: DeleteResult,
): Promise<void> {
  for (const ids of slices(allIds)) await dropLimitsOfSlice(ctx, scopeTypes, ids, out);
}

async function dropLimitsOfSlice(
  ctx: RepoContext,
  scopeTypes: readonly ScopeType[],
  ids: readonly string[],
  out: DeleteResult,
): Promise<void> {
  const budgets = await ctx.db
    .selectFrom("budgets")
    .select("id")
    .where("scope_type", "in", scopeTypes)
    .where("scope_id", "in", ids)
    .execute();
  const limits = await ctx.db
    .selectFrom("rate_limits")
    .select("id")
    .where("scope_type", "in", scopeTypes)
    .where("scope_id", "in", ids)
    .execute();
  await deleteBudgetRows(
    ctx,
    budgets.map((b) => b.id),
  );
  await deleteRateLimitRows(
    ctx,
    limits.map((l) => l.id),
  );
  out.cascaded.budgets.push(...budgets.map((b) => b.id));
  out.cascaded.rateLimits.push(...limits.map((l) => l.id));
}

async function dropKeys(ctx: RepoContext, ids: readonly string[], out: DeleteResult): Promise<void> {
  await dropLimitsOf(ctx, ["key", "key-provider"], ids, out);
  for (const slice of slices(ids)) await ctx.db.deleteFrom("virtual_keys").where("id", "in", slice).execute();
}

export async function deleteKey(ctx: RepoContext, id: string): Promise<DeleteResult> {
  const found = await ctx.db.selectFrom("virtual_keys").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw notFound("virtual key", id);
  const out = emptyResult(id);
  await dropKeys(ctx, [id], out);
  return out;
}

async function keyIdsWhere(ctx: RepoContext, column: "team_id" | "customer_id" | "developer_id", ids: string[]) {
  if (ids.length === 0) return [];
  const rows = await ctx.db.selectFrom("virtual_keys").select("id").where(column, "in", ids).orderBy("id").execute();
  return rows.map((r) => r.id);
}

export async function deleteDeveloper(ctx: RepoContext, id: string, cascade: boolean): Promise<DeleteResult> {
  const found = await ctx.db.selectFrom("developers").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw notFound("developer", id);
  const keys = await keyIdsWhere(ctx, "developer_id", [id]);
  if (keys.length > 0 && !cascade) {
    throw conflict(
      `Developer "${id}" holds ${plural(keys.length, "virtual key", "virtual keys")}; delete or reassign them first, ` +
        "or delete with ?cascade=true to delete them too (revoking keeps their history visible).",
    );
  }
  const out = emptyResult(id);
  await dropKeys(ctx, keys, out);
  out.cascaded.virtualKeys.push(...keys);
  await dropLimitsOf(ctx, ["developer"], [id], out);
  await ctx.db.deleteFrom("developers").where("id", "=", id).execute();
  return out;
}

/** Removes teams (already checked): their keys, limits, and the team rows; their developers are detached. */
async function dropTeams(ctx: RepoContext, teamIds: string[], out: DeleteResult): Promise<void> {
  if (teamIds.length === 0) return;
  const keys = await keyIdsWhere(ctx, "team_id", teamIds);
  await dropKeys(ctx, keys, out);
  out.cascaded.virtualKeys.push(...keys);
  const members = await ctx.db.selectFrom("developers").select("id").where("team_id", "in", teamIds).execute();
  if (members.length > 0) {
    await ctx.db
      .updateTable("developers")
      .set({ team_id: null, updated_at: ctx.clock.now() })
      .where("team_id", "in", teamIds)
      .execute();
    out.detached.developers.push(...members.map((m) => m.id));
  }
  await dropLimitsOf(ctx, ["team"], teamIds, out);
  await ctx.db.deleteFrom("teams").where("id", "in", teamIds).execute();
}

export async function deleteTeam(ctx: RepoContext, id: string, cascade: boolean): Promise<DeleteResult> {
  const found = await ctx.db.selectFrom("teams").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw notFound("team", id);
  if (!cascade) {
    const keys = await keyIdsWhere(ctx, "team_id", [id]);
    if (keys.length > 0) {
      throw conflict(
        `Team "${id}" owns ${plural(keys.length, "virtual key", "virtual keys")}; move or delete them first, ` +
          "or delete with ?cascade=true to delete them too.",
      );
    }
  }
  const out = emptyResult(id);
  await dropTeams(ctx, [id], out);
  return out;
}

export async function deleteCustomer(ctx: RepoContext, id: string, cascade: boolean): Promise<DeleteResult> {
  const found = await ctx.db.selectFrom("customers").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw notFound("customer", id);
  const teams = (
    await ctx.db.selectFrom("teams").select("id").where("customer_id", "=", id).orderBy("id").execute()
  ).map((t) => t.id);
  const keys = await keyIdsWhere(ctx, "customer_id", [id]);
  if (!cascade && (teams.length > 0 || keys.length > 0)) {
    const owned = [
      ...(teams.length > 0 ? [plural(teams.length, "team", "teams")] : []),
      ...(keys.length > 0 ? [plural(keys.length, "virtual key", "virtual keys")] : []),
    ].join(" and ");
    throw conflict(
      `Customer "${id}" has ${owned}; delete or move them first, or delete with ?cascade=true to delete them too.`,
    );
  }
  const out = emptyResult(id);
  await dropTeams(ctx, teams, out);
  out.cascaded.teams.push(...teams);
  await dropKeys(ctx, keys, out);
  out.cascaded.virtualKeys.push(...keys);
  await dropLimitsOf(ctx, ["customer"], [id], out);
  await ctx.db.deleteFrom("customers").where("id", "=", id).execute();
  return out;
}
