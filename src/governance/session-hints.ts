import { Redis } from "ioredis";

/** What a session's last request tells about the next one's prompt (see cost-estimator.ts). */
export interface SessionPrefix {
  /** All input tokens of the session's previous request (its whole prompt, which the next one extends). */
  inputTokens: number;
  /** Whether that request read or wrote the prompt cache (the provider caches this conversation). */
  cached: boolean;
  /** Whether it wrote the cache (Anthropic charges a premium for writes; OpenAI and Gemini do not). */
  wrote: boolean;
}

/**
 * Session hints shared by gateway processes, so a session whose turns land on different processes is still
 * estimated as the cached conversation it is (and is not refused near the end of a budget for a cost it will not
 * have). Best effort: a missing or unreachable store only makes estimates less precise.
 */
export interface SessionHintStore {
  get(key: string): Promise<SessionPrefix | null>;
  put(key: string, hint: SessionPrefix): void;
  close(): Promise<void>;
}

/** Hints live as long as a provider keeps a prompt cache warm, and a little longer. */
const HINT_TTL_MS = 2 * 3_600_000;
/** A lookup that takes longer than this is skipped (admission does not wait on a slow Redis). */
const LOOKUP_TIMEOUT_MS = 50;

export class RedisSessionHints implements SessionHintStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(url: string, prefix: string) {
    this.#prefix = `${prefix}hint:`;
    this.#client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: LOOKUP_TIMEOUT_MS,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
      disconnectTimeout: 200,
    });
    // Trouble is the counters' to report (same Redis); hints just go without.
    this.#client.on("error", () => {});
  }

  async connect(): Promise<void> {
    try {
      await this.#client.connect();
    } catch {
      // Retries by itself; until then every lookup misses.
    }
  }

  async get(key: string): Promise<SessionPrefix | null> {
    try {
      const raw = await this.#client.get(this.#prefix + key);
      if (raw === null) return null;
      const [tokens, flags] = raw.split(":");
      const inputTokens = Number(tokens);
      if (!Number.isSafeInteger(inputTokens) || inputTokens < 0) return null;
      return { inputTokens, cached: flags === "c" || flags === "w", wrote: flags === "w" };
    } catch {
      return null;
    }
  }

  put(key: string, hint: SessionPrefix): void {
    const flags = hint.wrote ? "w" : hint.cached ? "c" : "-";
    this.#client.set(this.#prefix + key, `${hint.inputTokens}:${flags}`, "PX", HINT_TTL_MS).catch(() => {});
  }

  async close(): Promise<void> {
    this.#client.disconnect();
  }
}
