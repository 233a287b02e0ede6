import { createHash } from "node:crypto";
import type { Clock } from "../clock.ts";
import type { CounterStore } from "../counters/counter-store.ts";
import { CountersUnavailableError } from "../counters/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import { formatUsd } from "../pipeline/money.ts";
import type { VirtualKeySnapshot } from "./entities/index.ts";
import { parseRateWindow } from "./periods.ts";

/** A session's spend hold, committed with the actual cost when the request ends. */
export interface SessionHold {
  id: string;
  counter: string;
  estimateNanoUsd: number;
}

/** Agent sessions rarely last longer; their counters are forgotten a week after their last request. */
const SESSION_WINDOW_MS = 7 * 24 * 3_600_000;
const HOLD_TTL_MS = 15 * 60_000;

/**
 * Session caps for runaway agents, per key and agent session (the session id the client sends): at most N requests,
 * at most $X, and a loop guard — the same request body seen `repeats` times within a window is refused. Refusals
 * are 429s in the client's dialect that say which cap was hit. Requests without a session id are not capped here.
 */
export class SessionGate {
  readonly #counters: CounterStore;
  readonly #clock: Clock;

  constructor(counters: CounterStore, clock: Clock) {
    this.#counters = counters;
    this.#clock = clock;
  }

  async admit(
    key: VirtualKeySnapshot | null,
    sessionId: string | null,
    body: Buffer,
    requestId: string,
    estimateNanoUsd: number,
    /** `spend: false`: the request costs nothing (a response-cache hit): counted and loop-guarded, never priced. */
    options: { spend?: boolean } = {},
  ): Promise<SessionHold | null> {
    const caps = key?.sessionCaps;
    if (!key || !caps || !sessionId) return null;
    const base = `session:${key.id}:${sessionId}`;
    try {
      if (caps.loopGuard) {
        const digest = createHash("sha256").update(body).digest("base64url").slice(0, 22);
        const hit = await this.#counters.hit([
          {
            key: `${base}:loop:${digest}`,
            limit: caps.loopGuard.repeats - 1,
            windowMs: parseRateWindow(caps.loopGuard.window).lengthMs,
          },
        ]);
        if (!hit.ok) {
          throw capReached(
            `The same request was sent ${caps.loopGuard.repeats} times in session ${sessionId} within ${caps.loopGuard.window}: ` +
              "refused as a probable agent loop.",
            hit.retryAfterMs,
          );
        }
      }
      if (caps.maxRequests !== null) {
        const hit = await this.#counters.hit([
          { key: `${base}:requests`, limit: caps.maxRequests, windowMs: SESSION_WINDOW_MS },
        ]);
        if (!hit.ok) {
          throw capReached(
            `Session ${sessionId} of key "${key.name}" reached its cap of ${caps.maxRequests} requests.`,
            null,
          );
        }
      }
      if (caps.maxNanoUsd === null || options.spend === false) return null;
      const counter = `${base}:spend`;
      const reserved = await this.#counters.reserve({
        id: `${requestId}:session`,
        items: [
          {
            key: counter,
            amount: estimateNanoUsd,
            limit: caps.maxNanoUsd,
            expireAtMs: this.#clock.now() + SESSION_WINDOW_MS,
          },
        ],
        ttlMs: HOLD_TTL_MS,
      });
      if (!reserved.ok) {
        const spent = reserved.reason === "limit" ? reserved.committed : 0;
        throw capReached(
          `Session ${sessionId} of key "${key.name}" reached its $${formatUsd(caps.maxNanoUsd)} cap ($${formatUsd(spent)} spent).`,
          null,
        );
      }
      return { id: `${requestId}:session`, counter, estimateNanoUsd };
    } catch (err) {
      if (!(err instanceof CountersUnavailableError)) throw err;
      throw new GatewayError(
        "TG_COUNTERS_UNAVAILABLE",
        "Session counters are unreachable; the request was not admitted.",
      );
    }
  }

  async settle(hold: SessionHold, actualNanoUsd: number | null, billed: boolean): Promise<void> {
    try {
      if (billed)
        await this.#counters.commit(hold.id, [{ key: hold.counter, amount: actualNanoUsd ?? hold.estimateNanoUsd }]);
      else await this.#counters.release(hold.id);
    } catch {
      // The hold expires by itself.
    }
  }
}

function capReached(message: string, retryAfterMs: number | null): GatewayError {
  return new GatewayError(
    "TG_SESSION_CAP",
    message,
    retryAfterMs === null ? {} : { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  );
}
