import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { holdsMarker, restoreLongStrings, type SetAside, setAsideLongStrings } from "../../src/json/long-strings.ts";

const long = (seed: string, bytes = 400): string => seed.repeat(Math.ceil(bytes / seed.length)).slice(0, bytes);

/** Sets aside, parses, applies `change` to the parsed value, serialises and restores: what translation does. */
function roundTrip(body: unknown, change: (json: unknown) => unknown = (json) => json, min?: number) {
  const raw = Buffer.from(JSON.stringify(body));
  const aside = setAsideLongStrings(raw, min);
  assert.ok(aside !== null, "something was set aside");
  const parsed = JSON.parse(aside.text) as unknown;
  const out = restoreLongStrings(JSON.stringify(change(parsed)), raw, aside);
  return { raw, aside, parsed, out, restored: out === null ? null : (JSON.parse(out.toString("utf8")) as unknown) };
}

function stringsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(stringsOf);
  return [];
}

describe("long strings set aside while translating (json/long-strings.ts)", () => {
  test("long text values are replaced by short stand-ins and put back byte for byte", () => {
    const text = long('héllo "world" \\ back\tslash ✓ ');
    const body = {
      model: "m",
      messages: [{ role: "user", content: [{ type: "text", text }] }],
      system: long("sys "),
      metadata: { user_id: long("user ") },
    };
    const { raw, aside, out, parsed } = roundTrip(body);
    assert.ok(aside.text.length < raw.length / 2, "the parsed text is much smaller than the body");
    assert.equal(aside.spans.length, 6, "two strings set aside (text, system; user_id is not an opaque member)");
    const shortened = stringsOf(parsed).find((s) => s.startsWith("héllo".slice(0, 1)));
    assert.ok(shortened !== undefined && shortened.length < 80 && holdsMarker(shortened));
    assert.deepEqual(out, raw);
  });

  test("moved, copied and concatenated stand-ins are all put back (a translator rearranging the text)", () => {
    const a = long("alpha ");
    const b = long("beta ");
    const { restored } = roundTrip({ content: a, text: b }, (json) => {
      const { content, text } = json as { content: string; text: string };
      return { messages: [{ content: `${content}\n\n${text}` }, { copy: content }] };
    });
    assert.deepEqual(restored, { messages: [{ content: `${a}\n\n${b}` }, { copy: a }] });
  });

  test("a stand-in serialised inside a string (tool input → arguments) is escaped once more", () => {
    const code = long('const s = "quoted \\\\ path";\n\tline ');
    const { restored } = roundTrip({ input: { new_string: code, old_string: long("old ") } }, (json) => ({
      arguments: JSON.stringify((json as { input: unknown }).input),
    }));
    const args = JSON.parse((restored as { arguments: string }).arguments) as { new_string: string };
    assert.equal(args.new_string, code);
  });

  test("a cut or rewritten stand-in is not put back: the caller translates the parsed body instead", () => {
    const body = { content: long("some text ") };
    assert.equal(roundTrip(body, (json) => ({ c: (json as { content: string }).content.slice(1) })).out, null);
    assert.equal(roundTrip(body, (json) => ({ c: `x${(json as { content: string }).content.slice(1)}` })).out, null);
    assert.equal(roundTrip(body, (json) => ({ c: (json as { content: string }).content.slice(0, 40) })).out, null);
    assert.equal(roundTrip(body, (json) => ({ c: (json as { content: string }).content.slice(0, 33) })).out, null);
    // Serialised twice into strings (depth 3): not put back.
    assert.equal(roundTrip(body, (json) => ({ c: JSON.stringify(JSON.stringify(json)) })).out, null);
  });

  test("only values of opaque members, and not text converters read", () => {
    const set = (body: unknown) => setAsideLongStrings(Buffer.from(JSON.stringify(body)));
    assert.equal(set({ arguments: long('{"cmd":"ls" ') }), null, "not an opaque member");
    assert.equal(set({ url: `data:image/png;base64,${long("iVBORw0K")}` }), null);
    assert.equal(set({ text: `data:image/png;base64,${long("iVBORw0K")}` }), null, "a data URL");
    assert.equal(set({ content: `{"a":${JSON.stringify(long("x"))}}` }), null, "JSON-looking");
    assert.equal(set({ content: `\n\n  [1, 2, ${long("3, ")}]` }), null, "JSON-looking after blanks");
    assert.equal(set({ text: `x-anthropic-billing-header: cc_version=2;\n${long("more ")}` }), null);
    assert.equal(set({ text: `tollgate.v1:anthropic:signature:${long("abc")}` }), null, "a reasoning envelope");
    assert.equal(set({ text: long(" ") }), null, "blank text (converters drop it)");
    assert.equal(set({ text: `${" ".repeat(40)}${long("late ")}` }), null, "nothing visible in the kept prefix");
    assert.equal(set({ list: [long("array element ")] }), null, "not a member's value");
    assert.equal(set({ text: long("short ", 100) }), null, "short");
    assert.notEqual(set({ text: `\n\n${long("text after blank lines ")}` }), null);
    assert.notEqual(set({ content: `     1\t${long("numbered line ")}` }), null, "cat -n output");
  });

  test("escapes in the kept prefix: those that serialise to themselves are kept, \\u and \\/ end it", () => {
    for (const raw of [
      `{"text":"\\n\\t\\"quoted\\" \\\\ ${long("x ")}"}`,
      `{"text":"a\\/b ${long("x ")}"}`,
      `{"text":"caf\\u0065 ${long("x ")}"}`,
      `{"text":"\\u2026 ${long("x ")}"}`,
    ]) {
      const bytes = Buffer.from(raw);
      const aside = setAsideLongStrings(bytes) as SetAside;
      const out = restoreLongStrings(JSON.stringify(JSON.parse(aside.text)), bytes, aside);
      assert.deepEqual(JSON.parse(String(out)), JSON.parse(raw), raw.slice(0, 30));
    }
  });

  test("keys and values: whitespace around the colon, long keys, escaped quotes inside strings", () => {
    const text = long('he said \\"hi\\" and left ');
    const raw = Buffer.from(`{ "content" : "${text}", "${long("k")}": 1, "text":\n"${text}" }`);
    const aside = setAsideLongStrings(raw) as SetAside;
    assert.equal(aside.spans.length, 6);
    const out = restoreLongStrings(JSON.stringify(JSON.parse(aside.text)), raw, aside);
    assert.deepEqual(JSON.parse(String(out)), JSON.parse(raw.toString()));
  });

  test("a body that is not JSON is left to JSON.parse", () => {
    assert.equal(setAsideLongStrings(Buffer.from(`{"text":"${long("unterminated ")}`)), null);
    assert.equal(setAsideLongStrings(Buffer.from("")), null);
  });

  test("a forged marker or a stray U+0000 is never spliced: the caller parses the body instead", () => {
    const forged = `\\u0000tg000000000000:0\\u0000`;
    const raw = Buffer.from(`{"content":"${long("real text ")}","x":"${forged}"}`);
    const aside = setAsideLongStrings(raw) as SetAside;
    assert.equal(restoreLongStrings(JSON.stringify(JSON.parse(aside.text)), raw, aside), null);
    const plain = Buffer.from(`{"content":"${long("real text ")}","x":"a\\u0000b"}`);
    const plainAside = setAsideLongStrings(plain) as SetAside;
    assert.equal(restoreLongStrings(JSON.stringify(JSON.parse(plainAside.text)), plain, plainAside), null);
  });
});
