import type { Dialect } from "../dialects/dialect.ts";
import type { AuthStyle, ProviderKind } from "./presets.ts";

/** Where a piece of configuration came from; API-made providers live in the database. */
export type ConfigSource = "env" | "config" | "api";

export interface ProviderKey {
  /** Stable, non-secret id (logged on each request). */
  id: string;
  secret: string;
  label: string | null;
  source: ConfigSource;
}

/** A provider as the data plane sees it: resolved, immutable, part of a registry snapshot. */
export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  auth: AuthStyle;
  dialects: readonly Dialect[];
  keys: readonly ProviderKey[];
  keyOptional: boolean;
  /** Model ids this provider is declared to serve (bare names resolve to it). */
  models: readonly string[];
  modelPatterns: readonly RegExp[];
  /** Extra headers sent on every upstream request. */
  headers: Readonly<Record<string, string>>;
  /** Provider id in the price catalog. */
  pricingId: string | null;
  source: ConfigSource;
}
