import type { FastifyInstance, FastifyReply } from "fastify";
import type { z } from "zod";
import { applyStoredPriceOverrides } from "../metering/pricing/override-store.ts";
import { testKey } from "../providers/key-test.ts";
import type { NewKey } from "../providers/provider-store.ts";
import { ApiProviders } from "./api-providers.ts";
import type { AdminContext } from "./context.ts";
import {
  guardKeyWrite,
  invalid,
  keyNotFound,
  notFound,
  notStored,
  replyError,
  sourceName,
} from "./provider-replies.ts";
import {
  CreateProviderSchema,
  NewKeySchema,
  PatchKeySchema,
  PatchProviderSchema,
  patchRecord,
  resolveRecord,
} from "./provider-schemas.ts";
import { providerView, storedKeyView } from "./provider-views.ts";

interface NameParams {
  Params: { name: string };
}
interface KeyParams {
  Params: { name: string; id: string };
}

/** What every handler works with. */
interface Routes {
  ctx: AdminContext;
  providers: ApiProviders;
}

/**
 * `/api/providers`: every provider (env, config file, API) without its secrets, and CRUD for API-made ones, which
 * are stored encrypted and override an env/config provider of the same name. On registration the stored providers
 * and price overrides are loaded and applied; changes run one at a time and swap in a new registry snapshot.
 */
export async function registerProviderRoutes(api: FastifyInstance, ctx: AdminContext): Promise<void> {
  const providers = new ApiProviders(ctx);
  await applyStoredPriceOverrides(ctx);
  await providers.reload();
  const r: Routes = { ctx, providers };

  api.get("/providers", () => listProviders(r));
  api.get<NameParams>("/providers/:name", (req, reply) => showProvider(r, req.params.name, reply));
  api.post("/providers", (req, reply) => providers.exclusive(() => createProvider(r, req.body, reply)));
  api.patch<NameParams>("/providers/:name", (req, reply) =>
    providers.exclusive(() => patchProvider(r, req.params.name, req.body ?? {}, reply)),
  );
  api.delete<NameParams>("/providers/:name", (req, reply) =>
    providers.exclusive(() => deleteProvider(r, req.params.name, reply)),
  );

  api.post<NameParams>("/providers/:name/keys", (req, reply) =>
    providers.exclusive(() => addKey(r, req.params.name, req.body, reply)),
  );
  api.patch<KeyParams>("/providers/:name/keys/:id", (req, reply) =>
    providers.exclusive(() => patchKey(r, req.params, req.body, reply)),
  );
  api.delete<KeyParams>("/providers/:name/keys/:id", (req, reply) =>
    providers.exclusive(() => deleteKey(r, req.params, reply)),
  );

  api.post<KeyParams>("/providers/:name/keys/:id/test", async (req, reply) => testOneKey(r, req.params, reply));
  api.post<KeyParams>("/providers/:name/keys/:id/reset", (req, reply) => resetKey(r, req.params, reply));
  api.post<NameParams>("/providers/:name/test", async (req, reply) => testProvider(r, req.params.name, reply));
}

function listProviders({ ctx, providers }: Routes) {
  return {
    data: ctx.runtime.registry.list().map((p) => providerView(p, providers, ctx.runtime.health)),
    unavailable: providers.loaded.unreadable,
  };
}

function showProvider({ ctx, providers }: Routes, name: string, reply: FastifyReply) {
  const live = ctx.runtime.registry.get(name);
  const unreadable = providers.unreadable(name);
  // A stored provider that cannot be read is shown (so it can be deleted), beside what serves the name meanwhile.
  if (unreadable)
    return {
      ...(live ? providerView(live, providers, ctx.runtime.health) : { name, source: "api" }),
      unavailable: unreadable.reason,
    };
  if (!live) return notFound(reply, name);
  return providerView(live, providers, ctx.runtime.health);
}

async function createProvider({ ctx, providers }: Routes, body: unknown, reply: FastifyReply) {
  const parsed = CreateProviderSchema.safeParse(body);
  if (!parsed.success) return invalid(reply, "Invalid provider", parsed.error);
  const input = parsed.data;
  const record = resolveRecord(input.name, input);
  if (typeof record === "string") return replyError(reply, 400, "invalid_request", record);
  const keys: NewKey[] = (input.apiKeys ?? []).map(newKey);
  const created = await guardKeyWrite(reply, () => providers.store.create(record, keys));
  if (created === undefined) return reply;
  if (created === null) {
    return replyError(
      reply,
      409,
      "conflict",
      `Provider "${input.name}" already exists; change it with PATCH /api/providers/${input.name}.`,
    );
  }
  await providers.reload();
  ctx.runtime.health.reset(input.name);
  const shadowed = providers.configured(input.name);
  const live = ctx.runtime.registry.get(input.name);
  return reply.code(201).send({
    ...(live ? providerView(live, providers, ctx.runtime.health) : { name: input.name }),
    ...(shadowed
      ? {
          notice: `This provider overrides the "${input.name}" provider from ${sourceName(shadowed.source)} until it is deleted.`,
        }
      : {}),
  });
}

async function patchProvider({ ctx, providers }: Routes, name: string, body: unknown, reply: FastifyReply) {
  const stored = providers.stored(name);
  if (!stored) return notStored(reply, providers, name);
  const parsed = PatchProviderSchema.safeParse(body);
  if (!parsed.success) return invalid(reply, "Invalid provider change", parsed.error);
  const record = patchRecord(stored, parsed.data);
  if (typeof record === "string") return replyError(reply, 400, "invalid_request", record);
  await providers.store.update(record);
  await providers.reload();
  // An edited provider starts afresh: its flags, cooldowns and breaker were about the old settings.
  ctx.runtime.health.reset(name);
  const live = ctx.runtime.registry.get(name);
  return live ? providerView(live, providers, ctx.runtime.health) : { name };
}

async function deleteProvider({ ctx, providers }: Routes, name: string, reply: FastifyReply) {
  if (!(await providers.store.has(name))) return notStored(reply, providers, name);
  await providers.store.delete(name);
  await providers.reload();
  ctx.runtime.health.reset(name);
  const restored = providers.configured(name);
  return {
    deleted: name,
    ...(restored ? { notice: `The "${name}" provider from ${sourceName(restored.source)} is in use again.` } : {}),
  };
}

async function addKey({ providers }: Routes, name: string, body: unknown, reply: FastifyReply) {
  if (!providers.stored(name)) return notStored(reply, providers, name);
  const parsed = NewKeySchema.safeParse(body);
  if (!parsed.success) return invalid(reply, "Invalid key", parsed.error);
  const added = await guardKeyWrite(reply, () => providers.store.addKey(name, newKey(parsed.data)));
  if (added === undefined) return reply;
  if (added === null) return notFound(reply, name);
  await providers.reload();
  return reply.code(201).send(storedKeyView(added));
}

async function patchKey(
  { ctx, providers }: Routes,
  { name, id }: KeyParams["Params"],
  body: unknown,
  reply: FastifyReply,
) {
  if (!providers.stored(name)) return notStored(reply, providers, name);
  const parsed = PatchKeySchema.safeParse(body);
  if (!parsed.success) return invalid(reply, "Invalid key change", parsed.error);
  const key = await providers.store.updateKey(name, id, parsed.data);
  if (!key) return keyNotFound(reply, name, id);
  await providers.reload();
  // An edited key starts afresh (a 401/403 flag or a cooldown was about its old state).
  ctx.runtime.health.reset(name, id);
  return storedKeyView(key);
}

/** A key from a create or add body; leaving out `weight` or `models` stores the default. */
function newKey(body: z.infer<typeof NewKeySchema>): NewKey {
  return {
    secret: body.key,
    label: body.label ?? null,
    ...(body.weight === undefined ? {} : { weight: body.weight }),
    ...(body.models === undefined ? {} : { models: body.models }),
  };
}

async function deleteKey({ ctx, providers }: Routes, { name, id }: KeyParams["Params"], reply: FastifyReply) {
  if (!providers.stored(name)) return notStored(reply, providers, name);
  if (!(await providers.store.deleteKey(name, id))) return keyNotFound(reply, name, id);
  await providers.reload();
  ctx.runtime.health.reset(name, id);
  return { deleted: id };
}

/** Takes a key back into use (a flag after 401/403, a cooldown): env and config keys cannot be edited to do so. */
function resetKey({ ctx }: Routes, { name, id }: KeyParams["Params"], reply: FastifyReply) {
  const provider = ctx.runtime.registry.get(name);
  if (!provider) return notFound(reply, name);
  if (!provider.keys.some((k) => k.id === id)) return keyNotFound(reply, name, id);
  ctx.runtime.health.reset(name, id);
  return ctx.runtime.health.view(name, [id]).keys[0];
}

function testOneKey({ ctx, providers }: Routes, { name, id }: KeyParams["Params"], reply: FastifyReply) {
  const provider = ctx.runtime.registry.get(name);
  if (!provider) return notFound(reply, name);
  // Disabled stored keys can be tested too (to decide whether to enable them again).
  const secret =
    provider.keys.find((k) => k.id === id)?.secret ?? providers.stored(name)?.keys.find((k) => k.id === id)?.secret;
  if (secret === undefined) return keyNotFound(reply, name, id);
  return testKey(provider, secret, ctx.runtime);
}

function testProvider({ ctx }: Routes, name: string, reply: FastifyReply) {
  const provider = ctx.runtime.registry.get(name);
  if (!provider) return notFound(reply, name);
  const key = provider.keys[0];
  if (!key && !provider.keyOptional) {
    return replyError(
      reply,
      409,
      "conflict",
      `Provider "${name}" has no enabled API key to test; add one with POST /api/providers/${name}/keys.`,
    );
  }
  return testKey(provider, key?.secret ?? null, ctx.runtime);
}
