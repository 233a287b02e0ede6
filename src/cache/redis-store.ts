import { Redis } from "ioredis";
import {
  type CacheEntry,
  decodeVector,
  encodeVector,
  entryId,
  type PurgeFilter,
  type ResponseCacheStore,
  type SemanticChanges,
  type SemanticRecord,
} from "./store.ts";

/**
 * The response cache in Redis, shared by a cluster: `<prefix>cache:e:<id>` holds the entry (JSON, expiring with its
 * TTL); the sorted set `<prefix>cache:lru` orders ids by last use for eviction and purges. The semantic layer's
 * vectors live in the hash `<prefix>cache:vec` (id → group, exact key, vector), and every add or removal is appended
 * to the stream `<prefix>cache:sem` (capped), from which each process's index catches up (semantic-layer.ts).
 */
export class RedisCacheStore implements ResponseCacheStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  /** The change stream's approximate cap; a process further behind than this rebuilds its index. */
  readonly #streamCap: number;

  constructor(url: string, prefix: string, options: { streamCap?: number } = {}) {
    this.#redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
    this.#prefix = `${prefix}cache:`;
    this.#streamCap = options.streamCap ?? 100_000;
  }

  #entry(id: string): string {
    return `${this.#prefix}e:${id}`;
  }

  get #lru(): string {
    return `${this.#prefix}lru`;
  }

  get #vec(): string {
    return `${this.#prefix}vec`;
  }

  get #stream(): string {
    return `${this.#prefix}sem`;
  }

  async get(scope: string, namespace: string, exactKey: string, now: number): Promise<CacheEntry | null> {
    const id = entryId(scope, namespace, exactKey);
    const raw = await this.#redis.get(this.#entry(id));
    if (raw === null) {
      await this.#redis.multi().zrem(this.#lru, id).hdel(this.#vec, id).exec();
      return null;
    }
    const entry = JSON.parse(raw) as CacheEntry;
    // Redis expires on its own clock; the gateway's clock (tests inject one) decides too.
    if (entry.expiresAt <= now) {
      await this.#redis.multi().del(this.#entry(id)).zrem(this.#lru, id).hdel(this.#vec, id).exec();
      return null;
    }
    await this.#redis.zadd(this.#lru, now, id);
    return entry;
  }

  async put(entry: CacheEntry, maxEntries: number): Promise<string[]> {
    const id = entryId(entry.scope, entry.namespace, entry.exactKey);
    const ttlMs = Math.max(1, entry.expiresAt - entry.createdAt);
    const { semantic, ...stored } = entry;
    const tx = this.#redis
      .multi()
      .set(this.#entry(id), JSON.stringify(stored), "PX", ttlMs)
      .zadd(this.#lru, entry.createdAt, id);
    if (semantic) {
      tx.hset(this.#vec, id, `${semantic.group}\n${entry.exactKey}\n${encodeVector(semantic.vector)}`);
      tx.xadd(this.#stream, "MAXLEN", "~", String(this.#streamCap), "*", "add", id);
    }
    await tx.exec();
    const excess = (await this.#redis.zcard(this.#lru)) - maxEntries;
    if (excess <= 0) return [];
    const popped = await this.#redis.zpopmin(this.#lru, String(excess));
    const ids = popped.filter((_, i) => i % 2 === 0);
    if (ids.length > 0) await this.#drop(ids);
    return ids;
  }

  /** Deletes entries and their vectors, and tells the other processes' indexes. */
  async #drop(ids: readonly string[]): Promise<void> {
    const tx = this.#redis
      .multi()
      .del(...ids.map((v) => this.#entry(v)))
      .zrem(this.#lru, ...ids)
      .hdel(this.#vec, ...ids);
    for (const id of ids) tx.xadd(this.#stream, "MAXLEN", "~", String(this.#streamCap), "*", "del", id);
    await tx.exec();
  }

  async purge(filter: PurgeFilter): Promise<number> {
    const ids = await this.#redis.zrange(this.#lru, "0", "-1");
    let n = 0;
    for (const id of ids) {
      const key = this.#entry(id);
      if (filter.key !== undefined || filter.namespace !== undefined) {
        const raw = await this.#redis.get(key);
        if (raw === null) {
          await this.#redis.multi().zrem(this.#lru, id).hdel(this.#vec, id).exec();
          continue;
        }
        const e = JSON.parse(raw) as CacheEntry;
        if (filter.key !== undefined && e.exactKey !== filter.key) continue;
        if (filter.namespace !== undefined && e.namespace !== filter.namespace) continue;
      }
      const exists = await this.#redis.exists(key);
      await this.#drop([id]);
      if (exists === 1) n++;
    }
    return n;
  }

  async semanticIds(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let cursor = "0";
    do {
      const [next, flat] = await this.#redis.hscan(this.#vec, cursor, "COUNT", 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const value = flat[i + 1] as string;
        out.set(flat[i] as string, value.slice(0, value.indexOf("\n")));
      }
      cursor = next;
    } while (cursor !== "0");
    return out;
  }

  async semanticRecords(ids: readonly string[]): Promise<SemanticRecord[]> {
    const out: SemanticRecord[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      if (slice.length === 0) break;
      const values = await this.#redis.hmget(this.#vec, ...slice);
      values.forEach((value, j) => {
        if (value === null) return;
        const [group, exactKey, vector] = value.split("\n") as [string, string, string];
        out.push({ id: slice[j] as string, exactKey, group, vector: decodeVector(vector) });
      });
    }
    return out;
  }

  async semanticChanges(cursor: string | null): Promise<SemanticChanges> {
    if (cursor === null) {
      const last = await this.#redis.xrevrange(this.#stream, "+", "-", "COUNT", 1);
      return { reset: false, cursor: last[0]?.[0] ?? "0-0", added: [], removed: [] };
    }
    // The cursor's own entry is read again: when it was trimmed away, so may the ones after it (this process fell
    // further behind than the stream's cap) — rebuild. "0-0" (the stream was empty): nothing may have been trimmed.
    const fresh = cursor === "0-0";
    const entries = await this.#redis.xrange(this.#stream, fresh ? "-" : cursor, "+", "COUNT", 5000);
    if (fresh) {
      const info = (await this.#redis.call("XINFO", "STREAM", this.#stream).catch(() => null)) as unknown[] | null;
      const added = info === null ? 0 : Number(info[info.indexOf("entries-added") + 1]);
      const length = info === null ? 0 : Number(info[info.indexOf("length") + 1]);
      if (added > length) return { reset: true };
    } else if (entries[0]?.[0] !== cursor) {
      return { reset: true };
    } else {
      entries.shift();
    }
    if (entries.length === 0) return { reset: false, cursor, added: [], removed: [] };
    // Later changes of one id win: replay in order, keep the last.
    const last = new Map<string, "add" | "del">();
    for (const [, fields] of entries) {
      const id = fields[1] as string;
      last.delete(id);
      last.set(id, fields[0] === "add" ? "add" : "del");
    }
    const addIds = [...last].filter(([, op]) => op === "add").map(([id]) => id);
    const added = await this.semanticRecords(addIds);
    const found = new Set(added.map((r) => r.id));
    const removed = [...last].filter(([id, op]) => op === "del" || !found.has(id)).map(([id]) => id);
    return { reset: false, cursor: (entries.at(-1) as [string, string[]])[0], added, removed };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
