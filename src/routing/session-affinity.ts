import type { Clock } from "../clock.ts";

/** Where a session's last successful request went. */
export interface SessionPlacement {
  provider: string;
  /** Provider API key id; null when the request used no pooled key (the client's own, a minted token …). */
  keyId: string | null;
}

interface Entry extends SessionPlacement {
  at: number;
}

/**
 * Session affinity: an agent session's requests stick to the provider and key that last served it while they stay
 * healthy, so the provider's prompt cache keeps hitting (a large saving for Claude Code, whose every turn resends
 * the whole conversation). Affinity never chooses the model — routing rules do — only the provider and key among
 * the targets the rule (or the registry) allows. In-process and bounded: an LRU over the most recent sessions.
 */
export class SessionAffinity {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();

  constructor(clock: Clock, options: { ttlMs?: number; maxSessions?: number } = {}) {
    this.#clock = clock;
    this.#ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.#max = options.maxSessions ?? 50_000;
  }

  get(sessionId: string | null): SessionPlacement | null {
    if (sessionId === null) return null;
    const entry = this.#entries.get(sessionId);
    if (entry === undefined) return null;
    if (this.#clock.now() - entry.at > this.#ttlMs) {
      this.#entries.delete(sessionId);
      return null;
    }
    return entry;
  }

  remember(sessionId: string | null, placement: SessionPlacement): void {
    if (sessionId === null) return;
    // Re-inserting moves the session to the young end of the Map's insertion order (the LRU order).
    this.#entries.delete(sessionId);
    this.#entries.set(sessionId, { ...placement, at: this.#clock.now() });
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
