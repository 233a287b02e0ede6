/**
 * A circuit breaker for one provider: `failureThreshold` consecutive failures (5xx, connect errors, timeouts) open it
 * for `openMs`; then it is half-open and admits one probe call; the probe's success closes it, its failure opens it
 * again. A 4xx is the key's or the client's business, not the provider's: it neither counts nor resets, but it does
 * answer a probe (the provider is up). A probe that never reports is given up after `openMs`.
 */

export type CircuitState = "closed" | "open" | "half-open";

export interface BreakerSettings {
  failureThreshold: number;
  openMs: number;
}

export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  #failures = 0;
  #openUntil: number | null = null;
  #probeSince: number | null = null;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
  }

  state(now: number): CircuitState {
    if (this.#openUntil === null) return "closed";
    return now < this.#openUntil ? "open" : "half-open";
  }

  /** When an open circuit goes half-open; null when closed. */
  get openUntil(): number | null {
    return this.#openUntil;
  }

  /** Whether a call may go now, without taking the half-open probe slot. */
  admits(now: number): boolean {
    const state = this.state(now);
    if (state === "closed") return true;
    if (state === "open") return false;
    return this.#probeSince === null || now - this.#probeSince >= this.#settings.openMs;
  }

  /** Whether a call may go now; in half-open state the call admitted is the probe. */
  admit(now: number): boolean {
    if (!this.admits(now)) return false;
    if (this.state(now) === "half-open") this.#probeSince = now;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#openUntil = null;
    this.#probeSince = null;
  }

  failure(now: number): void {
    const state = this.state(now);
    if (state === "open") return;
    if (state === "half-open") {
      this.#open(now);
      return;
    }
    this.#failures++;
    if (this.#failures >= this.#settings.failureThreshold) this.#open(now);
  }

  /** A 4xx: says nothing about the provider's health, except that it answered a probe. */
  answered(now: number): void {
    if (this.state(now) === "half-open") this.success();
  }

  #open(now: number): void {
    this.#openUntil = now + this.#settings.openMs;
    this.#failures = 0;
    this.#probeSince = null;
  }
}
