import type { Command } from "commander";
import {
  type AdminClient,
  ApiError,
  action,
  addConnectionOptions,
  type BudgetView,
  type Customer,
  clientFor,
  type DeleteView,
  type Developer,
  type EntityKind,
  entityPath,
  type RateLimit,
  resolveId,
  type Team,
  type WithLimits,
} from "../api-client.ts";
import { collect, parseBudgetSpec, parseLabels, parseRateSpec, positiveInt, SpecError } from "../budget-spec.ts";
import {
  addFormatOption,
  type Column,
  formatLabels,
  formatTime,
  print,
  printJson,
  renderFields,
  renderLimits,
  renderTable,
  style,
} from "../format.ts";

/** `tollgate customers|teams|developers …`: the owners of keys, through `/api/customers`, `/api/teams`, `/api/developers`. */

const BUDGET_HELP = "add a budget, AMOUNT/PERIOD: 50/month, 50/1mo, 5/day, 200/never, 20/2w:rolling (repeatable)";
const RATE_HELP = "add a rate limit: 60rpm, 100000tpm, 5concurrent, 500req/10s, 2Mtok/1d (repeatable)";

export interface LimitOptions {
  budget?: string[];
  rate?: string[];
  timeZone?: string;
}

/** `--budget`, `--rate`, `--time-zone`: limits scoped to an entity (a key, team, customer or developer). */
export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option("--budget <spec>", BUDGET_HELP, collect)
    .option("--rate <spec>", RATE_HELP, collect)
    .option("--time-zone <zone>", "IANA time zone of calendar budgets (default UTC)");
}

/** The budgets and rate limits asked for, checked before anything is written. */
export function limitsFrom(opts: LimitOptions) {
  const budgets = (opts.budget ?? []).map(parseBudgetSpec).map((b) => ({
    ...b,
    ...(opts.timeZone !== undefined && b.mode === "calendar" ? { timeZone: opts.timeZone } : {}),
  }));
  return { budgets, rateLimits: (opts.rate ?? []).map(parseRateSpec) };
}

/** Creates the limits on an existing entity through /api/budgets and /api/rate-limits. */
export async function createLimits(
  client: AdminClient,
  scopeType: EntityKind,
  scopeId: string,
  limits: ReturnType<typeof limitsFrom>,
): Promise<{ budgets: BudgetView[]; rateLimits: RateLimit[] }> {
  const out = { budgets: [] as BudgetView[], rateLimits: [] as RateLimit[] };
  try {
    for (const b of limits.budgets)
      out.budgets.push(await client.post<BudgetView>("/budgets", { scopeType, scopeId, ...b }));
    for (const r of limits.rateLimits)
      out.rateLimits.push(await client.post<RateLimit>("/rate-limits", { scopeType, scopeId, ...r }));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const done = out.budgets.length + out.rateLimits.length;
    throw new ApiError(
      err.status,
      err.type,
      `${scopeId} is saved, but adding its limits failed after ${done} of ${limits.budgets.length + limits.rateLimits.length}: ${err.message}`,
      err.details,
    );
  }
  return out;
}

interface EntityDef<T extends { id: string; name: string }> {
  kind: "customer" | "team" | "developer";
  plural: string;
  noun: string;
  columns: Column<T>[];
  fields: (entity: T) => Array<[string, string | null | undefined]>;
  /** Options for create and update beyond name and labels. */
  options: (cmd: Command) => void;
  /** The body fields those options give (on update, only those given). */
  body: (client: AdminClient, opts: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** List filters: option name → query parameter, resolved as this kind. */
  filters: Array<{ flag: string; option: string; query: string; kind: EntityKind; help: string }>;
  examples: string;
}

const NONE = "none";

async function refOrNull(client: AdminClient, kind: EntityKind, ref: string): Promise<string | null> {
  return ref === NONE ? null : resolveId(client, kind, ref);
}

const customer: EntityDef<Customer> = {
  kind: "customer",
  plural: "customers",
  noun: "customer",
  columns: [
    { header: "ID", value: (c) => c.id },
    { header: "NAME", value: (c) => c.name },
    { header: "DESCRIPTION", value: (c) => c.description ?? "-" },
    { header: "LABELS", value: (c) => formatLabels(c.labels) },
    { header: "CREATED", value: (c) => formatTime(c.createdAt) },
  ],
  fields: (c) => [
    ["id", c.id],
    ["name", c.name],
    ["description", c.description],
    ["labels", formatLabels(c.labels)],
    ["created", formatTime(c.createdAt)],
  ],
  options: (cmd) => {
    cmd.option("--description <text>", "a description");
  },
  body: async (_client, opts) => {
    const body: Record<string, unknown> = {};
    if (typeof opts.description === "string") body.description = opts.description === "" ? null : opts.description;
    return body;
  },
  filters: [],
  examples: `
Examples:
  $ tollgate customers create Acme --budget 1000/month
  $ tollgate customers list --format json
  $ tollgate customers delete Acme --cascade`,
};

const team: EntityDef<Team> = {
  kind: "team",
  plural: "teams",
  noun: "team",
  columns: [
    { header: "ID", value: (t) => t.id },
    { header: "NAME", value: (t) => t.name },
    { header: "CUSTOMER", value: (t) => t.customerId ?? "-" },
    { header: "LABELS", value: (t) => formatLabels(t.labels) },
    { header: "CREATED", value: (t) => formatTime(t.createdAt) },
  ],
  fields: (t) => [
    ["id", t.id],
    ["name", t.name],
    ["customer", t.customerId],
    ["description", t.description],
    ["labels", formatLabels(t.labels)],
    ["model aliases", t.modelAliases.length > 0 ? t.modelAliases.map((a) => `${a.match}→${a.to}`).join(", ") : null],
    ["created", formatTime(t.createdAt)],
  ],
  options: (cmd) => {
    cmd
      .option("--customer <customer>", `the customer it belongs to (id or name; "${NONE}" to clear on update)`)
      .option("--description <text>", "a description")
      .option(
        "--alias <match=model>",
        "a model alias for the team's keys, e.g. 'claude-*=anthropic/claude-sonnet-4-5' (repeatable; replaces all on update)",
        collect,
      );
  },
  body: async (client, opts) => {
    const body: Record<string, unknown> = {};
    if (typeof opts.customer === "string") body.customerId = await refOrNull(client, "customer", opts.customer);
    if (typeof opts.description === "string") body.description = opts.description === "" ? null : opts.description;
    if (Array.isArray(opts.alias)) {
      body.modelAliases = (opts.alias as string[]).map((spec) => {
        const eq = spec.indexOf("=");
        if (eq <= 0)
          throw new SpecError(
            `invalid --alias "${spec}": expected MATCH=MODEL, e.g. claude-*=anthropic/claude-sonnet-4-5`,
          );
        return { match: spec.slice(0, eq).trim(), to: spec.slice(eq + 1).trim() };
      });
    }
    return body;
  },
  filters: [
    {
      flag: "--customer <customer>",
      option: "customer",
      query: "customerId",
      kind: "customer",
      help: "only this customer's teams (id or name)",
    },
  ],
  examples: `
Examples:
  $ tollgate teams create Payments --customer Acme --budget 200/month --rate 120rpm
  $ tollgate teams list --customer Acme
  $ tollgate teams show Payments --format json`,
};

const developer: EntityDef<Developer> = {
  kind: "developer",
  plural: "developers",
  noun: "developer",
  columns: [
    { header: "ID", value: (d) => d.id },
    { header: "NAME", value: (d) => d.name },
    { header: "EMAIL", value: (d) => d.email ?? "-" },
    { header: "TEAM", value: (d) => d.teamId ?? "-" },
    { header: "CREATED", value: (d) => formatTime(d.createdAt) },
  ],
  fields: (d) => [
    ["id", d.id],
    ["name", d.name],
    ["email", d.email],
    ["team", d.teamId],
    ["labels", formatLabels(d.labels)],
    ["created", formatTime(d.createdAt)],
  ],
  options: (cmd) => {
    cmd
      .option("--email <email>", `the developer's email ("${NONE}" to clear on update)`)
      .option("--team <team>", `the developer's team (id or name; "${NONE}" to clear on update)`);
  },
  body: async (client, opts) => {
    const body: Record<string, unknown> = {};
    if (typeof opts.email === "string") body.email = opts.email === NONE ? null : opts.email;
    if (typeof opts.team === "string") body.teamId = await refOrNull(client, "team", opts.team);
    return body;
  },
  filters: [
    {
      flag: "--team <team>",
      option: "team",
      query: "teamId",
      kind: "team",
      help: "only this team's developers (id or name)",
    },
  ],
  examples: `
Examples:
  $ tollgate developers create "Ada Lovelace" --email ada@example.com --team Payments --budget 50/month
  $ tollgate developers list --team Payments --format json`,
};

function register<T extends { id: string; name: string }>(program: Command, def: EntityDef<T>): void {
  const group = program
    .command(def.plural)
    .description(`manage ${def.plural} on a running gateway`)
    .addHelpText("after", def.examples);
  const path = entityPath(def.kind);
  const labelOption = (cmd: Command) =>
    cmd.option("--label <name=value>", "a label, repeatable (replaces all labels on update)", collect);

  const create = group
    .command("create")
    .description(`create a ${def.noun}`)
    .argument("<name>", `the ${def.noun}'s name`);
  def.options(create);
  labelOption(create);
  addLimitOptions(create);
  addFormatOption(addConnectionOptions(create)).action(
    action(async (name: string, opts: Record<string, unknown> & LimitOptions & { format: string }, cmd: Command) => {
      const limits = limitsFrom(opts);
      const client = await clientFor(cmd);
      const body = { name, ...(await def.body(client, opts)) };
      if (Array.isArray(opts.label)) Object.assign(body, { labels: parseLabels(opts.label as string[]) });
      const created = await client.post<T>(path, body);
      const added = await createLimits(client, def.kind, created.id, limits);
      if (opts.format === "json") return printJson({ ...created, ...added });
      print(`Created ${def.noun} ${style("bold", created.id)} (${created.name})`);
      if (added.budgets.length > 0 || added.rateLimits.length > 0)
        print(`\n${renderLimits(added.budgets, added.rateLimits)}`);
    }),
  );

  const list = group.command("list").alias("ls").description(`list ${def.plural}`);
  for (const f of def.filters) list.option(f.flag, f.help);
  list.option("--limit <n>", "at most this many", positiveInt);
  addFormatOption(addConnectionOptions(list)).action(
    action(async (opts: Record<string, unknown> & { format: string; limit?: number }, cmd: Command) => {
      const client = await clientFor(cmd);
      const query: Record<string, string> = {};
      for (const f of def.filters) {
        const ref = opts[f.option];
        if (typeof ref === "string") query[f.query] = await resolveId(client, f.kind, ref);
      }
      const items = await client.list<T>(path, query, opts.limit);
      if (opts.format === "json") return printJson(items);
      print(renderTable(def.columns, items, `no ${def.plural}`));
    }),
  );

  const show = group
    .command("show")
    .description(`show a ${def.noun} with its budgets (and their current spend) and rate limits`)
    .argument(`<${def.kind}>`, "id or name");
  addFormatOption(addConnectionOptions(show)).action(
    action(async (ref: string, opts: { format: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const entity = await client.get<WithLimits<T>>(`${path}/${await resolveId(client, def.kind, ref)}`);
      if (opts.format === "json") return printJson(entity);
      print(`${renderFields(def.fields(entity))}\n\n${renderLimits(entity.budgets, entity.rateLimits)}`);
    }),
  );

  const update = group
    .command("update")
    .description(`change a ${def.noun}; --budget and --rate add limits`)
    .argument(`<${def.kind}>`, "id or name")
    .option("--name <name>", "a new name");
  def.options(update);
  labelOption(update);
  addLimitOptions(update);
  addFormatOption(addConnectionOptions(update)).action(
    action(async (ref: string, opts: Record<string, unknown> & LimitOptions & { format: string }, cmd: Command) => {
      const limits = limitsFrom(opts);
      const client = await clientFor(cmd);
      const patch = await def.body(client, opts);
      if (typeof opts.name === "string") patch.name = opts.name;
      if (Array.isArray(opts.label)) patch.labels = parseLabels(opts.label as string[]);
      if (Object.keys(patch).length === 0 && limits.budgets.length + limits.rateLimits.length === 0)
        throw new SpecError("nothing to change: give at least one option (see --help)");
      const id = await resolveId(client, def.kind, ref);
      const entity =
        Object.keys(patch).length > 0
          ? await client.patch<T>(`${path}/${id}`, patch)
          : await client.get<T>(`${path}/${id}`);
      const added = await createLimits(client, def.kind, id, limits);
      if (opts.format === "json") return printJson({ ...entity, ...added });
      print(renderFields(def.fields(entity)));
      if (added.budgets.length > 0 || added.rateLimits.length > 0)
        print(`\nAdded:\n${renderLimits(added.budgets, added.rateLimits)}`);
    }),
  );

  const remove = group
    .command("delete")
    .description(`delete a ${def.noun}`)
    .argument(`<${def.kind}>`, "id or name")
    .option(
      "--cascade",
      "also delete what it owns (teams, keys, budgets, rate limits); without it, owners refuse to go",
    );
  addFormatOption(addConnectionOptions(remove)).action(
    action(async (ref: string, opts: { format: string; cascade?: boolean }, cmd: Command) => {
      const client = await clientFor(cmd);
      const id = await resolveId(client, def.kind, ref);
      const result = await client
        .delete<DeleteView>(`${path}/${id}`, opts.cascade ? { cascade: "true" } : undefined)
        .catch((err: unknown) => {
          // The API's advice names its query parameter; here it is a flag.
          if (err instanceof ApiError) err.message = err.message.replace("?cascade=true", "--cascade");
          throw err;
        });
      if (opts.format === "json") return printJson(result);
      const { teams, virtualKeys, budgets, rateLimits } = result.cascaded;
      const also = [
        teams.length > 0 ? `${teams.length} team(s)` : "",
        virtualKeys.length > 0 ? `${virtualKeys.length} key(s)` : "",
        budgets.length > 0 ? `${budgets.length} budget(s)` : "",
        rateLimits.length > 0 ? `${rateLimits.length} rate limit(s)` : "",
      ].filter((s) => s !== "");
      print(`Deleted ${def.noun} ${result.deleted}${also.length > 0 ? `, with ${also.join(", ")}` : ""}`);
      if (result.detached.developers.length > 0)
        print(`${result.detached.developers.length} developer(s) are now without a team`);
    }),
  );
}

export function registerCustomers(program: Command): void {
  register(program, customer);
}

export function registerTeams(program: Command): void {
  register(program, team);
}

export function registerDevelopers(program: Command): void {
  register(program, developer);
}

/** customers, teams and developers. */
export function registerEntities(program: Command): void {
  registerCustomers(program);
  registerTeams(program);
  registerDevelopers(program);
}
