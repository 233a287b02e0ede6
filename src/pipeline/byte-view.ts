/**
 * A request body's JSON read as Latin-1 instead of UTF-8: every byte becomes one character (U+0000–U+00FF), so
 * every string V8 makes from it is a one-byte string. Translation parses and re-serialises whole bodies of several
 * hundred KB; a Claude Code body always holds some non-ASCII text, and read as UTF-8 it turns into two-byte strings,
 * on which JSON.stringify and the UTF-8 encoding of the result cost three times as much. Read this way, non-ASCII
 * text travels through the translators as the Latin-1 characters of its UTF-8 bytes and is written back as exactly
 * those bytes.
 *
 * It is exact only when nothing in between turns a byte into a character above U+00FF or interprets a `\u0080`–
 * `\u00ff` escape as a character: bodies with such escapes (`hasByteEscape`) are not viewed, and `bytesOfView`
 * refuses output with characters above U+00FF (text a translator made up); the caller then falls back to UTF-8.
 */

/** Whether the body holds a `\u0080`–`\u00ff` escape: its byte view would not be exact. */
export function hasByteEscape(raw: Buffer): boolean {
  for (let i = raw.indexOf("\\u00"); i !== -1; i = raw.indexOf("\\u00", i + 4)) {
    // Preceded by an odd number of backslashes, "\u" is an escape (an even number: an escaped backslash + "u").
    let slashes = 0;
    while (i - 1 - slashes >= 0 && raw[i - 1 - slashes] === 0x5c) slashes++;
    if (slashes % 2 === 1) continue;
    const c = raw[i + 4];
    // 8, 9, a-f, A-F: U+0080–U+00FF.
    if (c !== undefined && ((c >= 0x38 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) {
      return true;
    }
  }
  return false;
}

/** The bytes of serialised byte-view JSON, or null when it holds a character above U+00FF. */
export function bytesOfView(text: string): Buffer | null {
  return isByteView(text) ? Buffer.from(text, "latin1") : null;
}

/** Whether the text holds only characters U+0000–U+00FF (each stands for one byte). */
export function isByteView(text: string): boolean {
  return !NOT_LATIN1.test(text);
}

/** A byte-view string as the text it stands for (for messages shown to people). */
export function textOfView(view: string): string {
  return Buffer.from(view, "latin1").toString("utf8");
}

const NOT_LATIN1 = /[\u0100-\uffff]/;
