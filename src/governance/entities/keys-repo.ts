import { DEFAULT_PAGE_SIZE, guardConstraints, newId, type PageRequest, pageOf, type RepoContext } from "./context.ts";
import { conflict, invalidField, notFound } from "./errors.ts";
import { generateVirtualKeySecret, hashVirtualKeySecret } from "./key-material.ts";
import { budgetTerms, insertBudget, insertRateLimit, rateTerms } from "./limits-repo.ts";
import { assertCustomerExists, assertDeveloperExists, assertTeamExists } from "./org-repo.ts";
import { aliasesText, listText, virtualKeyFromRow } from "./rows.ts";
import { type KeyCreate, type KeyPatch, OWNER_CONFLICT } from "./schemas.ts";
import type { Budget, KeyWithSecret, Page, RateLimit, Scope, VirtualKey } from "./types.ts";

/**
 * Virtual keys. The secret exists only in the return value of create and rotate; the row keeps its SHA-256.
 * A key belongs to a team, or directly to a customer, or to neither, and optionally to a developer; each referenced
 * entity must exist. Rotation keeps the replaced secret working for a grace period; revocation is immediate and
 * permanent (both secrets stop working). Deleting is in cascade.ts.
 */

export interface CreatedKey extends KeyWithSecret {
  budgets: Budget[];
  rateLimits: RateLimit[];
}

async function assertOwnersExist(
  ctx: RepoContext,
  refs: {
    teamId?: string | null | undefined;
    customerId?: string | null | undefined;
    developerId?: string | null | undefined;
  },
): Promise<void> {
  if (refs.teamId != null) await assertTeamExists(ctx, refs.teamId, "teamId");
  if (refs.customerId != null) await assertCustomerExists(ctx, refs.customerId, "customerId");
  if (refs.developerId != null) await assertDeveloperExists(ctx, refs.developerId, "developerId");
}

function assertFuture(ctx: RepoContext, expiresAt: number | null | undefined): void {
  if (expiresAt != null && expiresAt <= ctx.clock.now()) throw invalidField("expiresAt", "must be in the future");
}

/** Two inline entries that would be twins (same provider and period+mode, or same provider and window). */
function assertNoInlineTwins(list: readonly { key: string }[], field: string): void {
  const seen = new Map<string, number>();
  list.forEach((entry, i) => {
    const first = seen.get(entry.key);
    if (first !== undefined)
      throw invalidField(`${field}.${i}`, `repeats ${field}.${first} (same provider and period)`);
    seen.set(entry.key, i);
  });
}

const OWNER_FK = { field: "teamId", message: "a referenced team, customer or developer no longer exists" };

/** Creates the key and its inline budgets and rate limits; run it in a transaction (the repository does). */
export async function createKey(ctx: RepoContext, input: KeyCreate): Promise<CreatedKey> {
  await assertOwnersExist(ctx, input);
  assertFuture(ctx, input.expiresAt);
  const budgets = input.budgets ?? [];
  const rateLimits = input.rateLimits ?? [];
  assertNoInlineTwins(
    budgets.map((b) => ({ key: `${b.provider ?? ""}|${b.period}|${b.mode ?? "calendar"}` })),
    "budgets",
  );
  assertNoInlineTwins(
    rateLimits.map((r) => ({ key: `${r.provider ?? ""}|${r.window ?? ""}` })),
    "rateLimits",
  );

  const now = ctx.clock.now();
  const material = generateVirtualKeySecret();
  const row = {
    id: newId("key", ctx.clock),
    name: input.name,
    description: input.description ?? null,
    secret_hash: material.hash,
    secret_prefix: material.prefix,
    previous_secret_hash: null,
    previous_valid_until: null,
    active: input.active ?? true,
    expires_at: input.expiresAt ?? null,
    revoked_at: null,
    team_id: input.teamId ?? null,
    customer_id: input.customerId ?? null,
    developer_id: input.developerId ?? null,
    allowed_providers: listText(input.allowedProviders ?? null),
    allowed_models: listText(input.allowedModels ?? null),
    provider_settings: JSON.stringify(input.providerSettings ?? {}),
    labels: JSON.stringify(input.labels ?? {}),
    credential_policy: input.credentialPolicy ?? "deny",
    session_caps: input.sessionCaps ? JSON.stringify(input.sessionCaps) : null,
    model_aliases: aliasesText(input.modelAliases),
    created_at: now,
    updated_at: now,
  };
  await guardConstraints(() => ctx.db.insertInto("virtual_keys").values(row).execute(), { foreignKey: OWNER_FK });

  const keyScope = (provider: string | undefined): Scope => ({
    scopeType: provider === undefined ? "key" : "key-provider",
    scopeId: row.id,
    provider: provider ?? null,
    model: null,
  });
  const createdBudgets: Budget[] = [];
  for (const b of budgets) createdBudgets.push(await insertBudget(ctx, keyScope(b.provider), budgetTerms(b)));
  const createdLimits: RateLimit[] = [];
  for (const r of rateLimits) createdLimits.push(await insertRateLimit(ctx, keyScope(r.provider), rateTerms(r)));

  return {
    key: virtualKeyFromRow(row, now),
    secret: material.secret,
    budgets: createdBudgets,
    rateLimits: createdLimits,
  };
}

export async function getKey(ctx: RepoContext, id: string): Promise<VirtualKey | null> {
  const row = await ctx.db.selectFrom("virtual_keys").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? virtualKeyFromRow(row, ctx.clock.now()) : null;
}

/** The key whose current (or still-listed previous) secret this is; no validity check (see snapshot.ts). */
export async function findKeyBySecret(ctx: RepoContext, secret: string): Promise<VirtualKey | null> {
  const hash = hashVirtualKeySecret(secret);
  const row = await ctx.db
    .selectFrom("virtual_keys")
    .selectAll()
    .where((eb) => eb.or([eb("secret_hash", "=", hash), eb("previous_secret_hash", "=", hash)]))
    .executeTakeFirst();
  return row ? virtualKeyFromRow(row, ctx.clock.now()) : null;
}

export interface KeyFilter {
  teamId?: string | undefined;
  customerId?: string | undefined;
  developerId?: string | undefined;
}

export async function listKeys(ctx: RepoContext, page: PageRequest & KeyFilter = {}): Promise<Page<VirtualKey>> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  let q = ctx.db
    .selectFrom("virtual_keys")
    .selectAll()
    .orderBy("id")
    .limit(limit + 1);
  if (page.after !== undefined) q = q.where("id", ">", page.after);
  if (page.teamId !== undefined) q = q.where("team_id", "=", page.teamId);
  if (page.customerId !== undefined) q = q.where("customer_id", "=", page.customerId);
  if (page.developerId !== undefined) q = q.where("developer_id", "=", page.developerId);
  const now = ctx.clock.now();
  return pageOf(
    (await q.execute()).map((row) => virtualKeyFromRow(row, now)),
    limit,
  );
}

export async function updateKey(ctx: RepoContext, id: string, patch: KeyPatch): Promise<VirtualKey> {
  const current = await getKey(ctx, id);
  if (!current) throw notFound("virtual key", id);
  const teamId = patch.teamId === undefined ? current.teamId : patch.teamId;
  const customerId = patch.customerId === undefined ? current.customerId : patch.customerId;
  if (teamId !== null && customerId !== null) {
    const field = patch.customerId !== undefined && patch.customerId !== null ? "customerId" : "teamId";
    throw invalidField(field, `${OWNER_CONFLICT}; set the other one to null to move the key`);
  }
  await assertOwnersExist(ctx, {
    teamId: patch.teamId === current.teamId ? undefined : patch.teamId,
    customerId: patch.customerId === current.customerId ? undefined : patch.customerId,
    developerId: patch.developerId === current.developerId ? undefined : patch.developerId,
  });
  assertFuture(ctx, patch.expiresAt);
  const changes = {
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(patch.description === undefined ? {} : { description: patch.description }),
    ...(patch.active === undefined ? {} : { active: patch.active }),
    ...(patch.expiresAt === undefined ? {} : { expires_at: patch.expiresAt }),
    ...(patch.teamId === undefined ? {} : { team_id: patch.teamId }),
    ...(patch.customerId === undefined ? {} : { customer_id: patch.customerId }),
    ...(patch.developerId === undefined ? {} : { developer_id: patch.developerId }),
    ...(patch.allowedProviders === undefined ? {} : { allowed_providers: listText(patch.allowedProviders) }),
    ...(patch.allowedModels === undefined ? {} : { allowed_models: listText(patch.allowedModels) }),
    ...(patch.providerSettings === undefined ? {} : { provider_settings: JSON.stringify(patch.providerSettings) }),
    ...(patch.labels === undefined ? {} : { labels: JSON.stringify(patch.labels) }),
    ...(patch.credentialPolicy === undefined ? {} : { credential_policy: patch.credentialPolicy }),
    ...(patch.sessionCaps === undefined
      ? {}
      : { session_caps: patch.sessionCaps === null ? null : JSON.stringify(patch.sessionCaps) }),
    ...(patch.modelAliases === undefined ? {} : { model_aliases: aliasesText(patch.modelAliases) }),
    updated_at: ctx.clock.now(),
  };
  await guardConstraints(() => ctx.db.updateTable("virtual_keys").set(changes).where("id", "=", id).execute(), {
    foreignKey: OWNER_FK,
  });
  return (await getKey(ctx, id)) ?? current;
}

/**
 * A new secret for the key. The replaced one keeps working for `graceMs` (0: stops at once); a secret replaced
 * earlier and still in its grace period stops now (only one previous secret is kept).
 */
export async function rotateKey(ctx: RepoContext, id: string, graceMs: number): Promise<KeyWithSecret> {
  const row = await ctx.db.selectFrom("virtual_keys").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound("virtual key", id);
  if (row.revoked_at !== null)
    throw conflict(`Virtual key "${id}" is revoked; revocation is permanent: create a new key instead.`);
  const now = ctx.clock.now();
  const material = generateVirtualKeySecret();
  const changes = {
    secret_hash: material.hash,
    secret_prefix: material.prefix,
    previous_secret_hash: graceMs > 0 ? row.secret_hash : null,
    previous_valid_until: graceMs > 0 ? now + graceMs : null,
    updated_at: now,
  };
  await ctx.db.updateTable("virtual_keys").set(changes).where("id", "=", id).execute();
  return { key: virtualKeyFromRow({ ...row, ...changes }, now), secret: material.secret };
}

/** Revokes at once (idempotent: a second call keeps the first time). */
export async function revokeKey(ctx: RepoContext, id: string): Promise<VirtualKey> {
  const now = ctx.clock.now();
  await ctx.db
    .updateTable("virtual_keys")
    .set({ revoked_at: now, updated_at: now })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .execute();
  const key = await getKey(ctx, id);
  if (!key) throw notFound("virtual key", id);
  return key;
}
