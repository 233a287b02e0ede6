import type { Usage } from "../usage.ts";
import { totalInputTokens } from "../usage.ts";
import { formatNanoUsd } from "./decimal.ts";
import type { RateCard, Rates } from "./rates.ts";
import { ratesForInputSize } from "./rates.ts";

export interface CostComputation {
  /** Integer nano-USD, or null when some tokens have no price at all. */
  costNanoUsd: number | null;
  warnings: string[];
}

export interface CostOptions {
  /**
   * The model is a Claude model: a 1-hour cache write without a catalog price costs 2× the base input rate, as
   * Anthropic documents (https://platform.claude.com/docs/en/build-with-claude/prompt-caching#pricing).
   */
  claude: boolean;
}

const USAGE_FIELDS = ["input", "cacheRead", "cacheWrite5m", "cacheWrite1h", "output", "reasoning"] as const;
const MILLION = 1_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Cost of one request from its usage buckets and the model's rate card, exactly.
 *
 * Each bucket is priced on its own: numerator = Σ tokens × (nano-USD per million tokens), in BigInt, then divided by
 * 1e6 once, rounding half-up. Fallbacks when a bucket has tokens but the card has no rate for it (each adds a warning):
 * - cache read → input rate (what genai-prices does too: the cache-read unit is a part of input);
 * - 5-minute cache write → input rate;
 * - 1-hour cache write → 2× input rate for Claude models (Anthropic's documented multiplier), otherwise the
 *   5-minute write rate, otherwise the input rate;
 * - reasoning is part of output and priced at the output rate unless the card has a separate reasoning rate;
 * - no input rate (for input or any fallback to it) or no output rate → cost unknown (null), never 0.
 */
export function computeCost(card: RateCard, usage: Usage, options: CostOptions): CostComputation {
  const warnings: string[] = [];
  for (const field of USAGE_FIELDS) {
    const tokens = usage[field];
    if (!Number.isSafeInteger(tokens) || tokens < 0) {
      return { costNanoUsd: null, warnings: [`invalid usage: ${field} is ${String(tokens)}, not a token count`] };
    }
  }
  const rates = ratesForInputSize(card, totalInputTokens(usage));
  const sum = new ExactSum();
  let unpriced = false;
  const add = (tokens: number, rate: number | undefined, bucket: string): void => {
    if (tokens === 0) return;
    if (rate === undefined) {
      unpriced = true;
      warnings.push(`price unknown: ${tokens} ${bucket} tokens and no price for them`);
      return;
    }
    sum.add(tokens, rate);
  };

  add(usage.input, rates.input, "input");
  add(usage.cacheRead, cacheReadRate(rates, usage.cacheRead, warnings), "cache-read");
  add(usage.cacheWrite5m, cacheWrite5mRate(rates, usage.cacheWrite5m, warnings), "5-minute cache-write");
  add(usage.cacheWrite1h, cacheWrite1hRate(rates, usage.cacheWrite1h, options, warnings), "1-hour cache-write");
  addOutput(usage, rates, add, warnings);
  // Per request: requestPerK / 1000 nano-USD = requestPerK × 1000 / 1e6, on the same denominator as tokens.
  if (rates.requestPerK !== undefined) sum.add(rates.requestPerK, 1000);

  if (unpriced) return { costNanoUsd: null, warnings };
  const nano = sum.nanoUsd();
  if (nano === null) {
    const cost = formatNanoUsd(sum.bigNanoUsd());
    warnings.push(`cost ${cost} USD exceeds what one request can plausibly cost; recorded as unknown`);
    return { costNanoUsd: null, warnings };
  }
  // A safe integer: Number.MAX_SAFE_INTEGER nano-USD is about 9 million USD, far above any single request.
  return { costNanoUsd: nano, warnings };
}

/**
 * Σ tokens × rate (rates in nano-USD per million tokens), exactly: in plain numbers while every product and the
 * running sum stay safe integers (below 2⁵³ ≈ 9·10¹⁵; 200,000 tokens at $15/M are 3·10¹⁵), in BigInt from the first
 * term that does not. Numbers allocate nothing: a BigInt per term made pricing cost about a microsecond a call, and
 * budgets price every keyed request three times (two estimates, the settlement).
 */
class ExactSum {
  #small = 0;
  #big: bigint | null = null;

  add(tokens: number, rate: number): void {
    if (this.#big === null) {
      const product = tokens * rate;
      // Both factors are safe integers; a product at most MAX_SAFE_INTEGER is computed exactly.
      if (Number.isSafeInteger(product) && Number.isSafeInteger(this.#small + product)) {
        this.#small += product;
        return;
      }
      this.#big = BigInt(this.#small);
    }
    this.#big += BigInt(tokens) * BigInt(rate);
  }

  /** The sum ÷ 10⁶ rounded half-up, as nano-USD; null when it is not a safe integer. */
  nanoUsd(): number | null {
    if (this.#big === null && Number.isSafeInteger(this.#small + HALF_MILLION)) {
      const n = this.#small + HALF_MILLION;
      // Floor division in doubles, corrected to the exact integer quotient.
      let q = Math.floor(n / 1_000_000);
      if (q * 1_000_000 > n) q--;
      else if ((q + 1) * 1_000_000 <= n) q++;
      return q;
    }
    const nano = this.bigNanoUsd();
    return nano > MAX_SAFE ? null : Number(nano);
  }

  bigNanoUsd(): bigint {
    const total = this.#big ?? BigInt(this.#small);
    return (total + MILLION / 2n) / MILLION;
  }
}

const HALF_MILLION = 500_000;

function cacheReadRate(rates: Rates, tokens: number, warnings: string[]): number | undefined {
  if (rates.cacheRead !== undefined || tokens === 0) return rates.cacheRead;
  if (rates.input !== undefined)
    warnings.push("no cache-read price for this model; cache reads priced at the input rate");
  return rates.input;
}

function cacheWrite5mRate(rates: Rates, tokens: number, warnings: string[]): number | undefined {
  if (rates.cacheWrite5m !== undefined || tokens === 0) return rates.cacheWrite5m;
  if (rates.input !== undefined) {
    warnings.push("no cache-write price for this model; 5-minute cache writes priced at the input rate");
  }
  return rates.input;
}

function cacheWrite1hRate(rates: Rates, tokens: number, options: CostOptions, warnings: string[]): number | undefined {
  if (rates.cacheWrite1h !== undefined || tokens === 0) return rates.cacheWrite1h;
  if (options.claude && rates.input !== undefined) {
    warnings.push("no 1-hour cache-write price for this model; priced at 2× the input rate as Anthropic documents");
    return rates.input * 2;
  }
  if (rates.cacheWrite5m !== undefined) {
    warnings.push("no 1-hour cache-write price for this model; priced at the 5-minute cache-write rate");
    return rates.cacheWrite5m;
  }
  if (rates.input !== undefined) {
    warnings.push("no cache-write price for this model; 1-hour cache writes priced at the input rate");
  }
  return rates.input;
}

/** Output includes reasoning: price it once, splitting off reasoning only when the model has its own rate for it. */
function addOutput(
  usage: Usage,
  rates: Rates,
  add: (tokens: number, rate: number | undefined, bucket: string) => void,
  warnings: string[],
): void {
  if (rates.reasoning === undefined || usage.reasoning === 0) {
    add(usage.output, rates.output, "output");
    return;
  }
  let reasoning = usage.reasoning;
  if (reasoning > usage.output) {
    warnings.push(`usage reports ${reasoning} reasoning tokens but only ${usage.output} output tokens; capped`);
    reasoning = usage.output;
  }
  add(usage.output - reasoning, rates.output, "output");
  add(reasoning, rates.reasoning, "reasoning");
}
