/**
 * Rate-limit windows: a sliding window of `buckets` (default 60) fixed-width buckets, counted conservatively.
 *
 * Bucket width b = ceil(windowMs / buckets); bucket j covers [j·b, (j+1)·b). At time t (bucket k = floor(t / b)) a
 * hit counts buckets k − span … k, span = ceil(windowMs / b): those cover (t − windowMs, t] entirely, so
 *   - admitted units never exceed the limit in ANY sliding window of windowMs (exact, atomic per key), and
 *   - a hit is refused only if the units admitted in (t − windowMs − b, t] plus its cost exceed the limit: the
 *     window "forgets" a unit at most one bucket (windowMs / 60, e.g. 1 s of a 1 m window) later than an exact log.
 * State is O(buckets) per key whatever the traffic. The Redis script (redis-scripts.ts) does the same arithmetic
 * on hash fields; this class is the in-memory twin.
 *
 * A clock that steps back books into the oldest live bucket (never into a slot that would alias a newer one).
 */

export const DEFAULT_BUCKETS_PER_WINDOW = 60;

export function bucketWidth(windowMs: number, buckets: number): number {
  return Math.ceil(windowMs / buckets);
}

export class SlidingWindow {
  readonly windowMs: number;
  readonly width: number;
  /** Buckets behind the current one that still count. */
  readonly span: number;
  /** Units in buckets oldest … oldest + span. */
  total = 0;
  #oldest: number;
  #newest: number;
  readonly #ring: number[];

  constructor(windowMs: number, buckets: number, now: number) {
    this.windowMs = windowMs;
    this.width = bucketWidth(windowMs, buckets);
    this.span = Math.ceil(windowMs / this.width);
    this.#ring = new Array<number>(this.span + 1).fill(0);
    this.#oldest = Math.floor(now / this.width) - this.span;
    this.#newest = this.#oldest;
  }

  /** Drops buckets that left the window; returns the bucket a hit at `now` books into. */
  slide(now: number): number {
    const current = Math.floor(now / this.width);
    const low = current - this.span;
    if (low > this.#oldest) {
      const ring = this.#ring;
      const size = ring.length;
      if (low - this.#oldest > this.span) {
        ring.fill(0);
        this.total = 0;
      } else {
        for (let j = this.#oldest; j < low; j++) {
          this.total -= ring[j % size] as number;
          ring[j % size] = 0;
        }
      }
      this.#oldest = low;
    }
    return Math.max(current, this.#oldest);
  }

  add(bucket: number, cost: number): void {
    const ring = this.#ring;
    const slot = bucket % ring.length;
    ring[slot] = (ring[slot] as number) + cost;
    this.total += cost;
    if (bucket > this.#newest) this.#newest = bucket;
  }

  /** How long until `cost` more fits under `limit` as old buckets leave (call right after slide). */
  retryAfterMs(now: number, cost: number, limit: number): number {
    const ring = this.#ring;
    const size = ring.length;
    let freed = 0;
    for (let j = this.#oldest; j <= this.#oldest + this.span; j++) {
      freed += ring[j % size] as number;
      if (this.total - freed + cost <= limit) return (j + this.span + 1) * this.width - now;
    }
    return this.windowMs;
  }

  /** True once every booked unit has left the window (the state can be dropped). */
  isStale(now: number): boolean {
    return Math.floor(now / this.width) - this.span > this.#newest;
  }
}
