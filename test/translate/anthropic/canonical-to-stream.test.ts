import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContentBlock, Message } from "@anthropic-ai/sdk/resources/messages";
import {
  anthropicCanonicalToStream,
  anthropicErrorTypeOf,
} from "../../../src/translate/anthropic/canonical-to-stream.ts";
import { anthropicStreamToCanonical } from "../../../src/translate/anthropic/stream-to-canonical.ts";
import type { CanonicalStreamEvent } from "../../../src/translate/canonical.ts";
import { fixtureWire, namedEvents, runMapper, STREAM_FIXTURES, sdkFinalMessage, sseEvents } from "./helpers.ts";

function render(events: CanonicalStreamEvent[], model = "client-model"): string {
  return runMapper(anthropicCanonicalToStream(model), events).join("");
}

/** The parts of a content block a client acts on (the SDK adds fields like `citations` / `caller` as they come). */
function essentials(block: ContentBlock) {
  switch (block.type) {
    case "text":
      return { type: "text", text: block.text };
    case "thinking":
      return { type: "thinking", thinking: block.thinking, signature: block.signature };
    case "redacted_thinking":
      return { type: "redacted_thinking", data: block.data };
    case "tool_use":
      return { type: "tool_use", id: block.id, name: block.name, input: block.input };
    default:
      return null;
  }
}

function usageNumbers(message: Message) {
  const u = message.usage;
  // An absent cache count (Anthropic-compatible servers omit them) is 0 tokens.
  return [u.input_tokens, u.cache_read_input_tokens ?? 0, u.cache_creation_input_tokens ?? 0, u.output_tokens];
}

const usage = { input: 100, cacheRead: 50, cacheWrite5m: 10, cacheWrite1h: 5, output: 7, reasoning: 3 };

describe("canonical → Anthropic stream: recorded streams through the official SDK", () => {
  for (const file of STREAM_FIXTURES) {
    it(`${file}: the SDK's final message equals the one it reads from the original stream`, async () => {
      const original = fixtureWire(file);
      const expected = await sdkFinalMessage(original);
      const canonical = runMapper(anthropicStreamToCanonical, sseEvents(original));
      const text = render(canonical, expected.model);
      namedEvents(text);
      const actual = await sdkFinalMessage(text);
      assert.equal(actual.id, expected.id);
      assert.equal(actual.model, expected.model);
      assert.equal(actual.stop_reason, expected.stop_reason);
      // Server-tool blocks stay on Anthropic's side; everything a client acts on is identical.
      assert.deepEqual(
        actual.content.map(essentials),
        expected.content.map(essentials).filter((b) => b !== null),
      );
      assert.deepEqual(usageNumbers(actual), usageNumbers(expected));
    });
  }
});

describe("canonical → Anthropic stream: shape", () => {
  it("every event is named; message_start carries usage known before the first block; message_delta the final", async () => {
    const text = render([
      { type: "start", id: "resp_1", model: "gpt-x" },
      { type: "usage", usage: { input: 90, cacheRead: 40 } },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "Hi" },
      { type: "block-end", block: 0 },
      { type: "usage", usage: { output: 7 } },
      { type: "finish", stop: { unified: "end", raw: "stop" }, usage },
    ]);
    const events = namedEvents(text);
    assert.deepEqual(
      events.map((e) => e.event),
      [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
      ],
    );
    const start = events[0]?.data.message as { usage: Record<string, unknown>; model: string; id: string };
    assert.equal(start.model, "client-model");
    assert.equal(start.id, "resp_1");
    assert.equal(start.usage.input_tokens, 90);
    assert.equal(start.usage.cache_read_input_tokens, 40);
    assert.deepEqual(events[4]?.data.usage, {
      input_tokens: 100,
      cache_creation_input_tokens: 15,
      cache_read_input_tokens: 50,
      cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 5 },
      output_tokens: 7,
      output_tokens_details: { thinking_tokens: 3 },
    });
    const message = await sdkFinalMessage(text);
    assert.deepEqual(usageNumbers(message), [100, 50, 15, 7]);
    assert.equal(message.stop_reason, "end_turn");
  });

  it("parallel tool calls streamed interleaved are written one block after the other, arguments whole", async () => {
    const text = render([
      { type: "start", id: "chatcmpl-1", model: "gpt-x" },
      { type: "tool-call-start", block: 0, id: "call_a", name: "get_weather" },
      { type: "tool-call-start", block: 1, id: "call_b", name: "get_time" },
      { type: "tool-call-delta", block: 0, argumentsDelta: '{"city":' },
      { type: "tool-call-delta", block: 1, argumentsDelta: '{"tz":"Europe/Oslo"}' },
      { type: "block-end", block: 1 },
      { type: "tool-call-delta", block: 0, argumentsDelta: '"Oslo"}' },
      { type: "block-end", block: 0 },
      { type: "finish", stop: { unified: "tool-calls", raw: "tool_calls" }, usage },
    ]);
    const events = namedEvents(text);
    // Each block's events form one contiguous run, with indexes 0, 1 in order.
    const runs = events.filter((e) => e.event.startsWith("content_block")).map((e) => `${e.event}:${e.data.index}`);
    assert.deepEqual(runs, [
      "content_block_start:0",
      "content_block_delta:0",
      "content_block_delta:0",
      "content_block_stop:0",
      "content_block_start:1",
      "content_block_delta:1",
      "content_block_stop:1",
    ]);
    const message = await sdkFinalMessage(text);
    assert.deepEqual(message.content.map(essentials), [
      { type: "tool_use", id: "call_a", name: "get_weather", input: { city: "Oslo" } },
      { type: "tool_use", id: "call_b", name: "get_time", input: { tz: "Europe/Oslo" } },
    ]);
    assert.equal(message.stop_reason, "tool_use");
  });

  it("a block still buffered (or open) at finish is written and closed before message_delta", async () => {
    const text = render([
      { type: "start", id: "x", model: "m" },
      { type: "text-start", block: 0 },
      { type: "tool-call-start", block: 1, id: "call_1", name: "f" },
      { type: "text-delta", block: 0, text: "a" },
      { type: "tool-call-delta", block: 1, argumentsDelta: "{}" },
      { type: "finish", stop: { unified: "tool-calls", raw: null }, usage },
    ]);
    const message = await sdkFinalMessage(text);
    assert.deepEqual(message.content.map(essentials), [
      { type: "text", text: "a" },
      { type: "tool_use", id: "call_1", name: "f", input: {} },
    ]);
  });

  it("another provider's reasoning is shown as thinking without its opaque data; Anthropic's is kept", async () => {
    const text = render([
      { type: "start", id: "x", model: "m" },
      { type: "reasoning-start", block: 0 },
      { type: "reasoning-delta", block: 0, text: "Thinking about it" },
      {
        type: "reasoning-opaque",
        block: 0,
        opaque: { dialect: "openai-responses", kind: "encrypted", value: "gAAAA-secret" },
      },
      { type: "block-end", block: 0 },
      { type: "reasoning-start", block: 1 },
      { type: "reasoning-opaque", block: 1, opaque: { dialect: "gemini", kind: "signature", value: "gemini-sig" } },
      { type: "block-end", block: 1 },
      { type: "reasoning-start", block: 2 },
      { type: "reasoning-delta", block: 2, text: "mine" },
      { type: "reasoning-opaque", block: 2, opaque: { dialect: "anthropic", kind: "signature", value: "EqSig" } },
      { type: "block-end", block: 2 },
      { type: "reasoning-start", block: 3 },
      { type: "reasoning-opaque", block: 3, opaque: { dialect: "anthropic", kind: "redacted", value: "REDACTED" } },
      { type: "block-end", block: 3 },
      { type: "text-start", block: 4 },
      { type: "block-end", block: 4 },
      { type: "finish", stop: { unified: "end", raw: null }, usage },
    ]);
    assert.ok(!text.includes("gAAAA-secret") && !text.includes("gemini-sig"));
    const message = await sdkFinalMessage(text);
    // The Gemini-only reasoning block and the empty text block leave nothing to show: no block at all.
    assert.deepEqual(message.content.map(essentials), [
      { type: "thinking", thinking: "Thinking about it", signature: "" },
      { type: "thinking", thinking: "mine", signature: "EqSig" },
      { type: "redacted_thinking", data: "REDACTED" },
    ]);
  });

  it("an error event becomes `event: error` in Anthropic's shape, which the SDK throws as an APIError", async () => {
    const text = render([
      { type: "start", id: "x", model: "m" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "partial" },
      { type: "error", error: { type: "upstream_timeout", message: "idle too long" } },
      { type: "text-delta", block: 0, text: "ignored" },
    ]);
    const events = namedEvents(text);
    assert.deepEqual(events.at(-1), {
      event: "error",
      data: { type: "error", error: { type: "timeout_error", message: "idle too long" } },
    });
    await assert.rejects(sdkFinalMessage(text), (err: Error & { type?: string }) => {
      assert.equal(err.type, "timeout_error");
      return true;
    });
  });

  it("a canonical stream that stops without finish or error ends with an api_error event", async () => {
    const text = render([
      { type: "start", id: "x", model: "m" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "cut" },
    ]);
    assert.deepEqual(namedEvents(text).at(-1)?.data, {
      type: "error",
      error: { type: "api_error", message: "The response stream ended before it was complete." },
    });
    await assert.rejects(sdkFinalMessage(text));
  });

  it("finish with no start event and no blocks still gives a complete message", async () => {
    const text = render([{ type: "finish", stop: { unified: "content-filter", raw: "SAFETY" }, usage }]);
    const message = await sdkFinalMessage(text);
    assert.equal(message.stop_reason, "refusal");
    assert.deepEqual(message.content, []);
  });

  it("maps error types: Anthropic's pass, Tollgate kinds and known foreign codes map, others are api_error", () => {
    assert.equal(anthropicErrorTypeOf("overloaded_error"), "overloaded_error");
    assert.equal(anthropicErrorTypeOf("billing_error"), "billing_error");
    assert.equal(anthropicErrorTypeOf("rate_limited"), "rate_limit_error");
    assert.equal(anthropicErrorTypeOf("upstream_error"), "api_error");
    assert.equal(anthropicErrorTypeOf("upstream_unavailable"), "overloaded_error");
    assert.equal(anthropicErrorTypeOf("RESOURCE_EXHAUSTED"), "rate_limit_error");
    assert.equal(anthropicErrorTypeOf("insufficient_quota"), "billing_error");
    assert.equal(anthropicErrorTypeOf("something_else"), "api_error");
    assert.equal(anthropicErrorTypeOf("toString"), "api_error");
  });

  it("is a pure reducer: stepping the same state twice gives the same result", () => {
    const mapper = anthropicCanonicalToStream("m");
    const events: CanonicalStreamEvent[] = [
      { type: "start", id: "x", model: "m" },
      { type: "tool-call-start", block: 0, id: "a", name: "f" },
      { type: "tool-call-start", block: 1, id: "b", name: "g" },
      { type: "tool-call-delta", block: 1, argumentsDelta: "{}" },
      { type: "block-end", block: 0 },
      { type: "block-end", block: 1 },
      { type: "finish", stop: { unified: "tool-calls", raw: null }, usage },
    ];
    let state = mapper.initial();
    for (const event of events) {
      const a = mapper.step(state, event);
      const b = mapper.step(state, event);
      assert.deepEqual(a, b);
      state = a.state;
    }
  });
});
