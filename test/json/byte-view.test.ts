import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bytesOfView, hasByteEscape, textOfView } from "../../src/pipeline/byte-view.ts";

/** The body as translation reads it: Latin-1 text, or null when a \u0080–\u00ff escape makes that inexact. */
const byteView = (raw: Buffer): string | null => (hasByteEscape(raw) ? null : raw.toString("latin1"));

describe("byte view (translation reads bodies as one-byte text)", () => {
  test("non-ASCII text survives parse → stringify byte for byte", () => {
    const body = Buffer.from(JSON.stringify({ text: "héllo — ✓ 日本語 🙂", n: 1 }));
    const view = byteView(body);
    assert.ok(view !== null);
    const parsed = JSON.parse(view) as { text: string };
    assert.equal(textOfView(parsed.text), "héllo — ✓ 日本語 🙂");
    assert.deepEqual(bytesOfView(JSON.stringify(parsed)), body);
  });

  test("refuses bodies with \\u0080–\\u00ff escapes (parsed, they would not be bytes), not other escapes", () => {
    assert.equal(byteView(Buffer.from('{"a":"caf\\u00e9"}')), null);
    assert.equal(byteView(Buffer.from('{"a":"caf\\u00E9"}')), null);
    assert.notEqual(byteView(Buffer.from('{"a":"\\u001b[0m \\u2026"}')), null);
    // An escaped backslash followed by "u00e9" is text, not an escape.
    assert.notEqual(byteView(Buffer.from('{"a":"C:\\\\u00e9"}')), null);
  });

  test("refuses output holding characters above U+00FF (text a translator made up)", () => {
    assert.equal(bytesOfView('{"a":"…"}'), null);
    assert.deepEqual(
      bytesOfView('{"a":"\u00e9"}'),
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]),
    );
  });
});
