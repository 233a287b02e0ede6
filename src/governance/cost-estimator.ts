import { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
import { emptyUsage, type Usage } from "../metering/usage.ts";
import type { Pricer } from "../pipeline/runtime.ts";
import type { SessionHintStore, SessionPrefix } from "./session-hints.ts";

/** What admission knows about a request before it is sent. */
export interface EstimateRequest {
  pricingProvider: string;
  model: string;
  requestBytes: number;
  /** The client's output cap, when it sent one. */
  maxOutputTokens: number | null;
  /** Whose habits to use: the virtual key's id, or null for anonymous traffic. */
  keyId: string | null;
  sessionId: string | null;
}

/** A request's expected cost, in nano-dollars, split where the stream will correct it. */
export interface CostEstimate {
  /** Input, cache-aware: what the session's previous request says is already in the prompt cache. */
  inputNanoUsd: number;
  /** Typical output for this key and model, capped by max_tokens. */
  outputNanoUsd: number;
  outputTokens: number;
  /** One output token (for sizing max_tokens to a budget's remainder). */
  outputNanoUsdPerToken: number;
  /** Input at worst: every byte a token at the dearest input rate (strict mode; else the input estimate). */
  worstInputNanoUsd: number;
}

/** Output tokens assumed for a key and model never seen before (capped by max_tokens). */
export const DEFAULT_TYPICAL_OUTPUT_TOKENS = 1024;
/** Weight of the newest request in the running average of a key's output. */
const OUTPUT_SMOOTHING = 0.3;
/** Bounded memory: least recently updated entries go first. */
const MAX_ENTRIES = 50_000;

/**
 * Estimates what a request will cost before it runs, from what recent requests actually cost: a coding agent's
 * 500 KB request is mostly a prompt-cache read, so pricing its bytes as fresh input would reserve ten times its
 * real cost and refuse requests while most of the budget is left. Estimates are corrected as soon as the
 * provider reports real numbers (BudgetGate true-up); they only decide how much is held meanwhile.
 * Kept in process memory; with `hints` (Redis), a session's prompt is also known to the other processes.
 */
export class CostEstimator {
  readonly #prices: Pricer;
  readonly #typicalOutput = new Map<string, number>();
  readonly #sessions = new Map<string, SessionPrefix>();
  readonly #hints: SessionHintStore | null;
  /** The last (key, model) pair's map key: an agent sends the same pair call after call, so it is built once. */
  #lastKeyId: string | null = null;
  #lastModel = "";
  #lastOutputKey = outputKey({ keyId: null, model: "" });
  /** The map key `learn` last set: it is already the newest entry, so it is updated in place. */
  #lastLearned: string | null = null;

  constructor(prices: Pricer, hints: SessionHintStore | null = null) {
    this.#prices = prices;
    this.#hints = hints;
  }

  /**
   * Fetches what another process learnt about this session when this one knows nothing (its turns moved here).
   * Null (nothing to wait for) without a shared store, a session id, or when the session is known here.
   */
  prefetch(request: Pick<EstimateRequest, "keyId" | "model" | "sessionId">): Promise<void> | null {
    if (this.#hints === null || request.sessionId === null) return null;
    const key = sessionKey(request);
    if (this.#sessions.has(key)) return null;
    return this.#fetchHint(this.#hints, key);
  }

  async #fetchHint(hints: SessionHintStore, key: string): Promise<void> {
    const hint = await hints.get(key);
    if (hint !== null && !this.#sessions.has(key)) remember(this.#sessions, key, hint);
  }

  /** The estimate, or null when the model has no known price. `worstCase`: also price the worst input (strict). */
  estimate(request: EstimateRequest, worstCase = false): CostEstimate | null {
    const provider = request.pricingProvider;
    const tokens = estimateInputTokensFromRequestBytes(request.requestBytes);
    const input = emptyUsage();
    const prefix = request.sessionId === null ? undefined : this.#sessions.get(sessionKey(request));
    if (prefix?.cached) {
      input.cacheRead = Math.min(prefix.inputTokens, tokens);
      const fresh = tokens - input.cacheRead;
      if (prefix.wrote) input.cacheWrite5m = fresh;
      else input.input = fresh;
    } else {
      input.input = tokens;
    }
    const inputCost = this.#prices.cost(provider, request.model, input).costNanoUsd;
    if (inputCost === null) return null;

    const typical = this.#typicalOutput.get(this.#outputKey(request)) ?? DEFAULT_TYPICAL_OUTPUT_TOKENS;
    const cap = request.maxOutputTokens ?? Number.POSITIVE_INFINITY;
    const outputTokens = Math.max(1, Math.min(Math.ceil(typical), cap));
    // Priced with the input so long-context tiers (rates above N input tokens) apply to the output too (the input's
    // own object, which is this call's).
    input.output = outputTokens;
    const total = this.#prices.cost(provider, request.model, input).costNanoUsd ?? inputCost;
    const outputCost = Math.max(0, total - inputCost);
    const perToken = Math.ceil(outputCost / outputTokens);

    let worstInput = inputCost;
    if (worstCase) {
      const worst = emptyUsage();
      // A token is at least one byte, and cache writes are the dearest input.
      worst.cacheWrite5m = request.requestBytes;
      worstInput = Math.max(inputCost, this.#prices.cost(provider, request.model, worst).costNanoUsd ?? inputCost);
    }
    return {
      inputNanoUsd: inputCost,
      outputNanoUsd: outputCost,
      outputTokens,
      outputNanoUsdPerToken: perToken,
      worstInputNanoUsd: worstInput,
    };
  }

  #outputKey(r: { keyId: string | null; model: string }): string {
    if (r.keyId === this.#lastKeyId && r.model === this.#lastModel) return this.#lastOutputKey;
    const key = outputKey(r);
    this.#lastKeyId = r.keyId;
    this.#lastModel = r.model;
    this.#lastOutputKey = key;
    return key;
  }

  /** Learns from a finished request's real usage (only provider-reported numbers should be passed). */
  learn(request: Pick<EstimateRequest, "keyId" | "model" | "sessionId">, usage: Usage): void {
    const key = this.#outputKey(request);
    const previous = this.#typicalOutput.get(key);
    const next = previous === undefined ? usage.output : previous + OUTPUT_SMOOTHING * (usage.output - previous);
    // Only the oldest entries are ever dropped, so the one set last is still there and still the newest.
    if (key === this.#lastLearned && previous !== undefined) this.#typicalOutput.set(key, next);
    else remember(this.#typicalOutput, key, next);
    this.#lastLearned = key;
    if (request.sessionId !== null) {
      const wrote = usage.cacheWrite5m + usage.cacheWrite1h > 0;
      const key = sessionKey(request);
      const hint: SessionPrefix = {
        inputTokens: usage.input + usage.cacheRead + usage.cacheWrite5m + usage.cacheWrite1h,
        cached: wrote || usage.cacheRead > 0,
        wrote,
      };
      remember(this.#sessions, key, hint);
      this.#hints?.put(key, hint);
    }
  }
}

function outputKey(r: { keyId: string | null; model: string }): string {
  return `${r.keyId ?? ""}\u0000${r.model}`;
}

function sessionKey(r: { keyId: string | null; model: string; sessionId: string | null }): string {
  return `${r.keyId ?? ""}\u0000${r.model}\u0000${r.sessionId ?? ""}`;
}

/** Sets `key` as the newest entry, dropping the oldest past the bound. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
