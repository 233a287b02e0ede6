import type { Clock } from "../clock.ts";
import type { AdjustItem, CounterStore, LimitRefusal } from "../counters/counter-store.ts";
import type { Usage } from "../metering/usage.ts";
import type { Pricer } from "../pipeline/runtime.ts";
import type { CostEstimate } from "./cost-estimator.ts";
import type { BudgetSnapshot } from "./entities/index.ts";

/** How budgets are enforced while requests run (config `budgets`). */
export interface BudgetEnforcement {
  /** Reserve the worst case (max_tokens, every byte a token) and never exceed a limit at all. */
  strict: boolean;
  /** Streams top up their hold in steps of this much (nano-dollars; default 1 ¢). */
  granularityNanoUsd: number;
  /** A request whose budget remainder buys fewer output tokens than this is refused rather than cut short. */
  minOutputTokens: number;
  /** A hold not renewed for this long is dropped (a crashed process's holds free themselves). */
  holdTtlMs: number;
}

export const DEFAULT_ENFORCEMENT: BudgetEnforcement = {
  strict: false,
  granularityNanoUsd: 10_000_000,
  minOutputTokens: 256,
  holdTtlMs: 2 * 60_000,
};

export interface HeldItem {
  key: string;
  budget: BudgetSnapshot;
  /** Start of the budget window the counter belongs to. */
  windowStart: number;
  expireAtMs: number | undefined;
}

/** What a running stream needs to price itself. */
export interface HoldPricing {
  pricingProvider: string;
  model: string;
}

/** The budget that stopped a top-up, for the message the client sees. */
export interface ExhaustedBudget {
  budget: BudgetSnapshot;
  refusal: LimitRefusal;
}

/** Shared by holds with nothing in flight (most never adjust): no promise per request. */
const SETTLED: Promise<void> = Promise.resolve();

/** Output tokens counted from streamed characters run ~4 per token for English, fewer for code: lean high. */
const STREAMED_OUTPUT_SAFETY = 4 / 3;

/**
 * A request's hold on its budgets while it runs (DESIGN.md principle 4): the estimate reserved at admission,
 * trued up when the provider reports the real input (Anthropic `message_start`), topped up one granularity step
 * ahead of a stream's running cost, and renewed while the request lives. When a top-up does not fit, the stream may
 * use what it holds and is then cut (`progress` answers "cut"). Invariant: a stream never runs more than one chunk
 * past what it holds, so committed spend ≤ limit + (one chunk + estimation error) per stream in flight.
 */
export class BudgetHold {
  readonly id: string;
  readonly items: readonly HeldItem[];
  readonly estimate: CostEstimate;
  /** Replaced when the call falls back to another model (pipeline/attempts.ts), so the stream prices what it buys. */
  pricing: HoldPricing;
  /** The virtual key the request came with (null: anonymous), for learning its habits. */
  readonly keyId: string | null;
  /** The output cap sent upstream when admission lowered the client's max_tokens; null when unchanged. */
  loweredMaxOutputTokens: number | null = null;
  /** Nano-dollars held on every item right now (as far as this process knows; an answer may be in flight). */
  held: number;
  /** Clock time of the last renewal (or admission), for BudgetGate's renewal sweep. */
  renewedAt = 0;
  /** Where BudgetGate's renewal list holds this hold; -1 when it does not. */
  liveIndex = -1;
  /** Set when a top-up was refused: the stream may spend what it holds, then it is cut. */
  exhausted: ExhaustedBudget | null = null;
  readonly #counters: CounterStore;
  readonly #prices: Pricer;
  readonly #clock: Clock;
  readonly #enforcement: BudgetEnforcement;
  #inputKnown = false;
  /** The running cost at the last `progress` call. */
  #lastCost = 0;
  #observed = false;
  #pending = false;
  #inFlight: Promise<void> = SETTLED;
  #lastChance = false;
  #done = false;

  constructor(
    init: {
      id: string;
      items: readonly HeldItem[];
      estimate: CostEstimate;
      pricing: HoldPricing;
      keyId: string | null;
      held: number;
    },
    deps: { counters: CounterStore; prices: Pricer; clock: Clock; enforcement: BudgetEnforcement },
  ) {
    this.id = init.id;
    this.items = init.items;
    this.estimate = init.estimate;
    this.pricing = init.pricing;
    this.keyId = init.keyId;
    this.held = init.held;
    this.#counters = deps.counters;
    this.#prices = deps.prices;
    this.#clock = deps.clock;
    this.#enforcement = deps.enforcement;
  }

  /** Moves the hold's expiry to now + TTL. */
  async renew(): Promise<boolean> {
    if (this.#done) return false;
    try {
      return (await this.#counters.renew(this.id, this.#enforcement.holdTtlMs)).ok;
    } catch {
      return false;
    }
  }

  /** The request is over (settled or released): no more top-ups or renewals. */
  end(): void {
    this.#done = true;
  }

  get ended(): boolean {
    return this.#done;
  }

  /**
   * Called as a stream progresses with the usage so far (`inputKnown`: the provider reported the prompt's real
   * numbers; `outputEstimated`: output counted from streamed text). Starts a true-up or top-up when needed (in
   * the background) and answers "cut" once the stream has spent all it holds and may not hold more.
   */
  progress(usage: Usage, inputKnown: boolean, outputEstimated: boolean): "ok" | "wait" | "cut" {
    if (this.#done || this.#enforcement.strict) return "ok";
    this.#observed = true;
    const cost = this.#runningCost(usage, inputKnown, outputEstimated);
    this.#lastCost = cost;
    const granularity = this.#enforcement.granularityNanoUsd;
    if (inputKnown && !this.#inputKnown) {
      this.#inputKnown = true;
      // True-up: the input part of the estimate becomes the real figure; the output part stays.
      const target = Math.max(cost + granularity, this.#realInput(usage) + this.estimate.outputNanoUsd);
      if (target !== this.held && !this.#pending) this.#adjust(target - this.held);
    } else if (cost + granularity > this.held && !this.#pending) {
      if (this.exhausted === null) {
        // One step ahead, so the stream rarely waits for the counters.
        this.#adjust(Math.max(granularity, cost + granularity - this.held));
      } else if (!this.#lastChance) {
        // Refused before; money may have come back since (other requests settled under their holds): ask once more.
        this.#lastChance = true;
        this.#adjust(cost + granularity - this.held);
      }
    }
    if (cost <= this.held) return "ok";
    return this.#pending ? "wait" : "cut";
  }

  /** Resolves when no change to the hold is in flight. */
  settled(): Promise<void> {
    return this.#inFlight;
  }

  /**
   * Whether `bytes` more of the stream could take it past what it holds (every byte model text, at most one token
   * per three): if not, the relay meters the chunk whole; if so, event by event. Before the provider reported the
   * input (true-up), always.
   */
  mayOverrun(bytes: number): boolean {
    if (this.#done || this.#enforcement.strict) return false;
    if (!this.#observed) return true;
    return this.#lastCost + Math.ceil(bytes / 3) * this.estimate.outputNanoUsdPerToken > this.held;
  }

  #runningCost(usage: Usage, inputKnown: boolean, outputEstimated: boolean): number {
    const { pricingProvider, model } = this.pricing;
    const counted: Usage = outputEstimated
      ? {
          ...usage,
          output: Math.ceil(usage.output * STREAMED_OUTPUT_SAFETY),
          reasoning: Math.ceil(usage.reasoning * STREAMED_OUTPUT_SAFETY),
        }
      : usage;
    if (inputKnown) return this.#prices.cost(pricingProvider, model, counted).costNanoUsd ?? this.held;
    const outputOnly: Usage = { ...counted, input: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };
    const output = this.#prices.cost(pricingProvider, model, outputOnly).costNanoUsd ?? 0;
    return this.estimate.inputNanoUsd + output;
  }

  #realInput(usage: Usage): number {
    const input: Usage = { ...usage, output: 0, reasoning: 0 };
    return this.#prices.cost(this.pricing.pricingProvider, this.pricing.model, input).costNanoUsd ?? 0;
  }

  /** Grows (or shrinks) the hold on every item, atomically, in the background; one change in flight at a time. */
  #adjust(delta: number): void {
    this.#pending = true;
    this.#inFlight = this.#applyAdjust(Math.ceil(delta)).finally(() => {
      this.#pending = false;
    });
  }

  async #applyAdjust(delta: number): Promise<void> {
    let amount = delta;
    // A refused top-up is retried once with exactly what is left, so the last cents of a budget stay usable.
    for (let attempt = 0; attempt < 2 && amount !== 0 && !this.#done; attempt++) {
      const items: AdjustItem[] = this.items.map((i) => ({
        key: i.key,
        delta: amount,
        limit: i.budget.limitNanoUsd,
        expireAtMs: i.expireAtMs,
      }));
      let result: Awaited<ReturnType<CounterStore["adjust"]>>;
      try {
        result = await this.#counters.adjust(this.id, items, { ttlMs: this.#enforcement.holdTtlMs });
      } catch {
        return; // Counters unreachable mid-stream: go on with what is held; settlement books the real cost.
      }
      if (result.ok) {
        this.held = Math.max(0, this.held + amount);
        return;
      }
      if (result.reason !== "limit") return; // The hold expired or was settled: nothing to grow.
      const budget = this.items[result.index]?.budget;
      if (budget) this.exhausted = { budget, refusal: result };
      const room = result.limit - result.committed - result.reserved;
      if (room <= 0 || room >= amount) return;
      amount = room;
    }
  }
}
