import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GatewayError } from "../../src/errors/catalog.ts";
import { peekTopLevel } from "../../src/json/peek.ts";
import { FULL_PARSE_MAX_BYTES, parseModelCall } from "../../src/pipeline/ingress.ts";
import { prepareBody } from "../../src/pipeline/prepare-body.ts";

const WANT = new Set(["model", "stream", "metadata"]);

function peekValues(text: string): Record<string, unknown> | null {
  const buf = Buffer.from(text);
  const ranges = peekTopLevel(buf, WANT);
  if (ranges === null) return null;
  return Object.fromEntries([...ranges].map(([k, [s, e]]) => [k, JSON.parse(buf.toString("utf8", s, e))]));
}

describe("peekTopLevel", () => {
  it("finds top-level fields and agrees with JSON.parse", () => {
    const docs = [
      { model: "m", stream: true },
      { messages: [{ role: "user", content: 'a "quoted" \\ "model": "fake" }' }], model: "real", stream: false },
      {
        nested: { model: "inner", deeper: [{ model: "x" }] },
        metadata: { user_id: '{"session_id":"s"}' },
        model: "outer",
      },
      { "model\\u0020": 1, model: "ünïcødé-模型", n: -1.5e3, t: true, f: null },
      {},
    ];
    for (const doc of docs) {
      for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
        const expected = Object.fromEntries(Object.entries(doc).filter(([k]) => WANT.has(k)));
        assert.deepEqual(peekValues(text), expected, text);
      }
    }
  });

  it("rejects what is not a structurally sound object", () => {
    for (const bad of [
      "",
      "[]",
      '"s"',
      "{",
      '{"a":1',
      '{"a":"unterminated}',
      '{"a":1}x',
      '{"a" 1}',
      "{a:1}",
      '{"a":1,}',
      '{"a":}',
    ]) {
      assert.equal(peekValues(bad), null, bad);
    }
  });
});

describe("parseModelCall", () => {
  const spec = { dialect: "anthropic", op: "messages" } as const;
  const big = (extra: string) =>
    Buffer.from(
      `{"messages":[{"role":"user","content":"${"x".repeat(FULL_PARSE_MAX_BYTES)}"}],"model":"claude-x","stream":true${extra}}`,
    );

  it("reads large bodies without decoding them and small ones strictly", () => {
    const call = parseModelCall(spec, big(',"metadata":{"user_id":"u"}'), null);
    assert.equal(call.model, "claude-x");
    assert.equal(call.stream, true);
    assert.deepEqual(call.fields.metadata, { user_id: "u" });
    assert.throws(
      () => parseModelCall(spec, Buffer.from('{"model":"m","x":tru}'), null),
      (e: GatewayError) => e.code === "TG_INVALID_JSON",
    );
  });

  it("reports a broken large body as invalid JSON", () => {
    const whole = big("");
    const truncated = whole.subarray(0, whole.length - 5);
    assert.throws(
      () => parseModelCall(spec, truncated, null),
      (e: GatewayError) => e.code === "TG_INVALID_JSON",
    );
    const wrongType = Buffer.from(`{"messages":"${"x".repeat(FULL_PARSE_MAX_BYTES)}","model":"m","stream":"yes"}`);
    assert.throws(
      () => parseModelCall(spec, wrongType, null),
      (e: GatewayError) => e.code === "TG_INVALID_BODY",
    );
    const brokenField = Buffer.from(`{"messages":"${"x".repeat(FULL_PARSE_MAX_BYTES)}","model":tru}`);
    assert.throws(
      () => parseModelCall(spec, brokenField, null),
      (e: GatewayError) => e.code === "TG_INVALID_JSON",
    );
  });

  it("renames the model and injects include_usage as byte splices", () => {
    const raw = Buffer.from('{"model":"openai/gpt-4o","messages":[{"role":"user","content":"é"}],"stream":true}');
    const call = parseModelCall({ dialect: "openai-chat", op: "chat" }, raw, null);
    const out = prepareBody({ dialect: "openai-chat", op: "chat" }, raw, call, "gpt-4o");
    assert.equal(out.injectedUsage, true);
    assert.equal(
      out.bytes.toString(),
      '{"stream_options":{"include_usage":true},"model":"gpt-4o","messages":[{"role":"user","content":"é"}],"stream":true}',
    );
    const merged = Buffer.from(
      '{"model":"gpt-4o","stream":true,"stream_options":{"include_obfuscation":false},"messages":[]}',
    );
    const m = prepareBody(
      { dialect: "openai-chat", op: "chat" },
      merged,
      parseModelCall({ dialect: "openai-chat", op: "chat" }, merged, null),
      "gpt-4o",
    );
    assert.deepEqual(JSON.parse(m.bytes.toString()).stream_options, {
      include_obfuscation: false,
      include_usage: true,
    });
    const untouched = Buffer.from('{"model":"gpt-4o","stream":false,"messages":[]}');
    const u = prepareBody(
      { dialect: "openai-chat", op: "chat" },
      untouched,
      parseModelCall({ dialect: "openai-chat", op: "chat" }, untouched, null),
      "gpt-4o",
    );
    assert.equal(u.bytes, untouched, "same buffer, no copy");
  });
});
