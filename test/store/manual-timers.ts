import type { ManualClock } from "../../src/clock.ts";
import type { Timers } from "../../src/store/log-writer.ts";

interface Entry {
  due: number;
  callback: () => void;
}

/** Timers that fire only when the test advances its ManualClock through them. */
export class ManualTimers implements Timers {
  readonly #clock: ManualClock;
  readonly #entries = new Map<number, Entry>();
  #nextId = 1;
  /** Every delay ever requested, in order (to check backoff). */
  readonly requestedDelays: number[] = [];

  constructor(clock: ManualClock) {
    this.#clock = clock;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.requestedDelays.push(ms);
    this.#entries.set(id, { due: this.#clock.now() + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === "number") this.#entries.delete(handle);
  }

  /** Delays (from now) of the timers still waiting. */
  pendingDelays(): number[] {
    return [...this.#entries.values()].map((e) => e.due - this.#clock.now()).sort((a, b) => a - b);
  }

  /** Moves the clock forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#clock.now() + ms;
    for (;;) {
      let nextId: number | undefined;
      let next: Entry | undefined;
      for (const [id, entry] of this.#entries) {
        if (entry.due <= end && (next === undefined || entry.due < next.due)) {
          nextId = id;
          next = entry;
        }
      }
      if (next === undefined || nextId === undefined) break;
      this.#entries.delete(nextId);
      this.#clock.set(Math.max(this.#clock.now(), next.due));
      next.callback();
    }
    this.#clock.set(end);
  }
}
