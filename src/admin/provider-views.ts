import { findPreset } from "../providers/presets.ts";
import { type KeyInfo, keyFingerprint, type StoredProvider } from "../providers/provider-store.ts";
import type { ConfigSource, ProviderConfig } from "../providers/types.ts";
import type { ProviderHealth, ProviderHealthView } from "../routing/provider-health.ts";

/** How `/api/providers` shows providers and keys: never a secret, only key ids, labels and fingerprints. */

export interface KeyView {
  id: string;
  label: string | null;
  fingerprint: string;
  source: ConfigSource;
  disabled: boolean;
  /** Share of traffic relative to the provider's other keys; models it is limited to (null: all). */
  weight?: number;
  models?: readonly string[] | null;
}

export interface ProviderView {
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
  /** Circuit breaker and each live key's state (ok, cooling after a 429, flagged after a 401/403). */
  health?: ProviderHealthView;
  /** Where the env/config provider of the same name comes from, which this API provider overrides. */
  overrides?: ConfigSource;
  createdAt?: number;
  updatedAt?: number;
}

/** Where the view looks up an API provider's stored row and the env/config provider it shadows (ApiProviders). */
export interface ProviderOrigins {
  stored(name: string): StoredProvider | undefined;
  configured(name: string): ProviderConfig | undefined;
}

/** A live provider as the API shows it. */
export function providerView(p: ProviderConfig, origins: ProviderOrigins, health?: ProviderHealth): ProviderView {
  const stored = p.source === "api" ? origins.stored(p.name) : undefined;
  // The live config holds only enabled keys; a stored provider's disabled keys are shown from its row.
  const inherited = stored ? p.keys.filter((k) => k.source !== "api") : p.keys;
  const keys: KeyView[] = [
    ...(stored?.keys ?? []).map(storedKeyView),
    ...inherited.map((k) => ({
      id: k.id,
      label: k.label,
      fingerprint: keyFingerprint(k.secret),
      source: k.source,
      disabled: false,
      ...(k.weight === undefined ? {} : { weight: k.weight }),
      ...(k.models == null ? {} : { models: k.models }),
    })),
  ];
  const shadowed = p.source === "api" ? origins.configured(p.name) : undefined;
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
    ...(health
      ? {
          health: health.view(
            p.name,
            p.keys.map((k) => k.id),
          ),
        }
      : {}),
    ...(shadowed ? { overrides: shadowed.source } : {}),
    ...(stored ? { createdAt: stored.createdAt, updatedAt: stored.updatedAt } : {}),
  };
}

/** A key stored through the API; `weight` and `models` always shown (1 and null when left at the default). */
export function storedKeyView(k: KeyInfo): KeyView {
  return {
    id: k.id,
    label: k.label,
    fingerprint: k.fingerprint,
    source: "api",
    disabled: k.disabled,
    weight: k.weight ?? 1,
    models: k.models,
  };
}
