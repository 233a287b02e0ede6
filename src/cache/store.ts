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
  /** The semantic layer's data, when the entry was stored through it: its group (semantic-layer.ts) and vector. */
  semantic?: { group: string; vector: Float32Array };
}

/** An entry as the semantic index needs it. */
export interface SemanticRecord {
  id: string;
  exactKey: string;
  group: string;
  vector: Float32Array;
}

/** What other processes changed since a cursor (a shared store only). */
export type SemanticChanges =
  | { reset: false; cursor: string; added: SemanticRecord[]; removed: string[] }
  /** Changes were trimmed before this process read them: rebuild from `semanticIds`. */
  | { reset: true };

export interface PurgeFilter {
  /** An exact key (all scopes and namespaces). */
  key?: string;
  namespace?: string;
}

/** The response cache's storage: SQL (the store layer's database) or Redis (shared by a cluster). */
export interface ResponseCacheStore {
  /** The live entry for this (scope, namespace, key), marked used now; null when missing or expired. */
  get(scope: string, namespace: string, exactKey: string, now: number): Promise<CacheEntry | null>;
  /**
   * Stores (or replaces) an entry, then drops expired ones and evicts the least recently used beyond `maxEntries`;
   * answers the ids it removed (the semantic index forgets them).
   */
  put(entry: CacheEntry, maxEntries: number): Promise<string[]>;
  /** Deletes matching entries (all when the filter is empty); returns how many. */
  purge(filter: PurgeFilter): Promise<number>;
  /** Entry id → semantic group of every stored entry that has a vector. */
  semanticIds(): Promise<Map<string, string>>;
  /** The vectors of these entries (missing ones left out). */
  semanticRecords(ids: readonly string[]): Promise<SemanticRecord[]>;
  /**
   * A shared store (Redis): the position after the latest change (`null`: now), and the changes after a position.
   * Absent when one process owns the store (SQL): its own index saw every change.
   */
  semanticChanges?(cursor: string | null): Promise<SemanticChanges>;
  close(): Promise<void>;
}

/** The storage id of an entry: one per (scope, namespace, key). */
export function entryId(scope: string, namespace: string, exactKey: string): string {
  return createHash("sha256").update(`${scope}\u0000${namespace}\u0000${exactKey}`).digest("hex");
}

/** A vector as stored: little-endian float32, base64 (portable across SQLite, PostgreSQL and Redis strings). */
export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

export function decodeVector(text: string): Float32Array {
  const buf = Buffer.from(text, "base64");
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}
