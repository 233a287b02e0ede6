import type { Clock } from "../clock.ts";
import type { ProviderConfig, ProviderKey } from "../providers/types.ts";
import { betterThan, CallStats } from "./call-stats.ts";
import { type BreakerSettings, CircuitBreaker, type CircuitState } from "./circuit-breaker.ts";
import { keyServes, keyWeight } from "./key-models.ts";
import { powerOfTwoChoices } from "./power-of-two.ts";

/**
 * The health of every provider and provider key, one per gateway process, in memory: which keys are cooling down
 * after a 429 or flagged after a 401/403, how fast and how reliable each key and provider has been lately (EWMA),
 * and each provider's circuit breaker. The attempt loop asks it which key and which target to use, and reports
 * every upstream attempt's outcome back.
 */

export interface ProviderHealthOptions {
  clock: Clock;
  /** In [0, 1); injectable so tests are deterministic. */
  random?: () => number;
  /** How long a key that returned 429 without `retry-after` stays out (default 60 s). */
  keyCooldownMs?: number;
  breaker?: Partial<BreakerSettings>;
}

export interface AttemptOutcome {
  /** The upstream's status; null when no response arrived (connect error, reset, timeout). */
  status: number | null;
  /** Time to first byte (or to the failure). */
  latencyMs: number;
  /** A 429's parsed `retry-after` (routing/retry-policy.ts parseRetryAfter). */
  retryAfterMs?: number | null;
}

export type KeyState = "ok" | "cooling" | "flagged";

export interface KeyHealthView {
  id: string;
  state: KeyState;
  /** Cooling: when the key comes back (epoch ms). */
  until?: number;
  /** Flagged: why ("401 Unauthorized", "403 Forbidden") and since when (epoch ms). */
  reason?: string;
  since?: number;
  ewmaLatencyMs: number | null;
  errorRate: number;
  requests: number;
}

export interface ProviderHealthView {
  circuit: CircuitState;
  /** When an open circuit admits its probe; null when closed. */
  openUntil: number | null;
  keys: KeyHealthView[];
}

interface KeyHealth {
  readonly stats: CallStats;
  coolingUntil: number | null;
  flagged: { reason: string; since: number } | null;
}

interface ProviderState {
  readonly breaker: CircuitBreaker;
  /** Every attempt on the provider, whatever the key: what targets are compared by. */
  readonly stats: CallStats;
  readonly keys: Map<string, KeyHealth>;
}

const FLAG_REASONS: Readonly<Record<number, string>> = { 401: "401 Unauthorized", 403: "403 Forbidden" };

export class ProviderHealth {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #cooldownMs: number;
  readonly #breaker: BreakerSettings;
  readonly #providers = new Map<string, ProviderState>();

  constructor(options: ProviderHealthOptions) {
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#cooldownMs = options.keyCooldownMs ?? 60_000;
    this.#breaker = {
      failureThreshold: options.breaker?.failureThreshold ?? 5,
      openMs: options.breaker?.openMs ?? 30_000,
    };
  }

  /**
   * The key to use for `model` on `provider`: among keys neither flagged nor cooling that serve the model, the
   * session's `prefer`red key if it is one of them, else weighted power-of-two-choices by recent latency and error
   * rate. Null when no key is usable (a keyless provider too): see `soonestRecovery` for "all cooling".
   */
  pickKey(provider: ProviderConfig, model: string, opts: { prefer?: string | null } = {}): ProviderKey | null {
    const now = this.#clock.now();
    const state = this.#providers.get(provider.name);
    const eligible: ProviderKey[] = [];
    for (const key of provider.keys) {
      if (!keyServes(key, model)) continue;
      const health = state?.keys.get(key.id);
      if (health !== undefined && !usable(health, now)) continue;
      if (key.id === opts.prefer) return key;
      eligible.push(key);
    }
    const stats = (key: ProviderKey) => state?.keys.get(key.id)?.stats;
    return powerOfTwoChoices(eligible, keyWeight, (a, b) => betterThan(stats(a), stats(b)), this.#random);
  }

  /** When the first cooling key of a provider comes back (epoch ms); null when none is cooling. */
  soonestRecovery(provider: string): number | null {
    const now = this.#clock.now();
    let soonest: number | null = null;
    for (const health of this.#providers.get(provider)?.keys.values() ?? []) {
      const until = health.coolingUntil;
      if (health.flagged === null && until !== null && until > now && (soonest === null || until < soonest))
        soonest = until;
    }
    return soonest;
  }

  /**
   * One upstream attempt's outcome. 2xx/3xx: latency sample, success. 429: the key cools down (`retry-after`, else
   * the configured cooldown). 401/403: the key is flagged until reset. 5xx or no response: an error, and a failure
   * for the provider's breaker. Other 4xx are the client's: counted, nothing else. `keyId` null: a keyless provider.
   */
  report(provider: string, keyId: string | null, outcome: AttemptOutcome): void {
    const now = this.#clock.now();
    const p = this.#state(provider);
    const key = keyId === null ? null : keyHealth(p, keyId);
    const { status } = outcome;
    if (status !== null && status < 400) {
      p.stats.success(outcome.latencyMs);
      key?.stats.success(outcome.latencyMs);
      p.breaker.success();
      return;
    }
    if (status !== null && status < 500) {
      p.breaker.answered(now);
      const flag = FLAG_REASONS[status];
      if (status === 429) {
        p.stats.failure();
        key?.stats.failure();
        if (key) key.coolingUntil = now + (outcome.retryAfterMs ?? this.#cooldownMs);
      } else if (flag !== undefined) {
        p.stats.neutral();
        key?.stats.failure();
        if (key) key.flagged = { reason: flag, since: now };
      } else {
        p.stats.neutral();
        key?.stats.neutral();
      }
      return;
    }
    p.stats.failure();
    key?.stats.failure();
    p.breaker.failure(now);
  }

  /** Whether the provider's breaker lets a call go now. In half-open state this call is the probe: ask right before dispatching. */
  allows(provider: string): boolean {
    return this.#providers.get(provider)?.breaker.admit(this.#clock.now()) ?? true;
  }

  /**
   * A target among those whose provider's breaker lets calls through: weighted power-of-two-choices by the
   * providers' recent latency and error rate. The target returned has been admitted (it is the probe of a half-open
   * breaker): do not call `allows` for it again. Null when every provider's circuit is open.
   */
  pickTarget<T extends { provider: string; weight: number }>(targets: readonly T[]): T | null {
    const now = this.#clock.now();
    const open = targets.filter((t) => this.#providers.get(t.provider)?.breaker.admits(now) ?? true);
    const stats = (t: T) => this.#providers.get(t.provider)?.stats;
    const chosen = powerOfTwoChoices(
      open,
      (t) => Math.max(0, t.weight),
      (a, b) => betterThan(stats(a), stats(b)),
      this.#random,
    );
    if (chosen !== null) this.#providers.get(chosen.provider)?.breaker.admit(now);
    return chosen;
  }

  /** Forgets a key's state (flag, cooldown, averages), or a whole provider's with its breaker: after an edit. */
  reset(provider: string, keyId?: string): void {
    if (keyId === undefined) this.#providers.delete(provider);
    else this.#providers.get(provider)?.keys.delete(keyId);
  }

  /** For `/api/providers`: the breaker and each key, in `keyIds` order when given (keys never used show as ok). */
  view(provider: string, keyIds?: readonly string[]): ProviderHealthView {
    const now = this.#clock.now();
    const p = this.#providers.get(provider);
    const ids = keyIds ?? [...(p?.keys.keys() ?? [])];
    return {
      circuit: p?.breaker.state(now) ?? "closed",
      openUntil: p?.breaker.openUntil ?? null,
      keys: ids.map((id) => keyView(id, p?.keys.get(id), now)),
    };
  }

  #state(provider: string): ProviderState {
    let state = this.#providers.get(provider);
    if (state === undefined) {
      state = { breaker: new CircuitBreaker(this.#breaker), stats: new CallStats(), keys: new Map() };
      this.#providers.set(provider, state);
    }
    return state;
  }
}

function keyHealth(p: ProviderState, keyId: string): KeyHealth {
  let health = p.keys.get(keyId);
  if (health === undefined) {
    health = { stats: new CallStats(), coolingUntil: null, flagged: null };
    p.keys.set(keyId, health);
  }
  return health;
}

function usable(health: KeyHealth, now: number): boolean {
  return health.flagged === null && (health.coolingUntil === null || health.coolingUntil <= now);
}

function keyView(id: string, health: KeyHealth | undefined, now: number): KeyHealthView {
  const stats = {
    ewmaLatencyMs: health?.stats.latencyMs ?? null,
    errorRate: health?.stats.errorRate ?? 0,
    requests: health?.stats.requests ?? 0,
  };
  if (health?.flagged)
    return { id, state: "flagged", reason: health.flagged.reason, since: health.flagged.since, ...stats };
  if (health?.coolingUntil != null && health.coolingUntil > now)
    return { id, state: "cooling", until: health.coolingUntil, ...stats };
  return { id, state: "ok", ...stats };
}
