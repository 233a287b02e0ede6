import type { Kysely } from "kysely";
import type { CanonicalResponse } from "../translate/canonical.ts";
import { type CacheEntry, entryId, type PurgeFilter, type ResponseCacheStore } from "./store.ts";

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
}

interface CacheTables {
  response_cache: ResponseCacheTable;
}

/** The response cache in the store layer's database (SQLite or PostgreSQL; migration 0009). */
export class SqlCacheStore implements ResponseCacheStore {
  readonly #db: Kysely<CacheTables>;

  /** `db`: the store layer's Kysely handle (its table types do not list this table). */
  constructor(db: Kysely<unknown> | object) {
    this.#db = db as Kysely<CacheTables>;
  }

  async get(scope: string, namespace: string, exactKey: string, now: number): Promise<CacheEntry | null> {
    const id = entryId(scope, namespace, exactKey);
    const row = await this.#db.selectFrom("response_cache").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return null;
    if (Number(row.expires_at) <= now) {
      await this.#db.deleteFrom("response_cache").where("id", "=", id).execute();
      return null;
    }
    await this.#db.updateTable("response_cache").set({ last_used_at: now }).where("id", "=", id).execute();
    return {
      exactKey: row.exact_key,
      scope: row.scope,
      namespace: row.namespace,
      requestId: row.request_id,
      response: JSON.parse(row.response) as CanonicalResponse,
      costNanoUsd: row.cost_nano_usd === null ? null : Number(row.cost_nano_usd),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  async put(entry: CacheEntry, maxEntries: number): Promise<void> {
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
    };
    await this.#db
      .insertInto("response_cache")
      .values(row)
      .onConflict((oc) => oc.column("id").doUpdateSet({ ...row, id: undefined }))
      .execute();
    // Expired rows first, then the least recently used beyond the cap.
    await this.#db.deleteFrom("response_cache").where("expires_at", "<=", entry.createdAt).execute();
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
    }
  }

  async purge(filter: PurgeFilter): Promise<number> {
    let q = this.#db.deleteFrom("response_cache");
    if (filter.key !== undefined) q = q.where("exact_key", "=", filter.key);
    if (filter.namespace !== undefined) q = q.where("namespace", "=", filter.namespace);
    const result = await q.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async close(): Promise<void> {}
}
