import type { Dialect } from "../dialects/dialect.ts";
import { GatewayError } from "../errors/catalog.ts";
import { translationTarget } from "../translate/index.ts";
import type { ProviderConfig, ProviderKey } from "./types.ts";

/** The dialects a provider speaks for one model (most providers: the same for every model). */
export function dialectsOf(provider: ProviderConfig, model: string): readonly Dialect[] {
  return provider.dialectsFor ? provider.dialectsFor(model) : provider.dialects;
}

export interface Resolution {
  provider: ProviderConfig;
  /** The model id to send upstream (the `provider/` prefix removed). */
  upstreamModel: string;
  /** True when the client named the provider with `provider/model`. */
  explicit: boolean;
}

/**
 * An immutable snapshot of the configured providers. The data plane reads it without locks; a config change builds
 * a new registry and swaps the reference (config/runtime.ts).
 */
export class ProviderRegistry {
  readonly #byName: Map<string, ProviderConfig>;
  /** Round-robin position per provider, so several keys share the load. */
  readonly #keyCursor = new Map<string, number>();
  /** Bare-model lookups per dialect; the snapshot is immutable, so entries never go stale (bounded anyway). */
  readonly #byModel = new Map<string, ProviderConfig | null>();

  constructor(providers: readonly ProviderConfig[]) {
    this.#byName = new Map(providers.map((p) => [p.name, p]));
  }

  get(name: string): ProviderConfig | undefined {
    return this.#byName.get(name);
  }

  list(): ProviderConfig[] {
    return [...this.#byName.values()];
  }

  /** Resolves a client's model string for a route speaking `dialect`. Throws GatewayError (400) when it can't. */
  resolve(model: string, dialect: Dialect): Resolution {
    const slash = model.indexOf("/");
    if (slash > 0) {
      const named = this.#byName.get(model.slice(0, slash));
      if (named)
        return this.#checkDialect({ provider: named, upstreamModel: model.slice(slash + 1), explicit: true }, dialect);
    }
    const found = this.#findByModel(model, dialect);
    if (found) return this.#checkDialect({ provider: found, upstreamModel: model, explicit: false }, dialect);
    throw new GatewayError("TG_UNKNOWN_MODEL", this.#unknownModelMessage(model));
  }

  /** The next API key of a provider, rotating; null when it has none. */
  nextKey(provider: ProviderConfig): ProviderKey | null {
    const keys = provider.keys;
    if (keys.length === 0) return null;
    const i = this.#keyCursor.get(provider.name) ?? 0;
    this.#keyCursor.set(provider.name, (i + 1) % keys.length);
    return keys[i % keys.length] ?? null;
  }

  #findByModel(model: string, dialect: Dialect): ProviderConfig | undefined {
    const key = `${dialect}\u0000${model}`;
    const cached = this.#byModel.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.#searchByModel(model, dialect);
    if (this.#byModel.size >= 10_000) this.#byModel.clear();
    this.#byModel.set(key, found ?? null);
    return found;
  }

  #searchByModel(model: string, dialect: Dialect): ProviderConfig | undefined {
    const providers = [...this.#byName.values()];
    // Prefer a provider that speaks the client's dialect: the same model may be served by several.
    const ranked = [
      ...providers.filter((p) => dialectsOf(p, model).includes(dialect)),
      ...providers.filter((p) => !dialectsOf(p, model).includes(dialect)),
    ];
    return (
      ranked.find((p) => p.models.includes(model)) ?? ranked.find((p) => p.modelPatterns.some((re) => re.test(model)))
    );
  }

  /** Same dialect: passthrough. Another chat dialect: translated (translate/). Embeddings only to their own. */
  #checkDialect(resolution: Resolution, dialect: Dialect): Resolution {
    const { provider } = resolution;
    const dialects = dialectsOf(provider, resolution.upstreamModel);
    if (dialects.includes(dialect) || translationTarget(dialect, dialects) !== null) return resolution;
    throw new GatewayError(
      "TG_CROSS_DIALECT_UNSUPPORTED",
      `Model "${resolution.upstreamModel}" is served by provider "${provider.name}", which speaks ${dialects.join(", ")}; ` +
        `this route speaks ${dialect}, which cannot be translated to it.`,
    );
  }

  #unknownModelMessage(model: string): string {
    const providers = [...this.#byName.values()];
    if (providers.length === 0) {
      return `Unknown model "${model}": no providers are configured. Set e.g. ANTHROPIC_API_KEY or add providers in the config file.`;
    }
    const described = providers
      .map((p) => {
        const names = [
          ...p.models,
          ...p.modelPatterns.map((re) => `${re.source.replace(/^\^/, "").replaceAll("\\", "")}*`),
        ];
        return names.length > 0 ? `${p.name} (${names.slice(0, 8).join(", ")})` : p.name;
      })
      .join("; ");
    return `Unknown model "${model}". Configured providers: ${described}. Write "<provider>/<model>" to pick a provider explicitly.`;
  }
}
