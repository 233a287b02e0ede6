/**
 * Recent behaviour of one upstream (a provider, or one of its keys): exponentially weighted moving averages of the
 * time to first byte of successful calls and of the share of calls that failed. Sample-weighted (not time-decayed):
 * an idle upstream keeps its last picture until it is used again.
 */

/** Weight of the newest sample (0.2: about the last ten calls matter). */
const ALPHA = 0.2;
/** How much one unit of error rate multiplies a latency score (a 10 % error rate doubles it). */
const ERROR_PENALTY = 10;

export class CallStats {
  /** Null until the first successful call. */
  latencyMs: number | null = null;
  errorRate = 0;
  requests = 0;

  success(latencyMs: number): void {
    this.requests++;
    const sample = Math.max(0, latencyMs);
    this.latencyMs = this.latencyMs === null ? sample : this.latencyMs + ALPHA * (sample - this.latencyMs);
    this.errorRate -= ALPHA * this.errorRate;
  }

  failure(): void {
    this.requests++;
    this.errorRate += ALPHA * (1 - this.errorRate);
  }

  /** A call that says nothing about this upstream's health (the client's own 4xx). */
  neutral(): void {
    this.requests++;
  }
}

/**
 * Whether `a` is strictly better than `b`: lower latency × (1 + k·error rate). An upstream with no latency yet is
 * scored with the other's, so the error rates alone decide and a new key is neither favoured nor shunned.
 */
export function betterThan(a: CallStats | undefined, b: CallStats | undefined): boolean {
  const la = a?.latencyMs ?? b?.latencyMs ?? 1;
  const lb = b?.latencyMs ?? a?.latencyMs ?? 1;
  // +1 ms: a zero latency (a mock answering at once) must not erase the error penalty.
  return (la + 1) * (1 + ERROR_PENALTY * (a?.errorRate ?? 0)) < (lb + 1) * (1 + ERROR_PENALTY * (b?.errorRate ?? 0));
}
