/**
 * Token counts in disjoint billing buckets. Every dialect's usage converter maps its provider's numbers onto
 * these buckets, so pricing never needs to know whether `input_tokens` included cache reads (OpenAI, Gemini)
 * or excluded them (Anthropic).
 */
export interface Usage {
  /** Input tokens billed at the base input rate: neither read from nor written to a prompt cache. */
  input: number;
  /** Input tokens read from a prompt cache. */
  cacheRead: number;
  /** Input tokens written to a prompt cache with a 5-minute TTL (the default cache write). */
  cacheWrite5m: number;
  /** Input tokens written to a prompt cache with a 1-hour TTL. */
  cacheWrite1h: number;
  /** All output tokens, reasoning included. */
  output: number;
  /** The part of `output` spent on reasoning / thinking (billed as output; kept for reporting). */
  reasoning: number;
}

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({
  input: 0,
  cacheRead: 0,
  cacheWrite5m: 0,
  cacheWrite1h: 0,
  output: 0,
  reasoning: 0,
});

export function emptyUsage(): Usage {
  return { ...ZERO_USAGE };
}

/** Every input token, whichever bucket it was billed in (what long-context tiers are measured against). */
export function totalInputTokens(u: Usage): number {
  return u.input + u.cacheRead + u.cacheWrite5m + u.cacheWrite1h;
}
