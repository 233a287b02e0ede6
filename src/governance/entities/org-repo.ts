import { DEFAULT_PAGE_SIZE, guardConstraints, newId, type PageRequest, pageOf, type RepoContext } from "./context.ts";
import { conflict, invalidField, notFound } from "./errors.ts";
import { aliasesText, customerFromRow, developerFromRow, teamFromRow } from "./rows.ts";
import type {
  CustomerCreate,
  CustomerPatch,
  DeveloperCreate,
  DeveloperPatch,
  TeamCreate,
  TeamPatch,
} from "./schemas.ts";
import type { Customer, Developer, Page, Team } from "./types.ts";

/**
 * Customers, teams and developers. Rules: customer names are unique; team names are unique within their customer
 * (and among teams without one); developer emails are unique; a referenced customer or team must exist (400 naming
 * the field otherwise). Deleting is in cascade.ts.
 */

// ---------- customers ----------

function customerNameTaken(name: string): string {
  return `A customer named "${name}" already exists.`;
}

async function assertCustomerNameFree(ctx: RepoContext, name: string, exceptId: string | null): Promise<void> {
  const found = await ctx.db.selectFrom("customers").select("id").where("name", "=", name).executeTakeFirst();
  if (found && found.id !== exceptId) throw conflict(`${customerNameTaken(name)} (id ${found.id})`);
}

export async function assertCustomerExists(ctx: RepoContext, id: string, field: string): Promise<void> {
  const found = await ctx.db.selectFrom("customers").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw invalidField(field, `no customer "${id}"`);
}

export async function createCustomer(ctx: RepoContext, input: CustomerCreate): Promise<Customer> {
  await assertCustomerNameFree(ctx, input.name, null);
  const now = ctx.clock.now();
  const row = {
    id: newId("customer", ctx.clock),
    name: input.name,
    description: input.description ?? null,
    labels: JSON.stringify(input.labels ?? {}),
    created_at: now,
    updated_at: now,
  };
  await guardConstraints(() => ctx.db.insertInto("customers").values(row).execute(), {
    unique: customerNameTaken(input.name),
  });
  return customerFromRow(row);
}

export async function getCustomer(ctx: RepoContext, id: string): Promise<Customer | null> {
  const row = await ctx.db.selectFrom("customers").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? customerFromRow(row) : null;
}

export async function listCustomers(ctx: RepoContext, page: PageRequest = {}): Promise<Page<Customer>> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  let q = ctx.db
    .selectFrom("customers")
    .selectAll()
    .orderBy("id")
    .limit(limit + 1);
  if (page.after !== undefined) q = q.where("id", ">", page.after);
  return pageOf((await q.execute()).map(customerFromRow), limit);
}

export async function updateCustomer(ctx: RepoContext, id: string, patch: CustomerPatch): Promise<Customer> {
  const current = await getCustomer(ctx, id);
  if (!current) throw notFound("customer", id);
  if (patch.name !== undefined && patch.name !== current.name) await assertCustomerNameFree(ctx, patch.name, id);
  const changes = {
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(patch.description === undefined ? {} : { description: patch.description }),
    ...(patch.labels === undefined ? {} : { labels: JSON.stringify(patch.labels) }),
    updated_at: ctx.clock.now(),
  };
  await guardConstraints(() => ctx.db.updateTable("customers").set(changes).where("id", "=", id).execute(), {
    unique: customerNameTaken(patch.name ?? current.name),
  });
  return (await getCustomer(ctx, id)) ?? current;
}

// ---------- teams ----------

function teamNameTaken(name: string, customerId: string | null): string {
  return customerId === null
    ? `A team named "${name}" without a customer already exists.`
    : `Customer "${customerId}" already has a team named "${name}".`;
}

async function assertTeamNameFree(
  ctx: RepoContext,
  name: string,
  customerId: string | null,
  exceptId: string | null,
): Promise<void> {
  let q = ctx.db.selectFrom("teams").select("id").where("name", "=", name);
  q = customerId === null ? q.where("customer_id", "is", null) : q.where("customer_id", "=", customerId);
  const found = await q.executeTakeFirst();
  if (found && found.id !== exceptId) throw conflict(`${teamNameTaken(name, customerId)} (id ${found.id})`);
}

export async function assertTeamExists(ctx: RepoContext, id: string, field: string): Promise<void> {
  const found = await ctx.db.selectFrom("teams").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw invalidField(field, `no team "${id}"`);
}

export async function createTeam(ctx: RepoContext, input: TeamCreate): Promise<Team> {
  const customerId = input.customerId ?? null;
  if (customerId !== null) await assertCustomerExists(ctx, customerId, "customerId");
  await assertTeamNameFree(ctx, input.name, customerId, null);
  const now = ctx.clock.now();
  const row = {
    id: newId("team", ctx.clock),
    name: input.name,
    customer_id: customerId,
    description: input.description ?? null,
    labels: JSON.stringify(input.labels ?? {}),
    model_aliases: aliasesText(input.modelAliases),
    created_at: now,
    updated_at: now,
  };
  await guardConstraints(() => ctx.db.insertInto("teams").values(row).execute(), {
    unique: teamNameTaken(input.name, customerId),
    foreignKey: { field: "customerId", message: `no customer "${customerId}"` },
  });
  return teamFromRow(row);
}

export async function getTeam(ctx: RepoContext, id: string): Promise<Team | null> {
  const row = await ctx.db.selectFrom("teams").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? teamFromRow(row) : null;
}

export async function listTeams(
  ctx: RepoContext,
  page: PageRequest & { customerId?: string | undefined } = {},
): Promise<Page<Team>> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  let q = ctx.db
    .selectFrom("teams")
    .selectAll()
    .orderBy("id")
    .limit(limit + 1);
  if (page.after !== undefined) q = q.where("id", ">", page.after);
  if (page.customerId !== undefined) q = q.where("customer_id", "=", page.customerId);
  return pageOf((await q.execute()).map(teamFromRow), limit);
}

export async function updateTeam(ctx: RepoContext, id: string, patch: TeamPatch): Promise<Team> {
  const current = await getTeam(ctx, id);
  if (!current) throw notFound("team", id);
  const customerId = patch.customerId === undefined ? current.customerId : patch.customerId;
  const name = patch.name ?? current.name;
  if (patch.customerId != null && patch.customerId !== current.customerId)
    await assertCustomerExists(ctx, patch.customerId, "customerId");
  if (name !== current.name || customerId !== current.customerId) await assertTeamNameFree(ctx, name, customerId, id);
  const changes = {
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(patch.customerId === undefined ? {} : { customer_id: patch.customerId }),
    ...(patch.description === undefined ? {} : { description: patch.description }),
    ...(patch.labels === undefined ? {} : { labels: JSON.stringify(patch.labels) }),
    ...(patch.modelAliases === undefined ? {} : { model_aliases: aliasesText(patch.modelAliases) }),
    updated_at: ctx.clock.now(),
  };
  await guardConstraints(() => ctx.db.updateTable("teams").set(changes).where("id", "=", id).execute(), {
    unique: teamNameTaken(name, customerId),
    foreignKey: { field: "customerId", message: `no customer "${customerId}"` },
  });
  return (await getTeam(ctx, id)) ?? current;
}

// ---------- developers ----------

function emailTaken(email: string): string {
  return `A developer with email "${email}" already exists.`;
}

async function assertEmailFree(ctx: RepoContext, email: string | null, exceptId: string | null): Promise<void> {
  if (email === null) return;
  const found = await ctx.db.selectFrom("developers").select("id").where("email", "=", email).executeTakeFirst();
  if (found && found.id !== exceptId) throw conflict(`${emailTaken(email)} (id ${found.id})`);
}

export async function assertDeveloperExists(ctx: RepoContext, id: string, field: string): Promise<void> {
  const found = await ctx.db.selectFrom("developers").select("id").where("id", "=", id).executeTakeFirst();
  if (!found) throw invalidField(field, `no developer "${id}"`);
}

export async function createDeveloper(ctx: RepoContext, input: DeveloperCreate): Promise<Developer> {
  const teamId = input.teamId ?? null;
  const email = input.email ?? null;
  if (teamId !== null) await assertTeamExists(ctx, teamId, "teamId");
  await assertEmailFree(ctx, email, null);
  const now = ctx.clock.now();
  const row = {
    id: newId("developer", ctx.clock),
    name: input.name,
    email,
    team_id: teamId,
    labels: JSON.stringify(input.labels ?? {}),
    created_at: now,
    updated_at: now,
  };
  await guardConstraints(() => ctx.db.insertInto("developers").values(row).execute(), {
    unique: emailTaken(email ?? ""),
    foreignKey: { field: "teamId", message: `no team "${teamId}"` },
  });
  return developerFromRow(row);
}

export async function getDeveloper(ctx: RepoContext, id: string): Promise<Developer | null> {
  const row = await ctx.db.selectFrom("developers").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? developerFromRow(row) : null;
}

export async function listDevelopers(
  ctx: RepoContext,
  page: PageRequest & { teamId?: string | undefined } = {},
): Promise<Page<Developer>> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  let q = ctx.db
    .selectFrom("developers")
    .selectAll()
    .orderBy("id")
    .limit(limit + 1);
  if (page.after !== undefined) q = q.where("id", ">", page.after);
  if (page.teamId !== undefined) q = q.where("team_id", "=", page.teamId);
  return pageOf((await q.execute()).map(developerFromRow), limit);
}

export async function updateDeveloper(ctx: RepoContext, id: string, patch: DeveloperPatch): Promise<Developer> {
  const current = await getDeveloper(ctx, id);
  if (!current) throw notFound("developer", id);
  if (patch.teamId != null && patch.teamId !== current.teamId) await assertTeamExists(ctx, patch.teamId, "teamId");
  if (patch.email != null && patch.email !== current.email) await assertEmailFree(ctx, patch.email, id);
  const changes = {
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(patch.email === undefined ? {} : { email: patch.email }),
    ...(patch.teamId === undefined ? {} : { team_id: patch.teamId }),
    ...(patch.labels === undefined ? {} : { labels: JSON.stringify(patch.labels) }),
    updated_at: ctx.clock.now(),
  };
  await guardConstraints(() => ctx.db.updateTable("developers").set(changes).where("id", "=", id).execute(), {
    unique: emailTaken(patch.email ?? ""),
    foreignKey: { field: "teamId", message: `no team "${patch.teamId}"` },
  });
  return (await getDeveloper(ctx, id)) ?? current;
}
