import type { ProviderKey } from "../providers/types.ts";
import type { ProviderEntry } from "./schema.ts";

type KeyEntry = NonNullable<ProviderEntry["apiKeys"]>[number];
type KeyIdOf = (source: "env" | "config", secret: string) => string;

/** A config file's `apiKeys` entry (the secret alone, or `{ key, id?, label?, weight?, models? }`) as a ProviderKey. */
export function providerKeyFromEntry(entry: KeyEntry, keyId: KeyIdOf): ProviderKey {
  if (typeof entry === "string") return { id: keyId("config", entry), secret: entry, label: null, source: "config" };
  return {
    id: entry.id ?? keyId("config", entry.key),
    secret: entry.key,
    label: entry.label ?? null,
    source: "config",
    ...(entry.weight === undefined ? {} : { weight: entry.weight }),
    ...(entry.models === undefined ? {} : { models: entry.models }),
  };
}
