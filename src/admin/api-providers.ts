import { mergeProviders } from "../config/load.ts";
import {
  type LoadedProviders,
  ProviderStore,
  type StoredProvider,
  type UnreadableProvider,
} from "../providers/provider-store.ts";
import { ProviderRegistry } from "../providers/registry.ts";
import type { ProviderConfig } from "../providers/types.ts";
import { openSecretBox } from "../secrets/master-key.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { AdminContext } from "./context.ts";

/**
 * The providers made through the API: their store, the last load, and the registry swap. Each reload replaces
 * `runtime.registry` with a new snapshot at once, so requests in flight keep the one they started with.
 */
export class ApiProviders {
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

  /** The stored provider of that name as last loaded (disabled keys included). */
  stored(name: string): StoredProvider | undefined {
    return this.loaded.providers.find((p) => p.name === name);
  }

  /** The stored provider of that name that could not be read at the last load. */
  unreadable(name: string): UnreadableProvider | undefined {
    return this.loaded.unreadable.find((p) => p.name === name);
  }

  /** The env/config provider of that name, whether or not an API provider overrides it. */
  configured(name: string): ProviderConfig | undefined {
    return this.#ctx.runtime.config.providers.find((p) => p.name === name);
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
