import { type Command, Option } from "commander";
import { CREDENTIAL_POLICIES } from "../../governance/entities/types.ts";
import {
  type AdminClient,
  action,
  addConnectionOptions,
  type CreatedKey,
  clientFor,
  type KeyWithSecretView,
  resolveId,
  type VirtualKey,
  type WithLimits,
} from "../api-client.ts";
import { collect, parseDuration, parseLabels, parseList, positiveInt, SpecError } from "../budget-spec.ts";
import {
  addFormatOption,
  formatLabels,
  formatTime,
  print,
  printJson,
  renderFields,
  renderLimits,
  renderTable,
  style,
} from "../format.ts";
import { addLimitOptions, createLimits, type LimitOptions, limitsFrom } from "./entities.ts";

/** `tollgate keys …`: virtual keys through `/api/virtual-keys`. */

interface KeyOptions {
  format: "table" | "json";
  team?: string;
  customer?: string;
  developer?: string;
  description?: string;
  models?: string;
  providers?: string;
  expires?: string;
  label?: string[];
  credentialPolicy?: string;
}

/** `30d` from now, an ISO 8601 date-time, or `never` (null). */
export function parseExpiry(text: string, now: number): number | null {
  if (text === "never" || text === "none") return null;
  const after = parseDuration(text);
  if (after !== null) return now + after;
  const at = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(at)) return at;
  throw new SpecError(
    `invalid --expires "${text}": expected a duration from now (30d, 12h), a date (2026-12-31) or never`,
  );
}

function statusText(status: VirtualKey["status"]): string {
  const colour = status === "active" ? "green" : status === "revoked" ? "red" : "yellow";
  return style(colour, status);
}

function ownerText(key: VirtualKey): string {
  return key.teamId ?? key.customerId ?? "-";
}

function keyFields(key: VirtualKey): string {
  return renderFields([
    ["id", key.id],
    ["name", key.name],
    ["status", statusText(key.status)],
    ["prefix", key.displayPrefix],
    ["description", key.description],
    ["team", key.teamId],
    ["customer", key.customerId],
    ["developer", key.developerId],
    ["models", key.allowedModels?.join(", ") ?? "any"],
    ["providers", key.allowedProviders?.join(", ") ?? "any"],
    ["credentials", key.credentialPolicy],
    ["labels", formatLabels(key.labels)],
    ["expires", key.expiresAt === null ? "never" : formatTime(key.expiresAt)],
    ["revoked", key.revokedAt === null ? null : formatTime(key.revokedAt)],
    [
      "previous secret valid until",
      key.previousSecretValidUntil === null ? null : formatTime(key.previousSecretValidUntil),
    ],
    ["created", formatTime(key.createdAt)],
  ]);
}

function printSecret(key: KeyWithSecretView): void {
  print(renderFields([["secret", style("bold", key.secret)]]));
  process.stderr.write(`${style("yellow", key.notice, process.stderr)}\n`);
}

/** The owner and policy fields both create and update take. */
async function commonFields(client: AdminClient, opts: KeyOptions, now: number): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  if (opts.team !== undefined) body.teamId = opts.team === "none" ? null : await resolveId(client, "team", opts.team);
  if (opts.customer !== undefined)
    body.customerId = opts.customer === "none" ? null : await resolveId(client, "customer", opts.customer);
  if (opts.developer !== undefined)
    body.developerId = opts.developer === "none" ? null : await resolveId(client, "developer", opts.developer);
  if (opts.description !== undefined) body.description = opts.description === "" ? null : opts.description;
  if (opts.models !== undefined) body.allowedModels = parseList(opts.models);
  if (opts.providers !== undefined) body.allowedProviders = parseList(opts.providers);
  if (opts.expires !== undefined) body.expiresAt = parseExpiry(opts.expires, now);
  if (opts.label !== undefined) body.labels = parseLabels(opts.label);
  if (opts.credentialPolicy !== undefined) body.credentialPolicy = opts.credentialPolicy;
  return body;
}

function addKeyFieldOptions(cmd: Command): Command {
  return cmd
    .option("--team <team>", 'owning team (id or name; "none" to clear on update)')
    .option("--customer <customer>", "owning customer, for a key outside any team (id or name)")
    .option("--developer <developer>", "the developer using the key (id or name)")
    .option("--description <text>", "a description")
    .option("--models <globs>", 'allowed models, comma-separated globs (claude-*,gpt-4.1); "none": any')
    .option("--providers <globs>", 'allowed providers, comma-separated globs; "none": any')
    .option("--expires <when>", "expiry: a duration from now (30d), a date (2026-12-31) or never")
    .option("--label <name=value>", "a label, repeatable (replaces all labels on update)", collect)
    .addOption(
      new Option("--credential-policy <policy>", "whether a client's own provider credential is forwarded").choices(
        CREDENTIAL_POLICIES,
      ),
    );
}

export function registerKeys(program: Command): void {
  const keys = program
    .command("keys")
    .description("manage virtual keys (sk-tg-…) on a running gateway")
    .addHelpText(
      "after",
      `
Examples:
  $ tollgate keys create ci-bot --team Payments --budget 5/day --rate 60rpm
  $ tollgate keys create ada --developer ada@example.com --budget 50/month --budget 500/never --models 'claude-*'
  $ tollgate keys list --format json
  $ tollgate keys rotate ci-bot --grace 1h
  $ tollgate keys revoke vk_0199…`,
    );

  const create = keys
    .command("create")
    .description("create a virtual key; its secret is shown once")
    .argument("<name>", "a name for the key");
  addKeyFieldOptions(create);
  addLimitOptions(create);
  addFormatOption(addConnectionOptions(create)).action(
    action(async (name: string, opts: KeyOptions & LimitOptions, cmd: Command) => {
      const { budgets, rateLimits } = limitsFrom(opts);
      const client = await clientFor(cmd);
      const body = { name, ...(await commonFields(client, opts, Date.now())) };
      if (budgets.length > 0) Object.assign(body, { budgets });
      if (rateLimits.length > 0) Object.assign(body, { rateLimits });
      const created = await client.post<CreatedKey>("/virtual-keys", body);
      if (opts.format === "json") return printJson(created);
      print(`Created virtual key ${style("bold", created.id)} (${created.name})`);
      printSecret(created);
      if (created.budgets.length > 0 || created.rateLimits.length > 0)
        print(`\n${renderLimits(created.budgets, created.rateLimits)}`);
    }),
  );

  const list = keys
    .command("list")
    .alias("ls")
    .description("list virtual keys")
    .option("--team <team>", "only this team's keys (id or name)")
    .option("--customer <customer>", "only this customer's keys (id or name)")
    .option("--developer <developer>", "only this developer's keys (id or name)")
    .option("--limit <n>", "at most this many", positiveInt);
  addFormatOption(addConnectionOptions(list)).action(
    action(async (opts: KeyOptions & { limit?: number }, cmd: Command) => {
      const client = await clientFor(cmd);
      const query = {
        teamId: opts.team === undefined ? undefined : await resolveId(client, "team", opts.team),
        customerId: opts.customer === undefined ? undefined : await resolveId(client, "customer", opts.customer),
        developerId: opts.developer === undefined ? undefined : await resolveId(client, "developer", opts.developer),
      };
      const items = await client.list<VirtualKey>("/virtual-keys", query, opts.limit);
      if (opts.format === "json") return printJson(items);
      print(
        renderTable<VirtualKey>(
          [
            { header: "ID", value: (k) => k.id },
            { header: "NAME", value: (k) => k.name },
            { header: "STATUS", value: (k) => statusText(k.status) },
            { header: "PREFIX", value: (k) => k.displayPrefix },
            { header: "TEAM/CUSTOMER", value: ownerText },
            { header: "DEVELOPER", value: (k) => k.developerId ?? "-" },
            { header: "EXPIRES", value: (k) => (k.expiresAt === null ? "never" : formatTime(k.expiresAt)) },
            { header: "CREATED", value: (k) => formatTime(k.createdAt) },
          ],
          items,
          "no virtual keys",
        ),
      );
    }),
  );

  const show = keys
    .command("show")
    .description("show a virtual key with its budgets (and their current spend) and rate limits")
    .argument("<key>", "the key's id or name");
  addFormatOption(addConnectionOptions(show)).action(
    action(async (ref: string, opts: { format: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const key = await client.get<WithLimits<VirtualKey>>(`/virtual-keys/${await resolveId(client, "key", ref)}`);
      if (opts.format === "json") return printJson(key);
      print(`${keyFields(key)}\n\n${renderLimits(key.budgets, key.rateLimits)}`);
    }),
  );

  const update = keys
    .command("update")
    .description("change a virtual key; --budget and --rate add limits")
    .argument("<key>", "the key's id or name")
    .option("--name <name>", "a new name")
    .option("--enable", "let the key be used again")
    .option("--disable", "stop the key for now (revoke to end it for good)");
  addKeyFieldOptions(update);
  addLimitOptions(update);
  addFormatOption(addConnectionOptions(update)).action(
    action(
      async (
        ref: string,
        opts: KeyOptions & LimitOptions & { name?: string; enable?: boolean; disable?: boolean },
        cmd: Command,
      ) => {
        if (opts.enable && opts.disable) throw new SpecError("give --enable or --disable, not both");
        const limits = limitsFrom(opts);
        const client = await clientFor(cmd);
        const patch = await commonFields(client, opts, Date.now());
        if (opts.name !== undefined) patch.name = opts.name;
        if (opts.enable) patch.active = true;
        if (opts.disable) patch.active = false;
        if (Object.keys(patch).length === 0 && limits.budgets.length + limits.rateLimits.length === 0)
          throw new SpecError("nothing to change: give at least one option (see --help)");
        const id = await resolveId(client, "key", ref);
        const key =
          Object.keys(patch).length > 0
            ? await client.patch<VirtualKey>(`/virtual-keys/${id}`, patch)
            : await client.get<VirtualKey>(`/virtual-keys/${id}`);
        const added = await createLimits(client, "key", id, limits);
        if (opts.format === "json") return printJson({ ...key, ...added });
        print(keyFields(key));
        if (added.budgets.length > 0 || added.rateLimits.length > 0)
          print(`\nAdded:\n${renderLimits(added.budgets, added.rateLimits)}`);
      },
    ),
  );

  const rotate = keys
    .command("rotate")
    .description("give a virtual key a new secret (shown once); the old one works for a grace period")
    .argument("<key>", "the key's id or name")
    .option("--grace <duration>", "how long the old secret keeps working: 0, 30m, 24h (default), 7d; at most 30d");
  addFormatOption(addConnectionOptions(rotate)).action(
    action(async (ref: string, opts: { format: string; grace?: string }, cmd: Command) => {
      let body: { gracePeriodSeconds: number } | undefined;
      if (opts.grace !== undefined) {
        const ms = opts.grace.trim() === "0" ? 0 : parseDuration(opts.grace);
        if (ms === null)
          throw new SpecError(`invalid --grace "${opts.grace}": expected a duration such as 0, 30m, 24h or 7d`);
        body = { gracePeriodSeconds: Math.round(ms / 1000) };
      }
      const client = await clientFor(cmd);
      const key = await client.post<KeyWithSecretView>(
        `/virtual-keys/${await resolveId(client, "key", ref)}/rotate`,
        body,
      );
      if (opts.format === "json") return printJson(key);
      print(`Rotated virtual key ${style("bold", key.id)} (${key.name})`);
      printSecret(key);
    }),
  );

  const revoke = keys
    .command("revoke")
    .description("revoke a virtual key for good (its history stays)")
    .argument("<key>", "the key's id or name");
  addFormatOption(addConnectionOptions(revoke)).action(
    action(async (ref: string, opts: { format: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const key = await client.post<VirtualKey>(`/virtual-keys/${await resolveId(client, "key", ref)}/revoke`);
      if (opts.format === "json") return printJson(key);
      print(`Revoked virtual key ${style("bold", key.id)} (${key.name})`);
    }),
  );

  const remove = keys
    .command("delete")
    .description("delete a virtual key and its budgets and rate limits (revoke keeps it visible instead)")
    .argument("<key>", "the key's id or name");
  addFormatOption(addConnectionOptions(remove)).action(
    action(async (ref: string, opts: { format: string }, cmd: Command) => {
      const client = await clientFor(cmd);
      const result = await client.delete<{ deleted: string }>(`/virtual-keys/${await resolveId(client, "key", ref)}`);
      if (opts.format === "json") return printJson(result);
      print(`Deleted virtual key ${result.deleted}`);
    }),
  );
}
