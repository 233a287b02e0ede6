import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { convertAnthropicUsage } from "../../../src/dialects/anthropic/usage.ts";
import { canonicalToAnthropicResponse } from "../../../src/translate/anthropic/canonical-to-response.ts";
import { anthropicResponseToCanonical } from "../../../src/translate/anthropic/response-to-canonical.ts";
import type { CanonicalResponse } from "../../../src/translate/canonical.ts";
import { fixtureJson } from "./helpers.ts";

/** The provider body of each JSON fixture (one is wrapped in a capture envelope, see the fixtures README). */
function body(file: string): Record<string, unknown> {
  const json = fixtureJson(`anthropic/${file}`) as Record<string, unknown>;
  if (file.startsWith("issue-14707")) {
    const calls = json.calls as { response: { body: Record<string, unknown> } }[];
    return calls[0]?.response.body ?? {};
  }
  return json;
}

const MESSAGE_FIXTURES = [
  "anthropic-text.json",
  "anthropic-issue-10372-tool-call.json",
  "issue-13430-thinking-tool-call.json",
  "anthropic-refusal.json",
  "issue-14707-claude-opus-4-7-temperature-live.json",
];

/** What a client reads from an Anthropic content block. */
function essentials(block: Record<string, unknown>) {
  const { type, text, thinking, signature, id, name, input, data } = block;
  return Object.fromEntries(
    Object.entries({ type, text, thinking, signature, id, name, input, data }).filter(([, v]) => v !== undefined),
  );
}

describe("Anthropic response → canonical → Anthropic: recorded bodies", () => {
  for (const file of MESSAGE_FIXTURES) {
    it(`${file}: usage equals the dialect's converter; the round trip keeps content, stop reason and usage`, () => {
      const original = body(file);
      const canonical = anthropicResponseToCanonical(original);
      assert.deepEqual(canonical.usage, convertAnthropicUsage(original.usage));
      const back = canonicalToAnthropicResponse(canonical, String(original.model));
      assert.equal(back.id, original.id);
      assert.equal(back.type, "message");
      assert.equal(back.role, "assistant");
      assert.equal(back.stop_reason, original.stop_reason);
      assert.deepEqual(
        (back.content as Record<string, unknown>[]).map(essentials),
        (original.content as Record<string, unknown>[]).map(essentials),
      );
      const usage = original.usage as Record<string, unknown>;
      const backUsage = back.usage as Record<string, unknown>;
      for (const key of [
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "cache_creation",
      ]) {
        assert.deepEqual(backUsage[key], usage[key], key);
      }
    });
  }

  it("thinking + tool call: signature tagged as Anthropic's; thinking tokens kept as reasoning", () => {
    const canonical = anthropicResponseToCanonical(body("issue-13430-thinking-tool-call.json"));
    assert.equal(canonical.content[0]?.type, "reasoning");
    const reasoning = canonical.content[0];
    assert.equal(reasoning?.type === "reasoning" ? reasoning.opaque?.dialect : null, "anthropic");
    assert.deepEqual(canonical.content[1], {
      type: "tool-call",
      id: "toolu_01Vr1rLVLRYrbNn7qECH8SPR",
      name: "checkSandboxErrors",
      arguments: "{}",
    });
    assert.deepEqual(canonical.stop, { unified: "tool-calls", raw: "tool_use" });
    assert.equal(canonical.usage.reasoning, 53);
    assert.deepEqual(canonicalToAnthropicResponse(canonical, "m").usage, {
      input_tokens: 619,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: 94,
      output_tokens_details: { thinking_tokens: 53 },
    });
  });

  it("stop reasons: max_tokens and refusal", () => {
    assert.deepEqual(anthropicResponseToCanonical(body("issue-14707-claude-opus-4-7-temperature-live.json")).stop, {
      unified: "max-tokens",
      raw: "max_tokens",
    });
    assert.deepEqual(anthropicResponseToCanonical(body("anthropic-refusal.json")).stop, {
      unified: "content-filter",
      raw: "refusal",
    });
  });

  it("server-tool blocks are left out; the text around them is kept", () => {
    const canonical = anthropicResponseToCanonical({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "m",
      content: [
        { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "q" } },
        { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] },
        { type: "text", text: "Answer.", citations: [{ type: "web_search_result_location" }] },
      ],
      stop_reason: "end_turn",
      usage: { input_tokens: 1, output_tokens: 2 },
    });
    assert.deepEqual(canonical.content, [{ type: "text", text: "Answer." }]);
  });

  it("error bodies are not messages", () => {
    assert.throws(() => anthropicResponseToCanonical(body("anthropic-issue-17366-error.json")));
    assert.throws(() => anthropicResponseToCanonical("nope"));
  });
});

describe("canonical → Anthropic response", () => {
  const usage = { input: 10, cacheRead: 20, cacheWrite5m: 3, cacheWrite1h: 4, output: 5, reasoning: 0 };
  const response = (overrides: Partial<CanonicalResponse>): CanonicalResponse => ({
    id: "chatcmpl-1",
    model: "gpt-x",
    content: [],
    stop: { unified: "end", raw: "stop" },
    usage,
    ...overrides,
  });

  it("names the client's model; usage excludes cache from input_tokens and splits cache writes by TTL", () => {
    const out = canonicalToAnthropicResponse(response({}), "claude-sonnet-4-5");
    assert.equal(out.model, "claude-sonnet-4-5");
    assert.deepEqual(out.usage, {
      input_tokens: 10,
      cache_creation_input_tokens: 7,
      cache_read_input_tokens: 20,
      cache_creation: { ephemeral_5m_input_tokens: 3, ephemeral_1h_input_tokens: 4 },
      output_tokens: 5,
    });
  });

  it("other providers' reasoning is shown without their opaque data; broken tool arguments become {}", () => {
    const out = canonicalToAnthropicResponse(
      response({
        content: [
          { type: "reasoning", text: "hmm", opaque: { dialect: "openai-responses", kind: "encrypted", value: "gAAA" } },
          { type: "reasoning", text: "", opaque: { dialect: "gemini", kind: "signature", value: "gsig" } },
          { type: "text", text: "" },
          { type: "text", text: "ok" },
          { type: "tool-call", id: "call_1", name: "f", arguments: '{"a":' },
          { type: "tool-call", id: "call_2", name: "g", arguments: '{"b":1}' },
        ],
        stop: { unified: "tool-calls", raw: "tool_calls" },
      }),
      "m",
    );
    assert.ok(!JSON.stringify(out).includes("gAAA") && !JSON.stringify(out).includes("gsig"));
    assert.deepEqual(out.content, [
      { type: "thinking", thinking: "hmm", signature: "" },
      { type: "text", text: "ok" },
      { type: "tool_use", id: "call_1", name: "f", input: {} },
      { type: "tool_use", id: "call_2", name: "g", input: { b: 1 } },
    ]);
    assert.equal(out.stop_reason, "tool_use");
  });

  it("maps every unified stop reason to an Anthropic one", () => {
    const cases = [
      ["end", "end_turn"],
      ["max-tokens", "max_tokens"],
      ["stop-sequence", "stop_sequence"],
      ["tool-calls", "tool_use"],
      ["content-filter", "refusal"],
      ["pause", "pause_turn"],
      ["error", "end_turn"],
      ["other", "end_turn"],
    ] as const;
    for (const [unified, expected] of cases) {
      assert.equal(canonicalToAnthropicResponse(response({ stop: { unified, raw: null } }), "m").stop_reason, expected);
    }
  });
});
