import { Redis } from "ioredis";
import { type CacheEntry, entryId, type PurgeFilter, type ResponseCacheStore } from "./store.ts";

/**
 * The response cache in Redis, shared by a cluster: `<prefix>cache:e:<id>` holds the entry (JSON, expiring with its
 * TTL); the sorted set `<prefix>cache:lru` orders ids by last use for eviction and purges.
 */
export class RedisCacheStore implements ResponseCacheStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(url: string, prefix: string) {
    this.#redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
    this.#prefix = `${prefix}cache:`;
  }

  #entry(id: string): string {
    return `${this.#prefix}e:${id}`;
  }

  get #lru(): string {
    return `${this.#prefix}lru`;
  }

  async get(scope: string, namespace: string, exactKey: string, now: number): Promise<CacheEntry | null> {
    const id = entryId(scope, namespace, exactKey);
    const raw = await this.#redis.get(this.#entry(id));
    if (raw === null) {
      await this.#redis.zrem(this.#lru, id);
      return null;
    }
    const entry = JSON.parse(raw) as CacheEntry;
    // Redis expires on its own clock; the gateway's clock (tests inject one) decides too.
    if (entry.expiresAt <= now) {
      await this.#redis.multi().del(this.#entry(id)).zrem(this.#lru, id).exec();
      return null;
    }
    await this.#redis.zadd(this.#lru, now, id);
    return entry;
  }

  async put(entry: CacheEntry, maxEntries: number): Promise<void> {
    const id = entryId(entry.scope, entry.namespace, entry.exactKey);
    const ttlMs = Math.max(1, entry.expiresAt - entry.createdAt);
    await this.#redis
      .multi()
      .set(this.#entry(id), JSON.stringify(entry), "PX", ttlMs)
      .zadd(this.#lru, entry.createdAt, id)
      .exec();
    const excess = (await this.#redis.zcard(this.#lru)) - maxEntries;
    if (excess > 0) {
      const popped = await this.#redis.zpopmin(this.#lru, String(excess));
      const ids = popped.filter((_, i) => i % 2 === 0);
      if (ids.length > 0) await this.#redis.del(...ids.map((v) => this.#entry(v)));
    }
  }

  async purge(filter: PurgeFilter): Promise<number> {
    const ids = await this.#redis.zrange(this.#lru, "0", "-1");
    let n = 0;
    for (const id of ids) {
      const key = this.#entry(id);
      if (filter.key !== undefined || filter.namespace !== undefined) {
        const raw = await this.#redis.get(key);
        if (raw === null) {
          await this.#redis.zrem(this.#lru, id);
          continue;
        }
        const e = JSON.parse(raw) as CacheEntry;
        if (filter.key !== undefined && e.exactKey !== filter.key) continue;
        if (filter.namespace !== undefined && e.namespace !== filter.namespace) continue;
      }
      const [deleted] = (await this.#redis.multi().del(key).zrem(this.#lru, id).exec()) ?? [];
      if (deleted && deleted[1] === 1) n++;
    }
    return n;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
