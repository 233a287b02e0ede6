/**
 * Budget forecast: the spend rate of the current window and when, at that rate, the limit is reached.
 *
 * Rate = committed spend of the current window ÷ time elapsed in it (for `never` budgets: since the budget was
 * created). It is the window's average, not the last hour's: cheap (counters only, no log query) and stable; a burst
 * late in a window shows up as the window's average rises.
 */
export interface ForecastInput {
  committedNanoUsd: number;
  limitNanoUsd: number;
  /** Start of the current window (for `never`: the budget's creation or anchor). */
  windowStart: number;
  /** End of the current window; null for `never`. */
  windowEnd: number | null;
  now: number;
}

export interface BudgetForecast {
  basis: "window_average";
  /** Nano-dollars per hour (rounded). */
  spendRateNanoUsdPerHour: number;
  /** Projected committed spend at the window's end at this rate; null for `never` budgets. */
  projectedWindowSpendNanoUsd: number | null;
  /** When the limit is projected to be reached; `now` if it already is; null when not before the window ends. */
  projectedExhaustionAt: number | null;
  exhausted: boolean;
}

const HOUR_MS = 3_600_000;

export function forecastBudget(input: ForecastInput): BudgetForecast {
  const { committedNanoUsd: spent, limitNanoUsd: limit, windowStart, windowEnd, now } = input;
  const elapsed = Math.max(0, now - windowStart);
  const perMs = elapsed > 0 ? spent / elapsed : 0;
  const exhausted = spent >= limit;
  let exhaustionAt: number | null = null;
  if (exhausted) exhaustionAt = now;
  else if (perMs > 0) {
    const at = now + Math.ceil((limit - spent) / perMs);
    exhaustionAt = windowEnd !== null && at >= windowEnd ? null : at;
  }
  return {
    basis: "window_average",
    spendRateNanoUsdPerHour: Math.round(perMs * HOUR_MS),
    projectedWindowSpendNanoUsd: windowEnd === null ? null : Math.round(spent + perMs * Math.max(0, windowEnd - now)),
    projectedExhaustionAt: exhaustionAt,
    exhausted,
  };
}
