import assert from "node:assert/strict";
import { test } from "node:test";
import { exactKey } from "../../src/cache/exact-key.ts";

function claudeCodeBody(nonce: string, extra: Record<string, unknown> = {}) {
  return {
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    stream: true,
    metadata: { user_id: `user_abc_session_${nonce}` },
    system: [
      {
        type: "text",
        text: `x-anthropic-billing-header: cc_version=2.1.197.8e1; cc_entrypoint=sdk-cli; cch=${nonce};`,
      },
      { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
    ],
    messages: [
      {
        role: "user",
        content: [{ type: "text", text: "explain this function", cache_control: { type: "ephemeral" } }],
      },
    ],
    tools: [{ name: "Read", description: "read a file", input_schema: { type: "object", properties: {} } }],
    ...extra,
  };
}

test("the attribution nonce, metadata, stream and cache_control do not change the key", () => {
  const a = exactKey("anthropic", claudeCodeBody("1a2b3"), "claude-sonnet-4-5");
  const b = exactKey("anthropic", claudeCodeBody("ffee9"), "claude-sonnet-4-5");
  assert.equal(a, b);
  const plain = claudeCodeBody("zz");
  plain.stream = false;
  const c = exactKey(
    "anthropic",
    {
      ...plain,
      metadata: undefined,
      messages: [{ role: "user", content: "explain this function" }],
      system: [plain.system[0], { type: "text", text: "You are Claude Code." }],
    },
    "claude-sonnet-4-5",
  );
  assert.equal(a, c);
  assert.match(a, /^[0-9a-f]{64}$/);
});

test("model, system, tools and output parameters change the key", () => {
  const base = exactKey("anthropic", claudeCodeBody("n"), "claude-sonnet-4-5");
  assert.notEqual(exactKey("anthropic", claudeCodeBody("n"), "claude-opus-4-1"), base);
  const sys = claudeCodeBody("n");
  sys.system[1] = { type: "text", text: "You are someone else.", cache_control: { type: "ephemeral" } };
  assert.notEqual(exactKey("anthropic", sys, "claude-sonnet-4-5"), base);
  const tools = claudeCodeBody("n", { tools: [] });
  assert.notEqual(exactKey("anthropic", tools, "claude-sonnet-4-5"), base);
  assert.notEqual(exactKey("anthropic", claudeCodeBody("n", { temperature: 0.7 }), "claude-sonnet-4-5"), base);
  assert.notEqual(exactKey("anthropic", claudeCodeBody("n", { max_tokens: 10 }), "claude-sonnet-4-5"), base);
  // The nonce is only stripped from the billing block: the same text elsewhere is content.
  const user = claudeCodeBody("n", { messages: [{ role: "user", content: "cch=1;" }] });
  const user2 = claudeCodeBody("n", { messages: [{ role: "user", content: "cch=2;" }] });
  assert.notEqual(exactKey("anthropic", user, "m"), exactKey("anthropic", user2, "m"));
});

test("the same request from another dialect has the same key", () => {
  const anthropic = exactKey(
    "anthropic",
    { model: "alias", max_tokens: 100, system: "Be brief.", messages: [{ role: "user", content: "hi" }], stream: true },
    "gpt-x",
  );
  const chat = exactKey(
    "openai-chat",
    {
      model: "gpt-x",
      max_tokens: 100,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
      ],
      stream: false,
      metadata: { run: "1" },
    },
    "gpt-x",
  );
  assert.equal(anthropic, chat);
});

test("what the canonical form drops still tells requests apart (keyed on the normalised body)", () => {
  const withCm = (trigger: number) =>
    claudeCodeBody("n", {
      context_management: { edits: [{ type: "clear_tool_uses_20250919", trigger: { value: trigger } }] },
    });
  const a = exactKey("anthropic", withCm(1000), "claude-sonnet-4-5");
  assert.notEqual(a, exactKey("anthropic", withCm(2000), "claude-sonnet-4-5"));
  assert.notEqual(a, exactKey("anthropic", claudeCodeBody("n"), "claude-sonnet-4-5"));
  // The nonce, metadata, stream and cache_control are still ignored on that path.
  const other = withCm(1000) as Record<string, unknown>;
  other.system = [
    { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197.8e1; cc_entrypoint=sdk-cli; cch=99999;" },
    { type: "text", text: "You are Claude Code." },
  ];
  other.metadata = { user_id: "someone-else" };
  other.stream = false;
  assert.equal(exactKey("anthropic", other, "claude-sonnet-4-5"), a);
  // A dropped content part's contents count too.
  const doc = (data: string) => ({
    model: "m",
    max_tokens: 10,
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "summarise" },
          { type: "document", source: { type: "text", media_type: "text/plain", data } },
        ],
      },
    ],
  });
  assert.notEqual(exactKey("anthropic", doc("one"), "m"), exactKey("anthropic", doc("two"), "m"));
});
