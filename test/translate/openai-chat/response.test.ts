import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { convertOpenAiChatUsage } from "../../../src/dialects/openai-chat/usage.ts";
import { isObject } from "../../../src/dialects/shared/narrow.ts";
import type { Usage } from "../../../src/metering/usage.ts";
import { type CanonicalResponse, TranslationError } from "../../../src/translate/canonical.ts";
import {
  canonicalToOpenAiChatResponse,
  mapOpenAiChatFinishReason,
  openAiChatResponseToCanonical,
  toOpenAiChatFinishReason,
  toOpenAiChatUsage,
} from "../../../src/translate/openai-chat/index.ts";
import { fixtureJson } from "./helpers.ts";

function usage(input: number, cacheRead: number, cacheWrite5m: number, output: number, reasoning: number): Usage {
  return { input, cacheRead, cacheWrite5m, cacheWrite1h: 0, output, reasoning };
}

describe("openai-chat response → canonical (recorded bodies)", () => {
  it("openai-text.json: text, `stop` → end, usage split by the dialect's converter", () => {
    const body = fixtureJson("openai-chat/openai-text.json");
    const res = openAiChatResponseToCanonical(body);
    assert.equal(res.id, "chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU");
    assert.equal(res.model, "gpt-4.1-nano-2025-04-14");
    assert.equal(res.content.length, 1);
    const text = res.content[0];
    assert.ok(text?.type === "text" && text.text.startsWith("**Holiday Name:** Galaxy Day"));
    assert.ok(text.text.includes("darkness\u2014mirroring"));
    assert.deepEqual(res.stop, { unified: "end", raw: "stop" });
    assert.deepEqual(res.usage, usage(16, 0, 0, 363, 0));
  });

  it("deepseek-tool-call.json: reasoning_content (no opaque), tool call, cache hits", () => {
    const body = fixtureJson("deepseek/deepseek-tool-call.json");
    const res = openAiChatResponseToCanonical(body);
    assert.deepEqual(res.content, [
      {
        type: "reasoning",
        text: 'The user is asking for the weather in San Francisco. I have a weather tool available that can get weather information for a location. I should use this tool with the location parameter set to "San Francisco". Let me call the weather function.',
        opaque: null,
      },
      {
        type: "tool-call",
        id: "call_00_9V0vrf86Pc9aelHCJMZqnJBo",
        name: "weather",
        arguments: '{"location": "San Francisco"}',
      },
    ]);
    assert.deepEqual(res.stop, { unified: "tool-calls", raw: "tool_calls" });
    // prompt 339 of which 320 cached; completion 92 includes 48 reasoning.
    assert.deepEqual(res.usage, usage(19, 320, 0, 92, 48));
  });

  it("deepseek-text.json: `length` → max-tokens; groq-tool-call.json: no content, one tool call", () => {
    const text = openAiChatResponseToCanonical(fixtureJson("deepseek/deepseek-text.json"));
    assert.deepEqual(text.stop, { unified: "max-tokens", raw: "length" });
    assert.deepEqual(text.usage, usage(13, 0, 0, 300, 0));
    const groq = openAiChatResponseToCanonical(fixtureJson("groq/groq-tool-call.json"));
    assert.deepEqual(groq.content, [{ type: "tool-call", id: "ax9fskhev", name: "weather", arguments: "{}" }]);
    assert.deepEqual(groq.stop, { unified: "tool-calls", raw: "tool_calls" });
    assert.deepEqual(groq.usage, usage(218, 0, 0, 15, 0));
  });

  it("usage always equals the dialect's own converter on the same body", () => {
    for (const file of [
      "openai-chat/openai-text.json",
      "deepseek/deepseek-tool-call.json",
      "deepseek/deepseek-text.json",
      "groq/groq-tool-call.json",
    ]) {
      const body = fixtureJson(file);
      assert.ok(isObject(body) && isObject(body.usage));
      assert.deepEqual(openAiChatResponseToCanonical(body).usage, convertOpenAiChatUsage(body.usage), file);
    }
  });

  it("refusal becomes text; an error body or a non-object is a TranslationError", () => {
    const res = openAiChatResponseToCanonical({
      id: "x",
      model: "gpt-4o",
      choices: [
        { index: 0, message: { role: "assistant", content: null, refusal: "I can't." }, finish_reason: "stop" },
      ],
    });
    assert.deepEqual(res.content, [{ type: "text", text: "I can't." }]);
    assert.deepEqual(res.usage, usage(0, 0, 0, 0, 0));
    assert.throws(
      () => openAiChatResponseToCanonical(fixtureJson("openai-chat/reasoning-model-legacy-parameter-error.json")),
      (err: unknown) => err instanceof TranslationError && /max_completion_tokens/.test(err.message),
    );
    assert.throws(() => openAiChatResponseToCanonical("nope"), TranslationError);
  });

  it("finish reasons: unknown → other (never silently end); stop with tool calls → tool-calls", () => {
    assert.deepEqual(mapOpenAiChatFinishReason("content_filter", false), {
      unified: "content-filter",
      raw: "content_filter",
    });
    assert.deepEqual(mapOpenAiChatFinishReason("function_call", false), {
      unified: "tool-calls",
      raw: "function_call",
    });
    assert.deepEqual(mapOpenAiChatFinishReason("insufficient_system_resource", false), {
      unified: "other",
      raw: "insufficient_system_resource",
    });
    assert.deepEqual(mapOpenAiChatFinishReason(null, false), { unified: "other", raw: null });
    assert.deepEqual(mapOpenAiChatFinishReason("stop", true), { unified: "tool-calls", raw: "stop" });
  });
});

describe("canonical → openai-chat response (for the client)", () => {
  const canonical: CanonicalResponse = {
    id: "msg_01",
    model: "claude-sonnet-4-5",
    content: [
      { type: "reasoning", text: "Think.", opaque: { dialect: "anthropic", kind: "signature", value: "SIG" } },
      { type: "text", text: "Calling " },
      { type: "text", text: "the tool." },
      { type: "tool-call", id: "toolu_1", name: "weather", arguments: '{"city":"Oslo"}' },
    ],
    stop: { unified: "tool-calls", raw: "tool_use" },
    usage: { input: 10, cacheRead: 100, cacheWrite5m: 20, cacheWrite1h: 5, output: 50, reasoning: 30 },
  };

  it("builds a chat.completion with the client's model name, tool calls, reasoning_content and usage", () => {
    const body = canonicalToOpenAiChatResponse(canonical, "my-alias", { created: 1700000000 });
    assert.deepEqual(body, {
      id: "msg_01",
      object: "chat.completion",
      created: 1700000000,
      model: "my-alias",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Calling the tool.",
            refusal: null,
            reasoning_content: "Think.",
            tool_calls: [
              { id: "toolu_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
            ],
          },
          logprobs: null,
          finish_reason: "tool_calls",
        },
      ],
      usage: {
        prompt_tokens: 135,
        completion_tokens: 50,
        total_tokens: 185,
        prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 25 },
        completion_tokens_details: { reasoning_tokens: 30 },
      },
    });
    assert.doesNotMatch(JSON.stringify(body), /SIG/);
  });

  it("usage survives canonical → Chat → the dialect's converter (5-minute writes)", () => {
    for (const u of [usage(7, 0, 0, 3, 0), usage(19, 320, 0, 92, 48), usage(1, 2, 3, 4, 4)]) {
      assert.deepEqual(convertOpenAiChatUsage(toOpenAiChatUsage(u)), u);
    }
  });

  it("a recorded body survives Chat → canonical → Chat", () => {
    const body = fixtureJson("deepseek/deepseek-tool-call.json");
    const again = openAiChatResponseToCanonical(
      canonicalToOpenAiChatResponse(openAiChatResponseToCanonical(body), "m"),
    );
    assert.deepEqual(again.content, openAiChatResponseToCanonical(body).content);
    assert.deepEqual(again.usage, openAiChatResponseToCanonical(body).usage);
    assert.deepEqual(again.stop.unified, "tool-calls");
  });

  it("finish reasons: max-tokens → length, content-filter → content_filter, others → stop (tool_calls with calls)", () => {
    const f = (unified: CanonicalResponse["stop"]["unified"], calls = false) =>
      toOpenAiChatFinishReason({ unified, raw: null }, calls);
    assert.equal(f("end"), "stop");
    assert.equal(f("stop-sequence"), "stop");
    assert.equal(f("max-tokens"), "length");
    assert.equal(f("max-tokens", true), "length");
    assert.equal(f("content-filter"), "content_filter");
    assert.equal(f("tool-calls"), "tool_calls");
    assert.equal(f("end", true), "tool_calls");
    assert.equal(f("pause"), "stop");
    assert.equal(f("other"), "stop");
    const text = canonicalToOpenAiChatResponse(
      { ...canonical, content: [], stop: { unified: "end", raw: "end_turn" } },
      "m",
    ).choices;
    assert.ok(Array.isArray(text) && isObject(text[0]) && isObject(text[0].message));
    assert.equal(text[0].message.content, null);
    assert.equal(text[0].message.tool_calls, undefined);
  });
});
