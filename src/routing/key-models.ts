import { compileNameMatcher, type NameMatcher } from "../governance/entities/globs.ts";
import type { ProviderKey } from "../providers/types.ts";

/**
 * Whether a provider key serves a model (its `models` list; absent or null: every model). Keys are immutable parts
 * of a registry snapshot, so each list is compiled once per key object and dropped with the snapshot.
 */

const compiled = new WeakMap<ProviderKey, NameMatcher>();

export function keyServes(key: ProviderKey, model: string): boolean {
  if (key.models == null) return true;
  let matcher = compiled.get(key);
  if (matcher === undefined) {
    matcher = compileNameMatcher(key.models);
    compiled.set(key, matcher);
  }
  return matcher.matches(model);
}

/** A key's traffic weight (default 1; never negative). */
export function keyWeight(key: ProviderKey): number {
  return Math.max(0, key.weight ?? 1);
}
