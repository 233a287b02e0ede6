import { createHash } from "node:crypto";
import { peekTopLevel } from "../json/peek.ts";
import type { ChatDialect } from "../translate/index.ts";

/** Top-level fields that never change the answer (the model is keyed as resolved). */
const VOLATILE: ReadonlySet<string> = new Set(["model", "stream", "stream_options", "metadata", "user"]);
/** Claude Code's per-request attribution nonce, in the billing-header block of `system`: `cch=<hex>;`. */
const BILLING = Buffer.from("x-anthropic-billing-header:");
const NONCE = Buffer.from("cch=");
const SEMICOLON = 0x3b;
const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;

/**
 * A key over the request's raw bytes, with the volatile top-level fields and Claude Code's attribution nonce cut
 * out: byte-identical requests (an agent's retried or repeated turn) get the same key without the body being
 * decoded — the canonical exact key (exact-key.ts) costs a full parse, a canonical conversion and a re-serialisation,
 * ~2 ms for a 500 kB Claude Code turn, more than passing the request through. The response cache maps a fast key to
 * the canonical key it computed once (`FastKeys`), so only the first sight of a body pays for the canonical one.
 * Null when the body is not a readable JSON object.
 */
export function fastKeyOf(dialect: ChatDialect, raw: Buffer, upstreamModel: string): string | null {
  const ranges = peekTopLevel(raw, VOLATILE_AND_SYSTEM);
  if (ranges === null) return null;
  const cuts: Array<readonly [number, number]> = [];
  for (const [name, range] of ranges) if (VOLATILE.has(name)) cuts.push(memberRange(raw, range));
  const system = ranges.get("system");
  if (system !== undefined) cuts.push(...nonceRanges(raw, system[0], system[1]));
  cuts.sort((a, b) => a[0] - b[0]);
  const hash = createHash("sha256").update(`fast\u0000${dialect}\u0000${upstreamModel}\u0000`);
  let at = 0;
  for (const [start, end] of cuts) {
    if (start > at) hash.update(raw.subarray(at, start));
    at = Math.max(at, end);
  }
  if (at < raw.length) hash.update(raw.subarray(at));
  return hash.digest("hex");
}

const VOLATILE_AND_SYSTEM: ReadonlySet<string> = new Set([...VOLATILE, "system"]);

/**
 * The whole member around a value range — `"key": value` plus one adjoining comma — so a body with the field and one
 * without it hash the same (`stream: true` on one request, absent on its repeat).
 */
function memberRange(raw: Buffer, [valueStart, valueEnd]: readonly [number, number]): readonly [number, number] {
  let i = skipSpaceBack(raw, valueStart - 1);
  if (raw[i] !== COLON) return [valueStart, valueEnd];
  i = skipSpaceBack(raw, i - 1);
  if (raw[i] !== QUOTE) return [valueStart, valueEnd];
  i -= 1;
  while (i >= 0 && raw[i] !== QUOTE) i -= 1;
  const keyStart = i;
  let j = valueEnd;
  while (j < raw.length && isSpace(raw[j])) j += 1;
  if (raw[j] === COMMA) return [keyStart, j + 1];
  const before = skipSpaceBack(raw, keyStart - 1);
  return raw[before] === COMMA ? [before, valueEnd] : [keyStart, valueEnd];
}

function skipSpaceBack(raw: Buffer, from: number): number {
  let i = from;
  while (i >= 0 && isSpace(raw[i])) i -= 1;
  return i;
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** The `cch=…` of each billing-header text inside [start, end), up to its `;` (or the end of that JSON string). */
function nonceRanges(raw: Buffer, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let header = raw.indexOf(BILLING, start);
  while (header !== -1 && header < end) {
    const textEnd = raw.indexOf(QUOTE, header);
    const stop = textEnd === -1 || textEnd > end ? end : textEnd;
    const i = raw.indexOf(NONCE, header);
    if (i !== -1 && i < stop) {
      let j = i + NONCE.length;
      while (j < stop && raw[j] !== SEMICOLON) j += 1;
      out.push([i, j]);
    }
    header = raw.indexOf(BILLING, stop);
  }
  return out;
}

/** Fast key → canonical exact key, most recently used last; bounded. A pure mapping, so shared by all scopes. */
export class FastKeys {
  readonly #max: number;
  readonly #map = new Map<string, string>();

  constructor(max = 10_000) {
    this.#max = max;
  }

  get(fast: string): string | undefined {
    const exact = this.#map.get(fast);
    if (exact !== undefined) {
      this.#map.delete(fast);
      this.#map.set(fast, exact);
    }
    return exact;
  }

  set(fast: string, exact: string): void {
    this.#map.delete(fast);
    this.#map.set(fast, exact);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }
}
