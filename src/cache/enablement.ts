import type { IncomingHttpHeaders } from "node:http";
import type { CacheConfig } from "../config/load.ts";
import type { VirtualKeySnapshot } from "../governance/entities/index.ts";

export type CacheMode = "off" | "exact" | "semantic";

/** The label that turns the cache on or off for a key, or for every key of a team or customer. */
export const CACHE_LABEL = "tollgate.cache";

const MODES: ReadonlySet<string> = new Set<CacheMode>(["off", "exact", "semantic"]);
const modeOf = (v: string | null | undefined): CacheMode | null => (v && MODES.has(v) ? (v as CacheMode) : null);

/**
 * Which layers a request may use, first decided wins: the request's `x-tollgate-cache` header; the key's
 * `tollgate.cache` label, then its team's, then its customer's (set through the management API like any label);
 * the config file (`cache.exact: true` → exact). Semantic includes exact (the exact entry is looked up first).
 */
export function cacheModeOf(
  headers: IncomingHttpHeaders,
  key: VirtualKeySnapshot | null,
  config: CacheConfig,
): CacheMode {
  const header = headers["x-tollgate-cache"];
  const fromHeader = modeOf(typeof header === "string" ? header : null);
  if (fromHeader) return fromHeader;
  if (key) {
    const owned =
      modeOf(key.labels[CACHE_LABEL]) ??
      modeOf(key.ownerLabels?.team[CACHE_LABEL]) ??
      modeOf(key.ownerLabels?.customer[CACHE_LABEL]);
    if (owned) return owned;
  }
  return config.exact ? "exact" : "off";
}
