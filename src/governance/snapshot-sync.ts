import { Redis, type RedisOptions } from "ioredis";

export interface SnapshotSyncOptions {
  /** redis://[user:password@]host:port[/db] or rediss://… */
  url: string;
  /** The counters' key prefix (config.redisPrefix); processes sharing a database must share it. Default "tollgate:". */
  prefix?: string;
  /** Operator warnings (Redis trouble, a failed reload). */
  warn?: (message: string) => void;
  /** How often the version key is read, in case a message was missed. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Extra ioredis options for both connections. */
  redisOptions?: RedisOptions;
}

/**
 * Keeps the governance snapshot of several gateway processes (one database, one Redis) current: a process that
 * wrote a change bumps `<prefix>gov:version` and publishes the new number on `<prefix>gov:changed`; the others
 * reload when the message arrives, or — message lost while the subscriber reconnected — when a poll of the
 * version key sees it moved. Reloads are coalesced (one running, at most one queued). Nothing here throws into
 * the caller: Redis trouble is told to `warn`, and a gateway whose Redis is away keeps serving its last snapshot.
 *
 * Order of use: `connect()` before the first snapshot load (so a change racing the start is never missed),
 * `start(reload)` once the reload function exists, `announce()` after each local write, `close()`.
 */
export class SnapshotSync {
  readonly versionKey: string;
  readonly channel: string;
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #warn: (message: string) => void;
  readonly #pollIntervalMs: number;
  #reload: (() => Promise<void>) | null = null;
  /** The highest version this process has reloaded for, or has a reload queued for. */
  #seen = 0;
  /** False until the version key was read once: until then any answer means "reload". */
  #known = false;
  #running: Promise<void> | null = null;
  #pending = false;
  /** The last reload failed: the next poll retries it even if the version did not move. */
  #stale = false;
  /** A local change whose INCR failed: retried on each poll, or the others would never hear of it. */
  #unannounced = false;
  /** Redis trouble already told, per connection (once per outage). */
  readonly #troubled = { client: false, subscriber: false };
  #subscribed = false;
  #subscribing: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(options: SnapshotSyncOptions) {
    const prefix = options.prefix ?? "tollgate:";
    this.versionKey = `${prefix}gov:version`;
    this.channel = `${prefix}gov:changed`;
    this.#warn = options.warn ?? (() => {});
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    const common: RedisOptions = {
      lazyConnect: true,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
      // Its default (2 s) holds the process open at shutdown while Redis is down.
      disconnectTimeout: 200,
    };
    this.#client = new Redis(options.url, {
      ...common,
      // Fail fast while disconnected: the poll retries, and a request thread never waits on this.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      ...options.redisOptions,
    });
    this.#subscriber = new Redis(options.url, { ...common, ...options.redisOptions });
    this.#client.on("error", (error: unknown) => this.#trouble("client", "connection", error));
    this.#subscriber.on("error", (error: unknown) => this.#trouble("subscriber", "subscriber connection", error));
    this.#subscriber.on("message", (channel: string, message: string) => this.#onMessage(channel, message));
    this.#subscriber.on("ready", () => {
      this.#troubled.subscriber = false;
      // ioredis resubscribes by itself; messages published while the subscriber was away are gone, though:
      // check the version at once.
      if (this.#subscribed) this.#schedulePoll(0);
      else void this.#subscribe();
    });
  }

  /** Connects, subscribes and reads the current version. Resolves even when Redis is away (then it retries). */
  async connect(): Promise<void> {
    const [client, subscriber] = await Promise.allSettled([this.#client.connect(), this.#subscriber.connect()]);
    if (subscriber.status === "rejected") this.#trouble("subscriber", "subscriber connect", subscriber.reason);
    else await this.#subscribe();
    if (client.status === "rejected") {
      this.#trouble("client", "connect", client.reason);
      return;
    }
    try {
      this.#seen = await this.#readVersion();
      this.#known = true;
      this.#troubled.client = false;
    } catch (error) {
      this.#trouble("client", "version read", error);
    }
  }

  /** Starts hearing about changes: `reload` runs for every change another process announces. */
  start(reload: () => Promise<void>): void {
    if (this.#closed) return;
    this.#reload = reload;
    if (this.#pending) this.#requestReload();
    this.#schedulePoll(this.#pollIntervalMs);
  }

  /** After a local write (and its local reload): tells the other processes. Never rejects. */
  async announce(): Promise<void> {
    if (this.#closed) return;
    let version: number;
    try {
      version = await this.#client.incr(this.versionKey);
    } catch (error) {
      this.#unannounced = true;
      this.#trouble("client", "announce", error);
      return;
    }
    this.#unannounced = false;
    this.#troubled.client = false;
    if (this.#known && version === this.#seen + 1) {
      this.#seen = version;
    } else {
      // Another process changed something since the last version seen here (or Redis lost its data): reload too.
      this.#seen = version;
      this.#known = true;
      this.#requestReload();
    }
    try {
      await this.#client.publish(this.channel, String(version));
    } catch (error) {
      // The version moved, so the others' polls still see it.
      this.#trouble("client", "publish", error);
    }
  }

  /** Stops polling and listening; waits for a reload in flight. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    await Promise.all([quit(this.#client), quit(this.#subscriber)]);
  }

  #subscribe(): Promise<void> {
    if (this.#subscribed) return Promise.resolve();
    this.#subscribing ??= this.#subscriber
      .subscribe(this.channel)
      .then(() => {
        this.#subscribed = true;
      })
      .catch((error: unknown) => this.#trouble("subscriber", "subscribe", error))
      .finally(() => {
        this.#subscribing = null;
      });
    return this.#subscribing;
  }

  #onMessage(channel: string, message: string): void {
    if (channel !== this.channel) return;
    const version = Number(message);
    if (!Number.isSafeInteger(version)) return;
    if (this.#known && version <= this.#seen) return;
    this.#seen = version;
    this.#known = true;
    this.#requestReload();
  }

  async #readVersion(): Promise<number> {
    const value = await this.#client.get(this.versionKey);
    const version = value === null ? 0 : Number(value);
    return Number.isSafeInteger(version) ? version : 0;
  }

  #schedulePoll(delayMs: number): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#poll().finally(() => {
        if (this.#timer === null) this.#schedulePoll(this.#pollIntervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    if (this.#closed) return;
    if (this.#unannounced) await this.announce();
    const before = this.#seen;
    let version: number;
    try {
      version = await this.#readVersion();
    } catch (error) {
      this.#trouble("client", "version read", error);
      return;
    }
    this.#troubled.client = false;
    // Lower than seen (and no message moved `seen` during the read): Redis lost its data. Reload as well, and
    // follow the new count.
    const reset = version < this.#seen && this.#seen === before;
    if (!this.#known || this.#stale || version > this.#seen || reset) {
      this.#seen = version;
      this.#known = true;
      this.#requestReload();
    }
  }

  #requestReload(): void {
    if (this.#closed) return;
    if (this.#reload === null || this.#running !== null) {
      this.#pending = true;
      return;
    }
    this.#running = this.#runReloads(this.#reload);
  }

  async #runReloads(reload: () => Promise<void>): Promise<void> {
    do {
      this.#pending = false;
      this.#stale = false;
      try {
        await reload();
      } catch (error) {
        this.#stale = true;
        this.#warn(`governance sync: reloading the key snapshot failed (retried within a second): ${describe(error)}`);
      }
    } while (this.#pending && !this.#closed);
    this.#running = null;
  }

  #trouble(connection: "client" | "subscriber", what: string, error: unknown): void {
    if (this.#closed || this.#troubled[connection]) return;
    this.#troubled[connection] = true;
    this.#warn(
      `governance sync: Redis ${what} failed (${describe(error)}); changes made on other gateway processes ` +
        "reach this one late until Redis answers again",
    );
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
