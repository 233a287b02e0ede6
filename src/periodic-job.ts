/**
 * A background job run every `intervalMs` of real time, first `firstRunDelayMs` after `start()`, on unref'd timers
 * (they never keep the process alive). `runOnce()` runs it now and joins a run in progress rather than doubling it;
 * it never rejects: a failure is reported through `onError`, whose value the run resolves to. `close()` stops the
 * schedule and waits for a running pass.
 */
export class PeriodicJob<T> {
  readonly #run: () => Promise<T>;
  readonly #onError: (err: unknown) => T;
  readonly #intervalMs: number;
  readonly #firstRunDelayMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<T> | null = null;
  #closed = false;

  constructor(
    run: () => Promise<T>,
    options: { intervalMs: number; firstRunDelayMs: number; onError: (err: unknown) => T },
  ) {
    this.#run = run;
    this.#onError = options.onError;
    this.#intervalMs = options.intervalMs;
    this.#firstRunDelayMs = options.firstRunDelayMs;
  }

  start(): void {
    if (!this.#closed) this.#schedule(this.#firstRunDelayMs);
  }

  runOnce(): Promise<T> {
    this.#running ??= this.#run()
      .catch(this.#onError)
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.runOnce().finally(() => {
        if (!this.#closed) this.#schedule(this.#intervalMs);
      });
    }, delay);
    this.#timer.unref();
  }
}
