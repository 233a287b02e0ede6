import { z } from "zod";
import { type Clock, systemClock } from "../clock.ts";
import type { Dialect } from "../dialects/dialect.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import { uuidv7 } from "../store/ids.ts";
import type { Db } from "../store/schema.ts";
import { type AuthStyle, findPreset, type ProviderKind } from "./presets.ts";
import type { ProviderConfig, ProviderKey } from "./types.ts";

/**
 * Providers created through the management API, kept in the `providers` and `provider_keys` tables. Keys are
 * encrypted with a SecretBox (AES-256-GCM) before they reach the database; the plaintext lives only in memory.
 */

/** What the `settings` JSON column of `providers` holds. */
export interface StoredProviderSettings {
  /** Preset the provider starts from (auth, dialects, model patterns, default base URL and pricing id). */
  preset?: string;
  models?: string[];
  headers?: Record<string, string>;
  /** Explicit catalog id; absent: the preset's. */
  pricingId?: string | null;
}

/** A provider row as the API writes it. `baseUrl` null: the preset's. */
export interface StoredProviderRecord {
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  settings: StoredProviderSettings;
}

/** Everything about a stored key except its secret: safe to show. */
export interface KeyInfo {
  id: string;
  label: string | null;
  /** `…` and the secret's last 4 characters (nothing for short secrets). */
  fingerprint: string;
  disabled: boolean;
  createdAt: number;
  /** Share of the provider's traffic relative to its other keys; null: the default, 1. */
  weight: number | null;
  /** Models the key serves (exact names or globs); null: every model. */
  models: string[] | null;
}

export interface StoredKey extends KeyInfo {
  secret: string;
}

export interface StoredProvider extends StoredProviderRecord {
  /** Every key, disabled ones included (the registry gets only the enabled ones, through `config`). */
  keys: StoredKey[];
  createdAt: number;
  updatedAt: number;
  /** What the data plane uses: resolved against the preset, enabled keys only, source "api". */
  config: ProviderConfig;
}

/** A stored provider that could not be loaded (its keys do not decrypt, or its row is damaged). */
export interface UnreadableProvider {
  name: string;
  reason: string;
}

export interface LoadedProviders {
  providers: StoredProvider[];
  unreadable: UnreadableProvider[];
}

/** Routing settings of a key; absent or null: the default (weight 1, every model). */
export interface KeyRouting {
  weight?: number | null;
  models?: readonly string[] | null;
}

export interface NewKey extends KeyRouting {
  secret: string;
  label: string | null;
}

/** A change to a stored key: absent fields stay, null resets `weight` and `models` to their defaults. */
export interface KeyChange extends KeyRouting {
  disabled?: boolean;
}

/** The database holds keys encrypted under another master key than the one configured now. */
export class EncryptionKeyMismatchError extends Error {
  override name = "EncryptionKeyMismatchError";
}

export interface ProviderStoreOptions {
  db: Db;
  /** The box that encrypts keys; called only when a key is read or written (the key file is created lazily). */
  secrets: () => Promise<SecretBox>;
  clock?: Clock;
}

/** Settings row holding a known value encrypted under the master key, to tell "wrong key" from "damaged row". */
const KEY_CHECK_SETTING = "secrets.key_check";
const KEY_CHECK_PLAINTEXT = "tollgate-key-check";

const settingsSchema = z.looseObject({
  preset: z.string().optional(),
  models: z.array(z.string()).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  pricingId: z.string().nullable().optional(),
});

const KINDS: readonly ProviderKind[] = ["anthropic", "openai", "gemini"];

const keyModelsSchema = z.array(z.string().min(1));

export class ProviderStore {
  readonly #db: Db;
  readonly #secrets: () => Promise<SecretBox>;
  readonly #clock: Clock;

  constructor(options: ProviderStoreOptions) {
    this.#db = options.db;
    this.#secrets = options.secrets;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Every stored provider with its keys decrypted. Never throws for one bad provider: a provider whose keys do not
   * decrypt (wrong master key, altered row) or whose row is damaged is reported in `unreadable` and left out.
   */
  async load(): Promise<LoadedProviders> {
    const rows = await this.#db.selectFrom("providers").selectAll().orderBy("name").execute();
    const keyRows = await this.#db.selectFrom("provider_keys").selectAll().orderBy("id").execute();
    const keysByProvider = new Map<string, typeof keyRows>();
    for (const row of keyRows) keysByProvider.set(row.provider, [...(keysByProvider.get(row.provider) ?? []), row]);

    const box = keyRows.length > 0 ? await this.#openBox() : null;
    const out: LoadedProviders = { providers: [], unreadable: [] };
    for (const row of rows) {
      try {
        const record = recordFromRow(row);
        const keys: StoredKey[] = [];
        for (const k of keysByProvider.get(row.name) ?? []) {
          if (!box) throw new Error("no encryption key");
          if (!box.ok) throw new Error(box.reason);
          keys.push({
            ...keyInfoFromRow(k),
            secret: box.box.decrypt(k.secret_encrypted, keyContext(row.name, k.id)),
          });
        }
        out.providers.push({
          ...record,
          keys,
          createdAt: Number(row.created_at),
          updatedAt: Number(row.updated_at),
          config: buildProviderConfig(record, keys),
        });
      } catch (err) {
        out.unreadable.push({ name: row.name, reason: (err as Error).message });
      }
    }
    return out;
  }

  async has(name: string): Promise<boolean> {
    const row = await this.#db.selectFrom("providers").select("name").where("name", "=", name).executeTakeFirst();
    return row !== undefined;
  }

  /** Inserts a provider and its keys; false (and nothing written) when one of that name is stored already. */
  async create(record: StoredProviderRecord, keys: readonly NewKey[]): Promise<KeyInfo[] | null> {
    const now = this.#clock.now();
    const sealed = await this.#sealKeys(record.name, keys, now);
    return this.#db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto("providers")
        .values({
          name: record.name,
          kind: record.kind,
          base_url: record.baseUrl,
          settings: JSON.stringify(record.settings),
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return null;
      if (sealed.length > 0)
        await trx
          .insertInto("provider_keys")
          .values(sealed.map((s) => s.row))
          .execute();
      return sealed.map((s) => s.info);
    });
  }

  /** Rewrites a provider's settings (not its keys); false when it is not stored. */
  async update(record: StoredProviderRecord): Promise<boolean> {
    const result = await this.#db
      .updateTable("providers")
      .set({
        kind: record.kind,
        base_url: record.baseUrl,
        settings: JSON.stringify(record.settings),
        updated_at: this.#clock.now(),
      })
      .where("name", "=", record.name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Deletes a provider and its keys; false when it is not stored. */
  async delete(name: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom("provider_keys").where("provider", "=", name).execute();
      const result = await trx.deleteFrom("providers").where("name", "=", name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /** Adds a key to a stored provider; null when the provider is not stored. */
  async addKey(provider: string, key: NewKey): Promise<KeyInfo | null> {
    if (!(await this.has(provider))) return null;
    const now = this.#clock.now();
    const [sealed] = await this.#sealKeys(provider, [key], now);
    if (!sealed) return null;
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto("provider_keys").values(sealed.row).execute();
      await trx.updateTable("providers").set({ updated_at: now }).where("name", "=", provider).execute();
    });
    return sealed.info;
  }

  async deleteKey(provider: string, id: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom("provider_keys")
      .where("provider", "=", provider)
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Enables or disables a key (a disabled key stays stored but is never used); null when it is not stored. */
  async setKeyDisabled(provider: string, id: string, disabled: boolean): Promise<KeyInfo | null> {
    return this.updateKey(provider, id, { disabled });
  }

  /** Changes a key's state and routing settings (absent fields stay); null when it is not stored. */
  async updateKey(provider: string, id: string, change: KeyChange): Promise<KeyInfo | null> {
    const set = {
      ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
      ...(change.weight === undefined ? {} : { weight: change.weight }),
      ...(change.models === undefined ? {} : { models: modelsColumn(change.models) }),
    };
    if (Object.keys(set).length > 0)
      await this.#db
        .updateTable("provider_keys")
        .set(set)
        .where("provider", "=", provider)
        .where("id", "=", id)
        .execute();
    const row = await this.#db
      .selectFrom("provider_keys")
      .select(["id", "label", "fingerprint", "disabled", "created_at", "weight", "models"])
      .where("provider", "=", provider)
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? keyInfoFromRow(row) : null;
  }

  async #openBox(): Promise<{ ok: true; box: SecretBox } | { ok: false; reason: string }> {
    let box: SecretBox;
    try {
      box = await this.#secrets();
    } catch (err) {
      return { ok: false, reason: `the encryption key is unavailable: ${(err as Error).message}` };
    }
    const check = await this.#readKeyCheck();
    if (check !== null && !opens(box, check)) {
      return {
        ok: false,
        reason:
          "the configured encryption key is not the one its keys were stored with (TOLLGATE_ENCRYPTION_KEY or the data dir's secret.key changed); restore that key, or delete and re-add the provider",
      };
    }
    return { ok: true, box };
  }

  /** Encrypts new keys, refusing to mix master keys: keys under two keys would leave half of them unreadable. */
  async #sealKeys(provider: string, keys: readonly NewKey[], now: number) {
    if (keys.length === 0) return [];
    const box = await this.#secrets();
    const check = await this.#readKeyCheck();
    if (check === null || !opens(box, check)) {
      if (check !== null) {
        const stored = await this.#db.selectFrom("provider_keys").select("id").limit(1).executeTakeFirst();
        if (stored) {
          throw new EncryptionKeyMismatchError(
            "the configured encryption key differs from the one the stored provider keys were encrypted with; restore it (TOLLGATE_ENCRYPTION_KEY or <dataDir>/secret.key) or delete the unreadable providers first",
          );
        }
      }
      await this.#writeKeyCheck(box.encrypt(KEY_CHECK_PLAINTEXT, KEY_CHECK_SETTING), now);
    }
    return keys.map((key) => {
      const id = newKeyId(this.#clock);
      const info: KeyInfo = {
        id,
        label: key.label,
        fingerprint: keyFingerprint(key.secret),
        disabled: false,
        createdAt: now,
        weight: key.weight ?? null,
        models: key.models ? [...key.models] : null,
      };
      const row = {
        id,
        provider,
        label: key.label,
        secret_encrypted: box.encrypt(key.secret, keyContext(provider, id)),
        fingerprint: info.fingerprint,
        created_at: now,
        disabled: false,
        weight: info.weight,
        models: modelsColumn(info.models),
      };
      return { info, row };
    });
  }

  async #readKeyCheck(): Promise<string | null> {
    const row = await this.#db
      .selectFrom("settings")
      .select("value")
      .where("key", "=", KEY_CHECK_SETTING)
      .executeTakeFirst();
    if (!row) return null;
    try {
      const value: unknown = JSON.parse(row.value);
      return typeof value === "string" ? value : null;
    } catch {
      return null;
    }
  }

  async #writeKeyCheck(sealed: string, now: number): Promise<void> {
    await this.#db
      .insertInto("settings")
      .values({ key: KEY_CHECK_SETTING, value: JSON.stringify(sealed), updated_at: now })
      .onConflict((oc) => oc.column("key").doUpdateSet({ value: JSON.stringify(sealed), updated_at: now }))
      .execute();
  }
}

function opens(box: SecretBox, sealed: string): boolean {
  try {
    return box.decrypt(sealed, KEY_CHECK_SETTING) === KEY_CHECK_PLAINTEXT;
  } catch {
    return false;
  }
}

/** Associated data binding a ciphertext to its row: copied onto another provider or key id, it does not decrypt. */
function keyContext(provider: string, id: string): string {
  return `provider_keys:${provider}:${id}`;
}

/** A stable, non-secret key id: `key_` and a UUIDv7 (so ids sort in creation order). */
export function newKeyId(clock: Clock = systemClock): string {
  return `key_${uuidv7(clock).replaceAll("-", "")}`;
}

/** `…` and the last 4 characters, enough to tell keys apart; short secrets (under 12 characters) show nothing. */
export function keyFingerprint(secret: string): string {
  return secret.length >= 12 ? `…${secret.slice(-4)}` : "…";
}

/** The `models` column: a JSON array, or null for every model. */
function modelsColumn(models: readonly string[] | null): string | null {
  return models === null ? null : JSON.stringify(models);
}

/** A key row without its secret; throws (the provider is then reported unreadable) when `models` is damaged. */
function keyInfoFromRow(row: {
  id: string;
  label: string | null;
  fingerprint: string;
  disabled: unknown;
  created_at: number | string | bigint;
  weight: number | string | null;
  models: string | null;
}): KeyInfo {
  let models: string[] | null = null;
  if (row.models !== null) {
    let raw: unknown;
    try {
      raw = JSON.parse(row.models);
    } catch {
      throw new Error(`the models column of key ${row.id} is not valid JSON`);
    }
    const parsed = keyModelsSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`the models column of key ${row.id} is not a list of model names`);
    models = parsed.data;
  }
  return {
    id: row.id,
    label: row.label,
    fingerprint: row.fingerprint,
    disabled: Boolean(row.disabled),
    createdAt: Number(row.created_at),
    weight: row.weight === null ? null : Number(row.weight),
    models,
  };
}

function recordFromRow(row: {
  name: string;
  kind: string;
  base_url: string | null;
  settings: string;
}): StoredProviderRecord {
  const kind = KINDS.find((k) => k === row.kind);
  if (!kind) throw new Error(`unknown provider kind "${row.kind}"`);
  let raw: unknown;
  try {
    raw = JSON.parse(row.settings);
  } catch {
    throw new Error("its settings column is not valid JSON");
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`its settings are invalid: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  const { preset, models, headers, pricingId } = parsed.data;
  if (preset !== undefined && !findPreset(preset)) throw new Error(`unknown preset "${preset}"`);
  const settings: StoredProviderSettings = {
    ...(preset === undefined ? {} : { preset }),
    ...(models === undefined ? {} : { models }),
    ...(headers === undefined ? {} : { headers }),
    ...(pricingId === undefined ? {} : { pricingId }),
  };
  return { name: row.name, kind, baseUrl: row.base_url, settings };
}

/** Auth and dialects of a wire family, for a provider with no preset of the same kind. */
const KIND_DEFAULTS: Readonly<Record<ProviderKind, { auth: AuthStyle; dialects: readonly Dialect[] }>> = {
  anthropic: { auth: "x-api-key", dialects: ["anthropic"] },
  openai: { auth: "bearer", dialects: ["openai-chat", "openai-responses", "openai-embeddings"] },
  gemini: { auth: "x-goog-api-key", dialects: ["gemini"] },
  // Config-file only (deployments, project, credentials have no place in a stored record): not in KINDS.
  azure: { auth: "api-key", dialects: ["openai-chat", "openai-embeddings"] },
  vertex: { auth: "bearer", dialects: ["anthropic", "gemini"] },
  // Config-file / environment only for now (region and credential pairs): not in KINDS.
  bedrock: { auth: "aws-sigv4", dialects: ["bedrock-converse"] },
};

/**
 * The data plane's view of a stored provider, resolved the way config-file entries are (config/load.ts): the
 * preset supplies what the record leaves out. Throws when neither the record nor its preset gives a base URL.
 */
export function buildProviderConfig(record: StoredProviderRecord, keys: readonly StoredKey[]): ProviderConfig {
  const preset = record.settings.preset === undefined ? undefined : findPreset(record.settings.preset);
  const samePreset = preset && preset.kind === record.kind ? preset : undefined;
  const baseUrl = record.baseUrl ?? preset?.baseUrl;
  if (!baseUrl) throw new Error("it has no base URL and no preset to take one from");
  const enabled: ProviderKey[] = keys
    .filter((k) => !k.disabled)
    .map((k) => ({
      id: k.id,
      secret: k.secret,
      label: k.label,
      source: "api",
      ...(k.weight === null ? {} : { weight: k.weight }),
      ...(k.models === null ? {} : { models: k.models }),
    }));
  const defaults = KIND_DEFAULTS[record.kind];
  return {
    name: record.name,
    kind: record.kind,
    baseUrl: baseUrl.replace(/\/+$/, ""),
    auth: samePreset?.auth ?? defaults.auth,
    dialects: samePreset?.dialects ?? defaults.dialects,
    keys: enabled,
    // As for config-file entries: key-optional when the preset says so, or when no key was ever given (local servers).
    keyOptional: preset?.keyOptional ?? keys.length === 0,
    models: record.settings.models ?? [],
    modelPatterns: samePreset?.modelPatterns ?? [],
    headers: record.settings.headers ?? {},
    pricingId: record.settings.pricingId !== undefined ? record.settings.pricingId : (preset?.pricingId ?? null),
    source: "api",
  };
}
