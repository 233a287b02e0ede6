import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FastKeys, fastKeyOf } from "../../src/cache/fast-key.ts";

const billing = (nonce: string) =>
  `x-anthropic-billing-header: cc_version=2.1.197.e4f; cc_entrypoint=cli; cch=${nonce};`;
const body = (fields: Record<string, unknown>) =>
  Buffer.from(
    JSON.stringify({
      model: "claude-sonnet-4-5",
      system: [
        { type: "text", text: billing("a1b2c") },
        { type: "text", text: "You are Claude Code." },
      ],
      messages: [{ role: "user", content: "explain this function" }],
      max_tokens: 300,
      ...fields,
    }),
  );
const key = (raw: Buffer, model = "claude-sonnet-4-5") => fastKeyOf("anthropic", raw, model);

describe("the response cache's fast (raw-bytes) key", () => {
  it("ignores the volatile fields and Claude Code's attribution nonce, byte for byte otherwise", () => {
    const base = key(body({}));
    assert.ok(base);
    assert.equal(key(body({ stream: true })), base);
    assert.equal(key(body({ metadata: { user_id: "session-2" } })), base);
    assert.equal(key(body({ model: "alias-of-sonnet" })), base, "the model is keyed as resolved, not as sent");
    const otherNonce = Buffer.from(body({}).toString().replace("cch=a1b2c;", "cch=ffff0;"));
    assert.equal(key(otherNonce), base);
  });

  it("changes with anything that can change the answer", () => {
    const base = key(body({}));
    assert.notEqual(key(body({ max_tokens: 301 })), base);
    assert.notEqual(key(body({ messages: [{ role: "user", content: "explain that function" }] })), base);
    assert.notEqual(key(body({}), "claude-haiku-4-5"), base, "another resolved model");
    assert.notEqual(fastKeyOf("openai-chat", body({}), "claude-sonnet-4-5"), base, "another dialect");
    // A cch= outside the billing header is content, not a nonce.
    const inText = (v: string) => body({ messages: [{ role: "user", content: `set cch=${v}; please` }] });
    assert.notEqual(key(inText("1")), key(inText("2")));
  });

  it("is null for a body that is not a JSON object", () => {
    assert.equal(key(Buffer.from("[1,2]")), null);
    assert.equal(key(Buffer.from('{"model": ')), null);
  });

  it("maps fast keys to canonical keys, forgetting the least recently used beyond its bound", () => {
    const keys = new FastKeys(2);
    keys.set("a", "A");
    keys.set("b", "B");
    assert.equal(keys.get("a"), "A"); // a is now the most recent
    keys.set("c", "C");
    assert.equal(keys.get("b"), undefined);
    assert.equal(keys.get("a"), "A");
    assert.equal(keys.get("c"), "C");
  });
});
