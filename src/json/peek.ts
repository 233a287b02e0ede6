import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  isJsonWhitespace,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from "./char-codes.ts";
/**
 * Reads chosen top-level fields of a JSON object straight from its bytes, without decoding or parsing the rest.
 *
 * Why: a late Claude Code request is several hundred KB to several MB, and the gateway needs three small fields of
 * it (model, stream, metadata). Decoding it to a string and `JSON.parse` cost ~1.6 ms per 500 KB; this scan skips
 * string contents with a native `indexOf` and costs a fraction of that. The bytes are forwarded as they are.
 *
 * The scan checks structure (a top-level object, terminated strings, balanced brackets), not the full grammar; a
 * body it accepts but the provider rejects gets the provider's own 400 in the same dialect (passthrough).
 */

/** Byte range [start, end) of a field's value. */
export type ValueRange = readonly [start: number, end: number];

function skipWhitespace(buf: Buffer, i: number): number {
  while (i < buf.length && isJsonWhitespace(buf[i] as number)) i++;
  return i;
}

/** `i` is at an opening quote; returns the index just past the closing one, or -1. */
function skipString(buf: Buffer, i: number): number {
  let q = buf.indexOf(QUOTE, i + 1);
  while (q !== -1) {
    let backslashes = 0;
    while (buf[q - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    q = buf.indexOf(QUOTE, q + 1);
  }
  return -1;
}

/** Skips one value starting at `i`; returns the index just past it, or -1 when the structure is broken. */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    while (i < buf.length) {
      const b = buf[i] as number;
      if (b === QUOTE) {
        i = skipString(buf, i);
        if (i === -1) return -1;
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number or a literal: runs to the next delimiter.
  const start = i;
  while (i < buf.length) {
    const b = buf[i] as number;
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isJsonWhitespace(b)) break;
    i++;
  }
  return i > start ? i : -1;
}

/**
 * Each body's top-level members, scanned once: ingress, the cache key, routing and the body rewrites all ask for
 * fields of the same buffer, and a scan of a 500 kB agent turn is the costly part. Bodies are never written in place
 * (rewrites make new buffers), so a buffer's scan stays true while it lives.
 */
const scans = new WeakMap<Buffer, ReadonlyMap<string, ValueRange> | null>();

/**
 * The value ranges of the `wanted` top-level keys of a JSON object (the first occurrence of each), or null when
 * the bytes are not a structurally sound JSON object.
 */
export function peekTopLevel(buf: Buffer, wanted: ReadonlySet<string>): Map<string, ValueRange> | null {
  let members = scans.get(buf);
  if (members === undefined) {
    members = scanTopLevel(buf);
    scans.set(buf, members);
  }
  if (members === null) return null;
  const found = new Map<string, ValueRange>();
  for (const [key, range] of members) if (wanted.has(key)) found.set(key, range);
  return found;
}

/** Every top-level member's value range (keys of up to 32 bytes; the first occurrence of each), or null. */
function scanTopLevel(buf: Buffer): Map<string, ValueRange> | null {
  const found = new Map<string, ValueRange>();
  let i = skipWhitespace(buf, 0);
  if (buf[i] !== OPEN_BRACE) return null;
  i = skipWhitespace(buf, i + 1);
  if (buf[i] === CLOSE_BRACE) return skipWhitespace(buf, i + 1) === buf.length ? found : null;
  for (;;) {
    if (buf[i] !== QUOTE) return null;
    const keyEnd = skipString(buf, i);
    if (keyEnd === -1) return null;
    // Keys we look for are short and plain; longer or escaped keys cannot match and are not decoded.
    const key = keyEnd - i <= 34 ? buf.toString("latin1", i + 1, keyEnd - 1) : null;
    i = skipWhitespace(buf, keyEnd);
    if (buf[i] !== COLON) return null;
    i = skipWhitespace(buf, i + 1);
    const valueStart = i;
    i = skipValue(buf, i);
    if (i === -1) return null;
    if (key !== null && !found.has(key)) found.set(key, [valueStart, i]);
    i = skipWhitespace(buf, i);
    if (buf[i] === COMMA) {
      i = skipWhitespace(buf, i + 1);
      continue;
    }
    if (buf[i] === CLOSE_BRACE) return skipWhitespace(buf, i + 1) === buf.length ? found : null;
    return null;
  }
}
