import type { IncomingHttpHeaders } from "node:http";
import type { BudgetFigures, BudgetUse } from "./budget-figures.ts";
import { NO_BUDGET_USE } from "./budget-figures.ts";
import { VARIABLES } from "./cel.ts";
import type { RoutingInput } from "./types.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const NO_ENTITY = Object.freeze({ id: "", name: "" });
const NO_KEY = Object.freeze({ id: "", name: "", labels: Object.freeze({}) });

/** A header map with lower-case names; repeated headers joined with ", " (as HTTP allows). */
function headerMap(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/**
 * The variables one request's rules see, each computed on first read and kept for the other rules: a request
 * whose rules only compare the model never builds the header map or reads a budget. CEL reads them as plain
 * properties (the getters are on the prototype).
 */
export class Activation {
  readonly #in: RoutingInput;
  readonly #figures: BudgetFigures | null;
  readonly #offsetAt: (now: number) => number;
  #headers: Record<string, string> | undefined;
  #use: BudgetUse | undefined;
  #local: number | undefined;
  #key: { id: string; name: string; labels: Readonly<Record<string, string>> } | undefined;
  #developer: { id: string; name: string } | undefined;

  constructor(input: RoutingInput, figures: BudgetFigures | null, offsetAt: (now: number) => number) {
    this.#in = input;
    this.#figures = figures;
    this.#offsetAt = offsetAt;
  }

  get model(): string {
    return this.#in.model;
  }
  get provider(): string {
    return this.#in.provider ?? "";
  }
  get headers(): Record<string, string> {
    this.#headers ??= headerMap(this.#in.headers);
    return this.#headers;
  }
  get key(): { id: string; name: string; labels: Readonly<Record<string, string>> } {
    if (this.#key === undefined) {
      const k = this.#in.key;
      this.#key = k ? { id: k.id, name: k.name, labels: k.labels } : NO_KEY;
    }
    return this.#key;
  }
  get developer(): { id: string; name: string } {
    if (this.#developer === undefined) {
      const d = this.#in.key?.developer;
      this.#developer = d ? { id: d.id, name: d.name } : NO_ENTITY;
    }
    return this.#developer;
  }
  get team(): { id: string; name: string } {
    return this.#in.key?.team ?? NO_ENTITY;
  }
  get customer(): { id: string; name: string } {
    return this.#in.key?.customer ?? NO_ENTITY;
  }
  get budget_used(): number {
    return this.#budget().used;
  }
  get budget(): Readonly<Record<string, number>> {
    return this.#budget().levels;
  }
  get tokens_used(): number {
    return this.#budget().tokensUsed;
  }
  get agent(): string {
    return this.#in.agent ?? "";
  }
  get session_id(): string {
    return this.#in.sessionId ?? "";
  }
  get input_tokens(): bigint {
    const n = this.#in.estimatedInputTokens;
    return Number.isFinite(n) ? BigInt(Math.max(0, Math.round(n))) : 0n;
  }
  get has_tools(): boolean {
    return this.#in.hasTools;
  }
  get hour(): bigint {
    return BigInt(Math.floor(this.#localMs() / HOUR_MS) % 24);
  }
  get weekday(): bigint {
    // 1970-01-01 was a Thursday (4).
    return BigInt((Math.floor(this.#localMs() / DAY_MS) + 4) % 7);
  }

  /** Every variable, for explain (BigInts as numbers, so it serialises). */
  materialize(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of VARIABLES) {
      const value: unknown = this[name];
      out[name] = typeof value === "bigint" ? Number(value) : value;
    }
    return out;
  }

  #budget(): BudgetUse {
    this.#use ??= this.#figures
      ? this.#figures.read(this.#in.key, this.#in.provider, this.#in.model, this.#in.now)
      : NO_BUDGET_USE;
    return this.#use;
  }

  #localMs(): number {
    if (this.#local === undefined) {
      const now = this.#in.now;
      this.#local = now + this.#offsetAt(now);
      // Before 1970 (never in practice) the modulo arithmetic above would go negative.
      if (this.#local < 0) this.#local = 0;
    }
    return this.#local;
  }
}
