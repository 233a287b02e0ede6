import { createHash } from "node:crypto";
import type { Clock } from "../clock.ts";
import type { CounterStore, RateItem } from "../counters/counter-store.ts";
import { CountersUnavailableError } from "../counters/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import { formatUsd } from "../pipeline/money.ts";
import type { VirtualKeySnapshot } from "./entities/index.ts";
import { parseRateWindow } from "./periods.ts";

/**
 * What a request holds on its session's caps until it ends: the spend hold (committed with the actual cost), and
 * the request count and loop-guard hit it took, given back if the request never got an answer from the provider.
 */
export interface SessionHold {
  id: string;
  /** The spend counter; null when the key has no spend cap (or the request costs nothing). */
  counter: string | null;
  estimateNanoUsd: number;
  /** The hits admission booked (request count, loop guard): undone by giveBack. */
  counted: RateItem[];
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
    const id = `${requestId}:session`;
    const counted: RateItem[] = [];
    try {
      if (caps.loopGuard) {
        const digest = createHash("sha256").update(body).digest("base64url").slice(0, 22);
        const item: RateItem = {
          key: `${base}:loop:${digest}`,
          limit: caps.loopGuard.repeats - 1,
          windowMs: parseRateWindow(caps.loopGuard.window).lengthMs,
        };
        const hit = await this.#counters.hit([item]);
        if (hit.ok) counted.push(item);
        else {
          throw capReached(
            `The same request was sent ${caps.loopGuard.repeats} times in session ${sessionId} within ${caps.loopGuard.window}: ` +
              "refused as a probable agent loop.",
            hit.retryAfterMs,
          );
        }
      }
      if (caps.maxRequests !== null) {
        const item: RateItem = { key: `${base}:requests`, limit: caps.maxRequests, windowMs: SESSION_WINDOW_MS };
        const hit = await this.#counters.hit([item]);
        if (hit.ok) counted.push(item);
        else {
          // A refused request counts nowhere: its loop-guard hit goes back too.
          await this.#uncount(counted);
          throw capReached(
            `Session ${sessionId} of key "${key.name}" reached its cap of ${caps.maxRequests} requests.`,
            null,
          );
        }
      }
      if (caps.maxNanoUsd === null || options.spend === false)
        return counted.length > 0 ? { id, counter: null, estimateNanoUsd: 0, counted } : null;
      const counter = `${base}:spend`;
      const reserved = await this.#counters.reserve({
        id,
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
        await this.#uncount(counted);
        const spent = reserved.reason === "limit" ? reserved.committed : 0;
        throw capReached(
          `Session ${sessionId} of key "${key.name}" reached its $${formatUsd(caps.maxNanoUsd)} cap ($${formatUsd(spent)} spent).`,
          null,
        );
      }
      return { id, counter, estimateNanoUsd, counted };
    } catch (err) {
      if (!(err instanceof CountersUnavailableError)) throw err;
      throw new GatewayError(
        "TG_COUNTERS_UNAVAILABLE",
        "Session counters are unreachable; the request was not admitted.",
      );
    }
  }

  /**
   * Ends the request's hold. Nothing billed and no cost (`actualNanoUsd` null: Tollgate answered the request
   * itself — refused later in admission by a budget, an unknown price or unreachable counters, or the provider
   * could not be reached): the request also gives back its session count and loop-guard hit, so refused attempts
   * do not use up the session's caps. An answer from the provider (even an error, priced at $0) keeps them.
   */
  async settle(hold: SessionHold, actualNanoUsd: number | null, billed: boolean): Promise<void> {
    if (!billed && actualNanoUsd === null) await this.giveBack(hold);
    if (hold.counter === null) return;
    try {
      if (billed)
        await this.#counters.commit(hold.id, [{ key: hold.counter, amount: actualNanoUsd ?? hold.estimateNanoUsd }]);
      else await this.#counters.release(hold.id);
    } catch {
      // The hold expires by itself.
    }
  }

  /** Takes back the request count and loop-guard hit of a request that was not served after all. Never throws. */
  async giveBack(hold: SessionHold): Promise<void> {
    await this.#uncount(hold.counted.splice(0));
  }

  /** A negative forced hit: booked in the current bucket, it cancels the request's own hit (both backends). */
  async #uncount(items: readonly RateItem[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.#counters.hit(
        items.map((item) => ({ ...item, cost: -(item.cost ?? 1) })),
        { force: true },
      );
    } catch {
      // Counters unreachable: the count stays until its window slides past.
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
