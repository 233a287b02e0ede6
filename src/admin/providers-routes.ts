import type { FastifyInstance, FastifyReply } from "fastify";
import { request } from "undici";
import { z } from "zod";
import { mergeProviders } from "../config/load.ts";
import { authHeaders, upstreamUrl } from "../providers/endpoints.ts";
import { findPreset, PROVIDER_PRESETS } from "../providers/presets.ts";
import {
  buildProviderConfig,
  EncryptionKeyMismatchError,
  keyFingerprint,
  type LoadedProviders,
  type NewKey,
  ProviderStore,
  type StoredProvider,
  type StoredProviderRecord,
} from "../providers/provider-store.ts";
import { ProviderRegistry } from "../providers/registry.ts";
import type { ConfigSource, ProviderConfig } from "../providers/types.ts";
import { openSecretBox } from "../secrets/master-key.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { AdminContext } from "./context.ts";
import { applyStoredPriceOverrides } from "./pricing-routes.ts";

/** How long "test this key" waits for the provider. */
const KEY_TEST_TIMEOUT_MS = 10_000;

/**
 * `/api/providers`: every provider (env, config file, API) without its secrets, and CRUD for API-made ones, which
 * are stored encrypted and override an env/config provider of the same name. On registration the stored providers
 * and price overrides are loaded and applied; each change swaps `runtime.registry` for a new snapshot at once, so
 * requests in flight keep the one they started with.
 */
export async function registerProviderRoutes(api: FastifyInstance, ctx: AdminContext): Promise<void> {
  const providers = new ApiProviders(ctx);
  await applyStoredPriceOverrides(ctx);
  await providers.reload();

  api.get("/providers", () => ({
    data: ctx.runtime.registry.list().map((p) => providers.view(p)),
    unavailable: providers.loaded.unreadable,
  }));

  api.get<{ Params: { name: string } }>("/providers/:name", (req, reply) => {
    const { name } = req.params;
    const live = ctx.runtime.registry.get(name);
    const unreadable = providers.unreadable(name);
    // A stored provider that cannot be read is shown (so it can be deleted), beside what serves the name meanwhile.
    if (unreadable)
      return { ...(live ? providers.view(live) : { name, source: "api" }), unavailable: unreadable.reason };
    if (!live) return notFound(reply, name);
    return providers.view(live);
  });

  api.post("/providers", (req, reply) =>
    providers.exclusive(async () => {
      const parsed = CreateProviderSchema.safeParse(req.body);
      if (!parsed.success) return invalid(reply, "Invalid provider", parsed.error);
      const input = parsed.data;
      const record = resolveRecord(input.name, input);
      if (typeof record === "string") return replyError(reply, 400, "invalid_request", record);
      const keys: NewKey[] = (input.apiKeys ?? []).map((k) => ({ secret: k.key, label: k.label ?? null }));
      const created = await providers.guard(reply, () => providers.store.create(record, keys));
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
      const shadowed = ctx.runtime.config.providers.find((p) => p.name === input.name);
      const live = ctx.runtime.registry.get(input.name);
      return reply.code(201).send({
        ...(live ? providers.view(live) : { name: input.name }),
        ...(shadowed
          ? {
              notice: `This provider overrides the "${input.name}" provider from ${sourceName(shadowed.source)} until it is deleted.`,
            }
          : {}),
      });
    }),
  );

  api.patch<{ Params: { name: string } }>("/providers/:name", (req, reply) =>
    providers.exclusive(async () => {
      const { name } = req.params;
      const stored = providers.stored(name);
      if (!stored) return providers.notStored(reply, name);
      const parsed = PatchProviderSchema.safeParse(req.body ?? {});
      if (!parsed.success) return invalid(reply, "Invalid provider change", parsed.error);
      const patch = parsed.data;
      const preset = patch.preset === undefined ? stored.settings.preset : (patch.preset ?? undefined);
      const record = resolveRecord(
        name,
        {
          ...(preset === undefined ? {} : { preset }),
          // A new preset brings its own kind unless one is given.
          kind: patch.kind ?? (patch.preset ? undefined : stored.kind),
          baseUrl: patch.baseUrl === undefined ? (stored.baseUrl ?? undefined) : (patch.baseUrl ?? undefined),
          models: patch.models ?? stored.settings.models,
          headers: patch.headers ?? stored.settings.headers,
          pricingId: patch.pricingId === undefined ? stored.settings.pricingId : patch.pricingId,
        },
        { explicitPresetOnly: true },
      );
      if (typeof record === "string") return replyError(reply, 400, "invalid_request", record);
      await providers.store.update(record);
      await providers.reload();
      const live = ctx.runtime.registry.get(name);
      return live ? providers.view(live) : { name };
    }),
  );

  api.delete<{ Params: { name: string } }>("/providers/:name", (req, reply) =>
    providers.exclusive(async () => {
      const { name } = req.params;
      if (!(await providers.store.has(name))) return providers.notStored(reply, name);
      await providers.store.delete(name);
      await providers.reload();
      const restored = ctx.runtime.config.providers.find((p) => p.name === name);
      return {
        deleted: name,
        ...(restored ? { notice: `The "${name}" provider from ${sourceName(restored.source)} is in use again.` } : {}),
      };
    }),
  );

  api.post<{ Params: { name: string } }>("/providers/:name/keys", (req, reply) =>
    providers.exclusive(async () => {
      const { name } = req.params;
      if (!providers.stored(name)) return providers.notStored(reply, name);
      const parsed = NewKeySchema.safeParse(req.body);
      if (!parsed.success) return invalid(reply, "Invalid key", parsed.error);
      const added = await providers.guard(reply, () =>
        providers.store.addKey(name, { secret: parsed.data.key, label: parsed.data.label ?? null }),
      );
      if (added === undefined) return reply;
      if (added === null) return notFound(reply, name);
      await providers.reload();
      return reply
        .code(201)
        .send({ id: added.id, label: added.label, fingerprint: added.fingerprint, disabled: false });
    }),
  );

  api.delete<{ Params: { name: string; id: string } }>("/providers/:name/keys/:id", (req, reply) =>
    providers.exclusive(async () => {
      const { name, id } = req.params;
      if (!providers.stored(name)) return providers.notStored(reply, name);
      if (!(await providers.store.deleteKey(name, id))) return keyNotFound(reply, name, id);
      await providers.reload();
      return { deleted: id };
    }),
  );

  api.patch<{ Params: { name: string; id: string } }>("/providers/:name/keys/:id", (req, reply) =>
    providers.exclusive(async () => {
      const { name, id } = req.params;
      if (!providers.stored(name)) return providers.notStored(reply, name);
      const parsed = PatchKeySchema.safeParse(req.body);
      if (!parsed.success) return invalid(reply, "Invalid key change", parsed.error);
      const key = await providers.store.setKeyDisabled(name, id, parsed.data.disabled);
      if (!key) return keyNotFound(reply, name, id);
      await providers.reload();
      return { id: key.id, label: key.label, fingerprint: key.fingerprint, source: "api", disabled: key.disabled };
    }),
  );

  api.post<{ Params: { name: string; id: string } }>("/providers/:name/keys/:id/test", async (req, reply) => {
    const { name, id } = req.params;
    const provider = ctx.runtime.registry.get(name);
    if (!provider) return notFound(reply, name);
    // Disabled stored keys can be tested too (to decide whether to enable them again).
    const secret =
      provider.keys.find((k) => k.id === id)?.secret ?? providers.stored(name)?.keys.find((k) => k.id === id)?.secret;
    if (secret === undefined) return keyNotFound(reply, name, id);
    return testKey(ctx, provider, secret);
  });

  api.post<{ Params: { name: string } }>("/providers/:name/test", async (req, reply) => {
    const { name } = req.params;
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
    return testKey(ctx, provider, key?.secret ?? null);
  });
}

/** The API-made providers: their store, the last load, and the registry swap. */
class ApiProviders {
  readonly store: ProviderStore;
  loaded: LoadedProviders = { providers: [], unreadable: [] };
  readonly #ctx: AdminContext;
  #box: Promise<SecretBox> | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
    this.store = new ProviderStore({ db: ctx.database.db, secrets: () => this.#secrets(), clock: ctx.runtime.clock });
  }

  /** Re-reads the stored providers and swaps in a registry built from env/config providers plus them. */
  async reload(): Promise<void> {
    this.loaded = await this.store.load();
    for (const p of this.loaded.unreadable) {
      this.#ctx.runtime.warn(`stored provider "${p.name}" is skipped: ${p.reason}`);
    }
    const stored = this.loaded.providers.map((p) => p.config);
    this.#ctx.runtime.registry = new ProviderRegistry(mergeProviders(this.#ctx.runtime.config.providers, stored));
  }

  /** Runs changes one at a time, so two edits cannot interleave their reload and swap. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => {});
    return run;
  }

  stored(name: string): StoredProvider | undefined {
    return this.loaded.providers.find((p) => p.name === name);
  }

  unreadable(name: string): { name: string; reason: string } | undefined {
    return this.loaded.unreadable.find((p) => p.name === name);
  }

  /** 409 for env/config providers and for unreadable stored ones, 404 for unknown names. */
  notStored(reply: FastifyReply, name: string): FastifyReply {
    const unreadable = this.unreadable(name);
    if (unreadable) {
      return replyError(
        reply,
        409,
        "unavailable",
        `Stored provider "${name}" cannot be changed while it cannot be read (${unreadable.reason}); it can only be deleted.`,
      );
    }
    const configured = this.#ctx.runtime.config.providers.find((p) => p.name === name);
    if (configured) {
      return replyError(
        reply,
        409,
        "conflict",
        `Provider "${name}" comes from ${sourceName(configured.source)} and is changed there, not through the API. ` +
          `To override it here, create an API provider with the same name (POST /api/providers).`,
      );
    }
    return notFound(reply, name);
  }

  /** Runs a write that encrypts keys; a master-key mismatch becomes a 409 (undefined: the reply is sent). */
  async guard<T>(reply: FastifyReply, write: () => Promise<T>): Promise<T | undefined> {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof EncryptionKeyMismatchError)) throw err;
      replyError(reply, 409, "encryption_key_mismatch", `Cannot store the key: ${err.message}.`);
      return undefined;
    }
  }

  /** A provider as the API shows it: never a secret, only key ids, labels and fingerprints. */
  view(p: ProviderConfig): ProviderView {
    const stored = p.source === "api" ? this.stored(p.name) : undefined;
    const inherited = stored ? p.keys.filter((k) => k.source !== "api") : p.keys;
    const keys: KeyView[] = [
      ...(stored?.keys ?? []).map((k) => ({
        id: k.id,
        label: k.label,
        fingerprint: k.fingerprint,
        source: "api" as const,
        disabled: k.disabled,
      })),
      ...inherited.map((k) => ({
        id: k.id,
        label: k.label,
        fingerprint: keyFingerprint(k.secret),
        source: k.source,
        disabled: false,
      })),
    ];
    const shadowed = p.source === "api" ? this.#ctx.runtime.config.providers.find((c) => c.name === p.name) : undefined;
    return {
      name: p.name,
      kind: p.kind,
      baseUrl: p.baseUrl,
      dialects: p.dialects,
      models: p.models,
      source: p.source,
      preset: stored ? (stored.settings.preset ?? null) : findPreset(p.name) ? p.name : null,
      pricingId: p.pricingId,
      keyOptional: p.keyOptional,
      // Header values may carry credentials: names only.
      headers: Object.keys(p.headers),
      keys,
      ...(shadowed ? { overrides: shadowed.source } : {}),
      ...(stored ? { createdAt: stored.createdAt, updatedAt: stored.updatedAt } : {}),
    };
  }

  /** The key box, opened on first need (so the key file appears only once a key is stored). */
  #secrets(): Promise<SecretBox> {
    this.#box ??= openSecretBox({
      encryptionKey: this.#ctx.runtime.config.encryptionKey,
      dataDir: this.#ctx.runtime.config.dataDir,
      warn: this.#ctx.runtime.warn,
    }).then(
      ({ box, masterKey }) => {
        if (masterKey.created) {
          this.#ctx.runtime.warn(
            `created ${masterKey.path}: the key that encrypts stored provider keys. Back it up with the database; without it they cannot be read (or set TOLLGATE_ENCRYPTION_KEY).`,
          );
        }
        return box;
      },
      (err: unknown) => {
        this.#box = null; // let a fixed key file be picked up on the next try
        throw err;
      },
    );
    return this.#box;
  }
}

interface KeyView {
  id: string;
  label: string | null;
  fingerprint: string;
  source: ConfigSource;
  disabled: boolean;
}

interface ProviderView {
  name: string;
  kind: ProviderConfig["kind"];
  baseUrl: string;
  dialects: ProviderConfig["dialects"];
  models: readonly string[];
  source: ConfigSource;
  preset: string | null;
  pricingId: string | null;
  keyOptional: boolean;
  headers: string[];
  keys: KeyView[];
  overrides?: ConfigSource;
  createdAt?: number;
  updatedAt?: number;
}

/** The result of "test this key". */
export interface KeyTestResult {
  ok: boolean;
  /** The provider's HTTP status; null when no answer came. */
  status: number | null;
  latencyMs: number;
  /** The provider's own error message (never the key). */
  error?: string;
}

/** A cheap authenticated call: the provider's model list. */
async function testKey(ctx: AdminContext, provider: ProviderConfig, secret: string | null): Promise<KeyTestResult> {
  const { clock, upstream } = ctx.runtime;
  const headers: Record<string, string> = {
    accept: "application/json",
    ...(provider.kind === "anthropic" ? { "anthropic-version": "2023-06-01" } : {}),
    ...provider.headers,
    ...(secret === null ? {} : authHeaders(provider, secret)),
  };
  const started = clock.now();
  const elapsed = () => Math.max(0, Math.round(clock.now() - started));
  try {
    const res = await request(upstreamUrl(provider, "models", "", ""), {
      method: "GET",
      headers,
      dispatcher: upstream,
      signal: AbortSignal.timeout(KEY_TEST_TIMEOUT_MS),
    });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return { ok: true, status: res.statusCode, latencyMs: elapsed() };
    }
    const text = await res.body.text();
    return {
      ok: false,
      status: res.statusCode,
      latencyMs: elapsed(),
      error: redact(providerErrorMessage(text, res.statusCode), secret),
    };
  } catch (err) {
    const e = err as Error;
    const message =
      e.name === "TimeoutError" || e.name === "AbortError"
        ? `no answer within ${KEY_TEST_TIMEOUT_MS / 1000} s`
        : `${e.message}${causeOf(e)}`;
    return { ok: false, status: null, latencyMs: elapsed(), error: redact(message, secret) };
  }
}

/** `error.message` of an Anthropic, OpenAI or Gemini error body; else the start of the body. */
function providerErrorMessage(text: string, status: number): string {
  try {
    const body: unknown = JSON.parse(text);
    const first = Array.isArray(body) ? body[0] : body; // Gemini sometimes wraps errors in an array
    if (isRecord(first)) {
      const { error, message } = first;
      if (typeof error === "string") return error;
      if (isRecord(error) && typeof error.message === "string") return error.message;
      if (typeof message === "string") return message;
    }
  } catch {
    // not JSON: use the text
  }
  const trimmed = text.trim().slice(0, 300);
  return trimmed === "" ? `HTTP ${status}` : trimmed;
}

function causeOf(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== err.message ? ` (${cause.message})` : "";
}

/** Belt and braces: a provider that echoes the key back must not get it into our response. */
function redact(text: string, secret: string | null): string {
  return secret ? text.replaceAll(secret, "[redacted]") : text;
}

// ── request bodies ─────────────────────────────────────────────────────────────

const KINDS = ["anthropic", "openai", "gemini"] as const;
const KindSchema = z.enum(KINDS, { error: `kind must be one of ${KINDS.map((k) => `"${k}"`).join(", ")}` });
const NameSchema = z
  .string()
  .max(64, "name is at most 64 characters")
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "name must be lowercase letters, digits, _ or -, starting with a letter or digit");
const HttpUrlSchema = z
  .string()
  .refine((s) => /^https?:\/\//i.test(s) && URL.canParse(s), "baseUrl must be an http(s) URL");
const SecretSchema = z
  .string()
  .min(1, "key is empty")
  .max(4096, "key is longer than 4096 characters")
  .regex(/^[\x21-\x7e]+$/, "key must be printable ASCII without spaces or line breaks");
const LabelSchema = z.string().trim().min(1).max(200);
// Headers Tollgate or the HTTP layer must own; a stored value would break every request.
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HeadersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  // Checked here rather than as the record's key schema, whose failures zod reports only as "Invalid key".
  for (const [name, value] of Object.entries(headers)) {
    const issue = (message: string) => ctx.addIssue({ code: "custom", path: [name], message });
    if (!HEADER_NAME.test(name)) issue("header names are HTTP tokens");
    else if (RESERVED_HEADERS.has(name.toLowerCase()))
      issue("this header is set by the HTTP layer and cannot be configured");
    if (/[\r\n\0]/.test(value)) issue("header values cannot contain line breaks");
  }
});
const ModelsSchema = z.array(z.string().trim().min(1)).max(1000);
const PricingIdSchema = z.string().trim().min(1).nullable();
const NewKeySchema = z.strictObject({ key: SecretSchema, label: LabelSchema.optional() });

const CreateProviderSchema = z.strictObject({
  name: NameSchema,
  preset: z.string().min(1).optional(),
  kind: KindSchema.optional(),
  baseUrl: HttpUrlSchema.optional(),
  apiKeys: z.array(NewKeySchema).max(100).optional(),
  models: ModelsSchema.optional(),
  headers: HeadersSchema.optional(),
  pricingId: PricingIdSchema.optional(),
});

const PatchProviderSchema = z
  .object({
    preset: z.string().min(1).nullable().optional(),
    kind: KindSchema.optional(),
    baseUrl: HttpUrlSchema.nullable().optional(),
    models: ModelsSchema.optional(),
    headers: HeadersSchema.optional(),
    pricingId: PricingIdSchema.optional(),
    apiKeys: z.never({ error: "keys are changed with POST/PATCH/DELETE /api/providers/<name>/keys" }).optional(),
    name: z.never({ error: "a provider cannot be renamed; create a new one" }).optional(),
  })
  .strict();

const PatchKeySchema = z.strictObject({ disabled: z.boolean() });

interface ProviderInput {
  preset?: string | undefined;
  kind?: (typeof KINDS)[number] | undefined;
  baseUrl?: string | undefined;
  models?: string[] | undefined;
  headers?: Record<string, string> | undefined;
  pricingId?: string | null | undefined;
}

/**
 * The row to store for a provider, resolved as config-file entries are (config/load.ts): the preset is the one
 * named, or the provider's own name when that is a preset; a provider with no preset needs `kind` and `baseUrl`.
 * Returns an error message for the client when the input does not describe a usable provider.
 */
function resolveRecord(
  name: string,
  input: ProviderInput,
  options: { explicitPresetOnly?: boolean } = {},
): StoredProviderRecord | string {
  const known = PROVIDER_PRESETS.map((p) => p.name).join(", ");
  if (input.preset !== undefined && !findPreset(input.preset))
    return `Unknown preset "${input.preset}" (known: ${known}).`;
  const presetName = input.preset ?? (!options.explicitPresetOnly && findPreset(name) ? name : undefined);
  const preset = presetName === undefined ? undefined : findPreset(presetName);
  const kind = input.kind ?? preset?.kind;
  if (!kind) {
    return `"${name}" is not a built-in provider: set "preset" (one of ${known}) or "kind" (${KINDS.map((k) => `"${k}"`).join(", ")}).`;
  }
  if (input.baseUrl === undefined && !preset) return `"baseUrl" is required for a provider without a preset.`;
  const record: StoredProviderRecord = {
    name,
    kind,
    baseUrl: input.baseUrl ?? null,
    settings: {
      ...(presetName === undefined ? {} : { preset: presetName }),
      ...(input.models === undefined ? {} : { models: input.models }),
      ...(input.headers === undefined ? {} : { headers: input.headers }),
      ...(input.pricingId === undefined ? {} : { pricingId: input.pricingId }),
    },
  };
  try {
    buildProviderConfig(record, []);
  } catch (err) {
    return `Provider "${name}" is not usable: ${(err as Error).message}.`;
  }
  return record;
}

// ── replies ────────────────────────────────────────────────────────────────────

function sourceName(source: ConfigSource): string {
  return source === "env" ? "the environment" : source === "config" ? "the config file" : "the API";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(reply: FastifyReply, what: string, error: z.ZodError): FastifyReply {
  const issues = error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
  const message = issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
  return reply.code(400).send({ error: { type: "invalid_request", message: `${what}: ${message}`, details: issues } });
}

function notFound(reply: FastifyReply, name: string): FastifyReply {
  return replyError(reply, 404, "not_found", `No provider "${name}".`);
}

function keyNotFound(reply: FastifyReply, name: string, id: string): FastifyReply {
  return replyError(reply, 404, "not_found", `Provider "${name}" has no key "${id}".`);
}

function replyError(
  reply: FastifyReply,
  status: number,
  type: string,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply.code(status).send({ error: { type, message }, ...extra });
}
