import { createHash } from "node:crypto";
import { type Neighbour, SemanticIndex } from "./semantic-index.ts";
import type { ResponseCacheStore, SemanticChanges, SemanticRecord } from "./store.ts";

/** The semantic group of a request: only entries of one group are compared (same scope, namespace, context). */
export function semanticGroup(scope: string, namespace: string, contextKey: string): string {
  return createHash("sha256").update(`${scope}\u0000${namespace}\u0000${contextKey}`).digest("hex").slice(0, 32);
}

/**
 * Keeps the per-process index (semantic-index.ts) in step with the store, where entries and their vectors live.
 * One process owning the store (SQLite, or PostgreSQL without Redis): the index is saved to `dir` on close, loaded at
 * start and reconciled with the table (entries gone are forgotten, entries missing are loaded) — a missing or stale
 * file only costs a rebuild. A shared store (Redis): rebuilt from the shared vectors at start, then kept current by
 * polling the store's change stream every `pollMs` (one cheap XRANGE when nothing changed; no subscriber connection).
 */
export class SemanticLayer {
  readonly index = new SemanticIndex();
  readonly #store: ResponseCacheStore;
  readonly #dir: string | null;
  readonly #warn: (message: string) => void;
  #cursor: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #catching: Promise<void> | null = null;
  /** Set by close: a rebuild in progress stops (the next start reconciles what is missing). */
  #closed = false;
  /** Resolves once the index was loaded or rebuilt (lookups before then simply miss). */
  readonly ready: Promise<void>;

  constructor(
    store: ResponseCacheStore,
    options: { dir: string | null; warn: (message: string) => void; pollMs?: number },
  ) {
    this.#store = store;
    this.#dir = options.dir;
    this.#warn = options.warn;
    this.ready = this.#start().catch((err: Error) => this.#warn(`semantic cache index not loaded: ${err.message}`));
    const pollMs = options.pollMs ?? 1000;
    if (store.semanticChanges && pollMs > 0) {
      this.#timer = setInterval(() => void this.catchUp(), pollMs);
      this.#timer.unref();
    }
  }

  async #start(): Promise<void> {
    if (this.#store.semanticChanges) {
      // The position before the listing: changes made while listing are replayed again (adds and removals are idempotent).
      const head = await this.#store.semanticChanges(null);
      if (!head.reset) this.#cursor = head.cursor;
    } else if (this.#dir !== null) {
      await this.index.load(this.#dir);
    }
    await this.reconcile();
  }

  /** Makes the index match the store: forgets ids the store lost, loads vectors the index lacks. */
  async reconcile(): Promise<{ added: number; removed: number }> {
    // Only ids indexed before the listing may be stale: one stored meanwhile is not in it yet.
    const before = [...this.index.ids()];
    const stored = await this.#store.semanticIds();
    let removed = 0;
    for (const id of before) {
      if (!stored.has(id) && this.index.has(id)) {
        this.index.remove(id);
        removed++;
      }
    }
    const missing = [...stored.keys()].filter((id) => !this.index.has(id));
    let added = 0;
    // In slices, yielding between them: a graph insert costs up to ~1 ms, and a rebuild of 100,000 must not stall
    // the requests this process serves meanwhile.
    for (let i = 0; i < missing.length && !this.#closed; i += 1000) {
      const records = await this.#store.semanticRecords(missing.slice(i, i + 1000));
      for (let j = 0; j < records.length; j++) {
        const r = records[j] as SemanticRecord;
        this.index.add(r.group, r.vector, { id: r.id, exactKey: r.exactKey });
        if (j % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
      added += records.length;
    }
    return { added, removed };
  }

  /** Applies other processes' changes (shared store only); one at a time. */
  catchUp(): Promise<void> {
    if (this.#catching) return this.#catching;
    this.#catching = this.#catchUp()
      .catch((err: Error) => this.#warn(`semantic cache index catch-up failed: ${err.message}`))
      .finally(() => {
        this.#catching = null;
      });
    return this.#catching;
  }

  async #catchUp(): Promise<void> {
    const changes = this.#store.semanticChanges;
    if (!changes || this.#cursor === null) return;
    while (!this.#closed) {
      const c: SemanticChanges = await changes.call(this.#store, this.#cursor);
      if (c.reset) {
        const head = await changes.call(this.#store, null);
        if (!head.reset) this.#cursor = head.cursor;
        await this.reconcile();
        return;
      }
      for (const id of c.removed) this.index.remove(id);
      for (const [j, r] of c.added.entries()) {
        // Its own adds come back through the stream too: already indexed.
        if (this.index.groupOf(r.id) !== r.group) this.index.add(r.group, r.vector, { id: r.id, exactKey: r.exactKey });
        if (j % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
      if (c.cursor === this.#cursor) return;
      this.#cursor = c.cursor;
    }
  }

  nearest(group: string, vector: Float32Array, threshold: number): Neighbour[] {
    return this.index.nearest(group, vector, threshold);
  }

  /** Stops polling and saves the index (one process owning the store). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.ready;
    await this.#catching;
    if (this.#dir !== null && !this.#store.semanticChanges) {
      await this.index
        .save(this.#dir)
        .catch((err: Error) => this.#warn(`semantic cache index not saved: ${err.message}`));
    }
  }
}
