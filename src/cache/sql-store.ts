import type { Kysely } from "kysely";
import type { CanonicalResponse } from "../translate/canonical.ts";
import {
  type CacheEntry,
  decodeVector,
  encodeVector,
  entryId,
  type PurgeFilter,
  type ResponseCacheStore,
  type SemanticRecord,
} from "./store.ts";

interface ResponseCacheTable {
  id: string;
  exact_key: string;
  scope: string;
  namespace: string;
  request_id: string;
  response: string;
  cost_nano_usd: number | string | bigint | null;
  created_at: number | string | bigint;
  expires_at: number | string | bigint;
  last_used_at: number | string | bigint;
  semantic_group: string | null;
  vector: string | null;
}

interface CacheTables {
  response_cache: ResponseCacheTable;
}

/** The response cache in the store layer's database (SQLite or PostgreSQL; migrations 0009, 0016). */
export class SqlCacheStore implements ResponseCacheStore {
  readonly #db: Kysely<CacheTables>;
  /**
   * Hits not yet written to `last_used_at` (id → time): a write per hit would cost more CPU than the hit saves, so
   * they are applied in one go before the next eviction (LRU order is only read there). Per process.
   */
  readonly #touched = new Map<string, number>();

  /** Recently used entries, kept in memory (insertion order = recency); only when this process owns the database. */
  readonly #memo: Map<string, CacheEntry> | null;
  readonly #memoSize: number;

  /**
   * `db`: the store layer's Kysely handle (its table types do not list this table). `memo`: entries to keep in
   * memory — only safe when no other process writes the table (SQLite): a lookup through the SQLite worker costs more
   * gateway CPU than the whole passthrough call it replaces.
   */
  constructor(db: Kysely<unknown> | object, options: { memo?: number } = {}) {
    this.#db = db as Kysely<CacheTables>;
    this.#memoSize = options.memo ?? 0;
    this.#memo = this.#memoSize > 0 ? new Map() : null;
  }

  async get(scope: string, namespace: string, exactKey: string, now: number): Promise<CacheEntry | null> {
    const id = entryId(scope, namespace, exactKey);
    const memo = this.#memo?.get(id);
    if (memo) {
      this.#memo?.delete(id);
      if (memo.expiresAt > now) {
        this.#memo?.set(id, memo);
        this.#touched.set(id, now);
        return memo;
      }
    }
    const row = await this.#db.selectFrom("response_cache").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return null;
    if (Number(row.expires_at) <= now) {
      await this.#db.deleteFrom("response_cache").where("id", "=", id).execute();
      return null;
    }
    this.#touched.set(id, now);
    const entry: CacheEntry = {
      exactKey: row.exact_key,
      scope: row.scope,
      namespace: row.namespace,
      requestId: row.request_id,
      response: JSON.parse(row.response) as CanonicalResponse,
      costNanoUsd: row.cost_nano_usd === null ? null : Number(row.cost_nano_usd),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
    this.#remember(id, entry);
    return entry;
  }

  #remember(id: string, entry: CacheEntry): void {
    const memo = this.#memo;
    if (!memo) return;
    memo.delete(id);
    memo.set(id, entry);
    if (memo.size > this.#memoSize) memo.delete(memo.keys().next().value as string);
  }

  async put(entry: CacheEntry, maxEntries: number): Promise<string[]> {
    await this.#flushTouched();
    const row = {
      id: entryId(entry.scope, entry.namespace, entry.exactKey),
      exact_key: entry.exactKey,
      scope: entry.scope,
      namespace: entry.namespace,
      request_id: entry.requestId,
      response: JSON.stringify(entry.response),
      cost_nano_usd: entry.costNanoUsd,
      created_at: entry.createdAt,
      expires_at: entry.expiresAt,
      last_used_at: entry.createdAt,
      semantic_group: entry.semantic?.group ?? null,
      vector: entry.semantic ? encodeVector(entry.semantic.vector) : null,
    };
    await this.#db
      .insertInto("response_cache")
      .values(row)
      .onConflict((oc) => oc.column("id").doUpdateSet({ ...row, id: undefined }))
      .execute();
    this.#remember(row.id, entry);
    // Expired rows first, then the least recently used beyond the cap.
    const expired = await this.#db
      .deleteFrom("response_cache")
      .where("expires_at", "<=", entry.createdAt)
      .returning("id")
      .execute();
    const removed = expired.map((r) => r.id);
    const count = await this.#db
      .selectFrom("response_cache")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const excess = Number(count.n) - maxEntries;
    if (excess > 0) {
      const victims = await this.#db
        .selectFrom("response_cache")
        .select("id")
        .orderBy("last_used_at", "asc")
        .limit(excess)
        .execute();
      await this.#db
        .deleteFrom("response_cache")
        .where(
          "id",
          "in",
          victims.map((v) => v.id),
        )
        .execute();
      for (const v of victims) {
        this.#memo?.delete(v.id);
        removed.push(v.id);
      }
    }
    return removed;
  }

  async semanticIds(): Promise<Map<string, string>> {
    const rows = await this.#db
      .selectFrom("response_cache")
      .select(["id", "semantic_group"])
      .where("semantic_group", "is not", null)
      .execute();
    return new Map(rows.map((r) => [r.id, r.semantic_group as string]));
  }

  async semanticRecords(ids: readonly string[]): Promise<SemanticRecord[]> {
    const out: SemanticRecord[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#db
        .selectFrom("response_cache")
        .select(["id", "exact_key", "semantic_group", "vector"])
        .where("id", "in", ids.slice(i, i + 500))
        .where("vector", "is not", null)
        .execute();
      for (const r of rows) {
        out.push({
          id: r.id,
          exactKey: r.exact_key,
          group: r.semantic_group as string,
          vector: decodeVector(r.vector as string),
        });
      }
    }
    return out;
  }

  async #flushTouched(): Promise<void> {
    if (this.#touched.size === 0) return;
    const touched = [...this.#touched];
    this.#touched.clear();
    for (const [id, at] of touched) {
      await this.#db.updateTable("response_cache").set({ last_used_at: at }).where("id", "=", id).execute();
    }
  }

  async purge(filter: PurgeFilter): Promise<number> {
    let q = this.#db.deleteFrom("response_cache");
    if (filter.key !== undefined) q = q.where("exact_key", "=", filter.key);
    if (filter.namespace !== undefined) q = q.where("namespace", "=", filter.namespace);
    const result = await q.executeTakeFirst();
    this.#memo?.clear();
    return Number(result.numDeletedRows);
  }

  async close(): Promise<void> {}
}
