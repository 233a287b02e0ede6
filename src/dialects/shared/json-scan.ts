import { BACKSLASH, COLON, isJsonWhitespace, LETTER_U, QUOTE } from "../../json/char-codes.ts";

/**
 * Parse-free reads of JSON text, for the metering hot path: a stream meter sees every event, and most events are
 * small text deltas whose only interest to metering is how many characters of model text they carry.
 *
 * Why a plain substring search is exact here: inside a JSON string every `"` is escaped as `\"`, so the pattern
 * `"key"` followed by `:` (whitespace allowed) can only occur where the document really has an object key `key`.
 * A string *value* equal to the key is never followed by a colon, and a match cannot start on a closing quote
 * because a closing quote is followed by `,` `}` `]` `:` or whitespace, never by a letter. So for any valid JSON
 * text these functions agree with `JSON.parse`, whatever the key order or nesting; tests compare them.
 */

/** Index of the first character of the value of the next `"key":` at or after `from`, or -1. */
function findValueStart(json: string, quotedKey: string, from: number): number {
  let at = json.indexOf(quotedKey, from);
  while (at !== -1) {
    let i = at + quotedKey.length;
    while (i < json.length && isJsonWhitespace(json.charCodeAt(i))) i++;
    if (json.charCodeAt(i) === COLON) {
      i++;
      while (i < json.length && isJsonWhitespace(json.charCodeAt(i))) i++;
      return i;
    }
    at = json.indexOf(quotedKey, at + 1);
  }
  return -1;
}

interface ScannedString {
  /** Index just past the closing quote. */
  end: number;
  /** Length of the decoded string in UTF-16 code units (what `JSON.parse(...).length` gives). */
  length: number;
  escaped: boolean;
}

/** Reads the JSON string whose opening quote is at `open`; null when it is not closed in `json`. */
function scanString(json: string, open: number): ScannedString | null {
  let length = 0;
  let escaped = false;
  let i = open + 1;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) return { end: i + 1, length, escaped };
    if (c === BACKSLASH) {
      escaped = true;
      // `\uXXXX` is one code unit; every other escape is two characters for one.
      i += json.charCodeAt(i + 1) === LETTER_U ? 6 : 2;
    } else {
      i++;
    }
    length++;
  }
  return null;
}

/** Sum of the decoded lengths of every string value of `key`, anywhere in the document. */
export function sumStringValueLengths(json: string, key: string): number {
  const quotedKey = `"${key}"`;
  let total = 0;
  let from = 0;
  for (;;) {
    const start = findValueStart(json, quotedKey, from);
    if (start === -1) return total;
    if (json.charCodeAt(start) !== QUOTE) {
      from = start;
      continue;
    }
    const s = scanString(json, start);
    if (s === null) return total;
    total += s.length;
    from = s.end;
  }
}

/** The first string value of `key` in the document, decoded; null when there is none. */
export function firstStringValue(json: string, key: string): string | null {
  const quotedKey = `"${key}"`;
  let from = 0;
  for (;;) {
    const start = findValueStart(json, quotedKey, from);
    if (start === -1) return null;
    if (json.charCodeAt(start) !== QUOTE) {
      from = start;
      continue;
    }
    const s = scanString(json, start);
    if (s === null) return null;
    if (!s.escaped) return json.slice(start + 1, s.end - 1);
    const decoded: unknown = JSON.parse(json.slice(start, s.end));
    return typeof decoded === "string" ? decoded : null;
  }
}

/** The first number value of `key` in the document; null when there is none. */
export function firstNumberValue(json: string, key: string): number | null {
  const quotedKey = `"${key}"`;
  let from = 0;
  for (;;) {
    const start = findValueStart(json, quotedKey, from);
    if (start === -1) return null;
    const match = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(json.slice(start, start + 32));
    if (match !== null) return Number(match[0]);
    from = start;
  }
}
