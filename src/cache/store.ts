import { createHash } from "node:crypto";
import type { CanonicalResponse } from "../translate/canonical.ts";

/** One cached response: what the exact layer stores and replays. */
export interface CacheEntry {
  /** SHA-256 of the normalised request (exact-key.ts). */
  exactKey: string;
  /** Who may read it: `key:<id>`, `team:<id>`, `customer:<id>`, `anon:<…>` (cache/scope.ts). */
  scope: string;
  /** The client's `x-tollgate-cache-key` namespace ("" when none). */
  namespace: string;
  /** The request whose answer this is (`x-tollgate-cache-source`). */
  requestId: string;
  response: CanonicalResponse;
  /** What the original call cost (the saving a hit records); null when unpriced. */
  costNanoUsd: number | null;
  createdAt: number;
  expiresAt: number;
}

export interface PurgeFilter {
  /** An exact key (all scopes and namespaces). */
  key?: string;
  namespace?: string;
}

/** The response cache's storage: SQL (the store layer's database) or Redis (shared by a cluster). */
export interface ResponseCacheStore {
  /** The live entry for this (scope, namespace, key), marked used now; null when missing or expired. */
  get(scope: string, namespace: string, exactKey: string, now: number): Promise<CacheEntry | null>;
  /** Stores (or replaces) an entry, then evicts the least recently used beyond `maxEntries`. */
  put(entry: CacheEntry, maxEntries: number): Promise<void>;
  /** Deletes matching entries (all when the filter is empty); returns how many. */
  purge(filter: PurgeFilter): Promise<number>;
  close(): Promise<void>;
}

/** The storage id of an entry: one per (scope, namespace, key). */
export function entryId(scope: string, namespace: string, exactKey: string): string {
  return createHash("sha256").update(`${scope}\u0000${namespace}\u0000${exactKey}`).digest("hex");
}
