import { randomBytes } from "node:crypto";
import { BACKSLASH, COLON, isJsonWhitespace, QUOTE } from "./char-codes.ts";

/**
 * Long JSON strings set aside while a body is translated, and put back as their original bytes.
 *
 * Why: a Claude Code turn of 500 KB is ~90 % long text (file contents, tool results, thinking, tool descriptions)
 * that translation only moves from one place to another. Parsing it into strings and serialising it back is most of
 * a translation's CPU. Here each long string *value* of a known text member (`text`, `content`, `thinking`, …) is
 * replaced by a short stand-in — its first bytes and a marker — before `JSON.parse`; the translators move the
 * stand-in as they would move the text, and `restoreLongStrings` splices the original bytes back in place of each
 * marker. A JSON string's escaped content is valid inside any other JSON string, so the bytes go back unchanged;
 * inside a string that was itself serialised into a string (a tool call's `input` becoming `arguments`), they are
 * escaped once more.
 *
 * Safe by construction, and checked: only values of members that the converters treat as opaque text are set aside,
 * and not those whose content a converter reads (JSON-looking text, data URLs, Claude Code's billing header,
 * Tollgate's reasoning envelopes, text that may be blank). Every marker found in the output must sit right
 * after its string's first bytes (so a converter that cut or rewrote the text is caught), at a known nesting depth;
 * otherwise `restoreLongStrings` answers null and the caller translates the fully parsed body instead.
 *
 * The set-aside content is not validated (a raw control character or a bad escape inside it reaches the provider,
 * which refuses the body) — as in passthrough, where the gateway never decodes a body at all.
 */

/** Values at least this long (in bytes, escapes included) are set aside. */
export const LONG_STRING_BYTES = 256;

/** Bytes of each set-aside string kept in front of its marker: what converters may look at. */
const KEPT_PREFIX_BYTES = 32;

/** Members whose string values the converters move without reading (beyond the kept prefix). */
const OPAQUE_MEMBERS: readonly Buffer[] = [
  "text",
  "content",
  "system",
  "thinking",
  "signature",
  "thoughtSignature",
  "thought_signature",
  "description",
  "instructions",
  "output",
  "old_string",
  "new_string",
].map((name) => Buffer.from(name, "latin1"));

/** Text the converters interpret (checked at the start and after leading blanks): never set aside. */
const READ_PREFIXES: readonly Buffer[] = ["data:", "x-anthropic-billing-header", "tollgate.v1:", "{", "["].map((p) =>
  Buffer.from(p, "latin1"),
);

/** Per process: a body cannot forge a marker it does not know. */
const NONCE = randomBytes(6).toString("hex");
/** The marker as serialised JSON shows it: U+0000, the nonce, the string's index, U+0000. */
const MARK_OPEN = `\\u0000tg${NONCE}:`;
const MARK_CLOSE = "\\u0000";
/** Any marker in plain (parsed) text, e.g. in a warning. */
const MARK_TEXT = `\u0000tg${NONCE}:`;

export interface SetAside {
  /** The body with each long string replaced by its stand-in: what is parsed and translated. */
  text: string;
  /**
   * For each set-aside string, three offsets in the original bytes: its content's start, the end of the kept prefix
   * (escapes that serialise to themselves only) and the content's end (the closing quote).
   */
  spans: number[];
}

/**
 * The body's byte view (one character per byte, see pipeline/byte-view.ts) with its long opaque string values set
 * aside, or null when it has none. Only the rest of the body is decoded to text.
 */
export function setAsideLongStrings(raw: Buffer, minBytes: number = LONG_STRING_BYTES): SetAside | null {
  const spans: number[] = [];
  let keyStart = -1;
  let keyEnd = -1;
  for (let open = nextQuote(raw, 0); open !== -1; ) {
    const close = closingQuote(raw, open);
    if (close === -1) return null; // unterminated: JSON.parse of the whole body reports it
    const start = open + 1;
    if (close - start >= minBytes && isOpaqueMember(raw, keyStart, keyEnd, open) && isOpaqueText(raw, start, close)) {
      spans.push(start, keptPrefixEnd(raw, start, close), close);
    }
    keyStart = open;
    keyEnd = close;
    open = nextQuote(raw, close + 1);
  }
  return spans.length === 0 ? null : { text: reducedText(raw, spans), spans };
}

/** The body with each set-aside string's content after its kept prefix replaced by its marker. */
function reducedText(raw: Buffer, spans: readonly number[]): string {
  const markers = [];
  let length = raw.length;
  for (let i = 0; i < spans.length; i += 3) {
    const marker = `${MARK_OPEN}${i / 3}${MARK_CLOSE}`;
    markers.push(marker);
    length += marker.length - ((spans[i + 2] as number) - (spans[i + 1] as number));
  }
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  let copiedUpTo = 0;
  for (let i = 0; i < spans.length; i += 3) {
    offset += raw.copy(out, offset, copiedUpTo, spans[i + 1]);
    offset += out.write(markers[i / 3] as string, offset, "latin1");
    copiedUpTo = spans[i + 2] as number;
  }
  raw.copy(out, offset, copiedUpTo);
  return out.toString("latin1");
}

/**
 * The translated body's bytes with each marker replaced by its string's original content, or null when a marker is
 * not where it can be put back exactly (the caller then translates the parsed body). `serialised` is byte-view JSON
 * (characters U+0000–U+00FF only).
 */
export function restoreLongStrings(serialised: string, raw: Buffer, aside: SetAside): Buffer | null {
  const { spans } = aside;
  const pieces: Array<string | Buffer> = [];
  let length = 0;
  let copiedUpTo = 0;
  let markers = 0;
  for (let at = serialised.indexOf(MARK_OPEN); at !== -1; at = serialised.indexOf(MARK_OPEN, copiedUpTo)) {
    // Depth 1: the marker as JSON.stringify writes it. Depth 2: inside a string serialised into a string (one
    // more backslash before it). Anything deeper or different is not put back.
    const escapes = backslashesBeforeChar(serialised, at);
    if (escapes > 1) return null;
    const idStart = at + MARK_OPEN.length;
    const close = escapes === 0 ? MARK_CLOSE : `\\${MARK_CLOSE}`;
    const idEnd = serialised.indexOf(close, idStart);
    if (idEnd === -1 || idEnd - idStart > 9) return null;
    const index = Number(serialised.slice(idStart, idEnd));
    if (!Number.isInteger(index) || index < 0 || 3 * index >= spans.length) return null;
    const start = spans[3 * index] as number;
    const prefixStart = keptPrefixBefore(serialised, at - escapes, raw, start, spans[3 * index + 1] as number, escapes);
    if (prefixStart < copiedUpTo) return null;
    const content = raw.subarray(spans[3 * index + 1], spans[3 * index + 2]);
    const restored = escapes === 0 ? content : Buffer.from(escapedOnceMore(content.toString("latin1")), "latin1");
    pieces.push(serialised.slice(copiedUpTo, at - escapes), restored);
    length += at - escapes - copiedUpTo + restored.length;
    copiedUpTo = idEnd + close.length;
    markers++;
  }
  // A marker cut short (the text truncated inside it) leaves a stray U+0000 behind; so might a genuine one, rarely.
  if (occurrences(serialised, MARK_CLOSE) !== 2 * markers) return null;
  pieces.push(serialised.slice(copiedUpTo));
  length += serialised.length - copiedUpTo;
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const piece of pieces) {
    offset += typeof piece === "string" ? out.write(piece, offset, "latin1") : piece.copy(out, offset);
  }
  return out;
}

function occurrences(text: string, part: string): number {
  let n = 0;
  for (let at = text.indexOf(part); at !== -1; at = text.indexOf(part, at + part.length)) n++;
  return n;
}

/** Whether parsed text (a warning, an error message) still holds a marker: it would show the stand-in. */
export function holdsMarker(text: string): boolean {
  return text.includes(MARK_TEXT);
}

/**
 * Where the kept prefix raw[start, prefixEnd) starts in `serialised`, ending at `end` (escaped once more at depth
 * 2), or -1 when it is not there: a converter cut or rewrote the text's start.
 */
function keptPrefixBefore(
  serialised: string,
  end: number,
  raw: Buffer,
  start: number,
  prefixEnd: number,
  escapes: number,
): number {
  let at = end;
  for (let i = prefixEnd - 1; i >= start; i--) {
    const byte = raw[i] as number;
    if (serialised.charCodeAt(--at) !== byte) return -1;
    // At depth 2 each backslash and quote of the prefix carries one more backslash.
    if (escapes === 1 && (byte === BACKSLASH || byte === QUOTE) && serialised.charCodeAt(--at) !== BACKSLASH) return -1;
  }
  return at;
}

/** Bytes looked at one by one before a native search: most strings and gaps between them are short. */
const NEAR = 48;

function nextQuote(raw: Buffer, from: number): number {
  const near = Math.min(from + NEAR, raw.length);
  for (let i = from; i < near; i++) if (raw[i] === QUOTE) return i;
  return near < raw.length ? raw.indexOf(QUOTE, near) : -1;
}

function closingQuote(raw: Buffer, open: number): number {
  const near = Math.min(open + 1 + NEAR, raw.length);
  let i = open + 1;
  for (; i < near; i++) {
    const c = raw[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  let close = raw.indexOf(QUOTE, i);
  // A quote preceded by an odd number of backslashes is escaped.
  while (close !== -1 && backslashesBeforeByte(raw, close) % 2 === 1) close = raw.indexOf(QUOTE, close + 1);
  return close;
}

function backslashesBeforeByte(raw: Buffer, at: number): number {
  let n = 0;
  while (at - 1 - n >= 0 && raw[at - 1 - n] === BACKSLASH) n++;
  return n;
}

function backslashesBeforeChar(text: string, at: number): number {
  let n = 0;
  while (at - 1 - n >= 0 && text.charCodeAt(at - 1 - n) === BACKSLASH) n++;
  return n;
}

/** A member's value (`"key": "…"`) of an opaque member. */
function isOpaqueMember(raw: Buffer, keyStart: number, keyEnd: number, open: number): boolean {
  if (keyStart === -1) return false;
  let i = keyEnd + 1;
  while (i < open && isJsonWhitespace(raw[i] as number)) i++;
  if (raw[i] !== COLON) return false; // the previous string is not this value's key
  for (i++; i < open; i++) if (!isJsonWhitespace(raw[i] as number)) return false;
  for (const name of OPAQUE_MEMBERS) if (bytesAt(raw, keyStart + 1, keyEnd, name)) return true;
  return false;
}

/** Whether a string's content, raw[start, close), is text no converter reads: not blank-looking, not interpreted. */
function isOpaqueText(raw: Buffer, start: number, close: number): boolean {
  const visible = firstVisible(raw, start, Math.min(start + KEPT_PREFIX_BYTES, close));
  // No visible character early on: the text may be blank, which converters test for.
  if (visible === -1) return false;
  for (const read of READ_PREFIXES) {
    if (bytesAt(raw, start, start + read.length, read) || bytesAt(raw, visible, visible + read.length, read)) {
      return false;
    }
  }
  return true;
}

/** The first byte in [from, to) that is not blank (space, NBSP, or a \n \r \t \f escape), or -1. */
function firstVisible(raw: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = raw[i];
    if (c === 0x20 || c === 0xa0) i++;
    else if (c === BACKSLASH && BLANK_ESCAPES.has(raw[i + 1] as number)) i += 2;
    else return i;
  }
  return -1;
}

/** Escapes of blank characters: \n \r \t \f. */
const BLANK_ESCAPES: ReadonlySet<number> = new Set([0x6e, 0x72, 0x74, 0x66]);

/** Whether raw[start, end) holds exactly `bytes`. */
function bytesAt(raw: Buffer, start: number, end: number, bytes: Buffer): boolean {
  if (end - start !== bytes.length || end > raw.length) return false;
  for (let i = 0; i < bytes.length; i++) if (raw[start + i] !== bytes[i]) return false;
  return true;
}

/**
 * The end of the kept prefix: up to KEPT_PREFIX_BYTES of the content, stopping before an escape that does not
 * serialise back to itself (`\/`, `\uXXXX`): what is kept must be found again, as it is, in front of the marker.
 */
function keptPrefixEnd(raw: Buffer, start: number, close: number): number {
  const limit = Math.min(start + KEPT_PREFIX_BYTES, close);
  let i = start;
  while (i < limit) {
    if (raw[i] !== BACKSLASH) {
      i++;
      continue;
    }
    if (i + 2 > limit || !SELF_SERIALISING_ESCAPES.has(raw[i + 1] as number)) break;
    i += 2;
  }
  return i;
}

/** Escapes that JSON.stringify writes back the same way: \" \\ \n \r \t \b \f. */
const SELF_SERIALISING_ESCAPES: ReadonlySet<number> = new Set([0x22, 0x5c, 0x6e, 0x72, 0x74, 0x62, 0x66]);

/** Escaped JSON string content, escaped again to sit inside a string that is itself inside a JSON string. */
function escapedOnceMore(content: string): string {
  return JSON.stringify(content).slice(1, -1);
}
