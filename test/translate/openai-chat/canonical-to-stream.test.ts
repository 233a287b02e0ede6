import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { APIError } from "openai";
import { createOpenAiChatStreamMeter, renderOpenAiChatStreamError } from "../../../src/dialects/openai-chat/index.ts";
import { convertOpenAiChatUsage } from "../../../src/dialects/openai-chat/usage.ts";
import { GatewayError } from "../../../src/errors/catalog.ts";
import type { Usage } from "../../../src/metering/usage.ts";
import type { CanonicalStreamEvent } from "../../../src/translate/canonical.ts";
import {
  createCanonicalToOpenAiChatStream,
  createOpenAiChatStreamToCanonical,
  openAiChatTranslator,
  STREAM_INCOMPLETE,
  toOpenAiChatUsage,
} from "../../../src/translate/openai-chat/index.ts";
import { buildWire, runMeter } from "../../dialects/helpers.ts";
import {
  CHAT_STREAM_FIXTURES,
  collect,
  fixtureEvents,
  fixtureLines,
  runMapper,
  sdkChunks,
  sdkFinalCompletion,
  sseEvents,
} from "./helpers.ts";

const USAGE: Usage = { input: 12, cacheRead: 100, cacheWrite5m: 8, cacheWrite1h: 0, output: 40, reasoning: 10 };

/** An Anthropic-like turn: thinking, text, then two tool calls whose argument fragments interleave. */
const TURN: CanonicalStreamEvent[] = [
  { type: "start", id: "msg_01", model: "claude-sonnet-4-5" },
  { type: "reasoning-start", block: 0 },
  { type: "reasoning-delta", block: 0, text: "Two lookups." },
  { type: "reasoning-opaque", block: 0, opaque: { dialect: "anthropic", kind: "signature", value: "SIG" } },
  { type: "block-end", block: 0 },
  { type: "text-start", block: 1 },
  { type: "text-delta", block: 1, text: "Looking " },
  { type: "text-delta", block: 1, text: "up." },
  { type: "block-end", block: 1 },
  { type: "tool-call-start", block: 2, id: "toolu_a", name: "weather" },
  { type: "tool-call-start", block: 3, id: "toolu_b", name: "time" },
  { type: "tool-call-delta", block: 2, argumentsDelta: '{"city":' },
  { type: "tool-call-delta", block: 3, argumentsDelta: '{"tz":"CET"}' },
  { type: "tool-call-delta", block: 2, argumentsDelta: '"Oslo"}' },
  { type: "block-end", block: 2 },
  { type: "block-end", block: 3 },
  { type: "usage", usage: { input: 12 } },
  { type: "finish", stop: { unified: "tool-calls", raw: "tool_use" }, usage: USAGE },
];

function toSse(events: CanonicalStreamEvent[], options = {}): string {
  return runMapper(createCanonicalToOpenAiChatStream("client-model", { created: 1700000000, ...options }), events).join(
    "",
  );
}

describe("canonical → openai-chat stream, read back by the openai SDK", () => {
  it("the SDK accumulates text and both tool calls with full arguments; finish_reason and usage are Chat's", async () => {
    const sse = toSse(TURN);
    const completion = await sdkFinalCompletion(sse);
    assert.equal(completion.id, "msg_01");
    assert.equal(completion.model, "client-model");
    const choice = completion.choices[0];
    assert.ok(choice);
    assert.equal(choice.message.content, "Looking up.");
    assert.equal(choice.finish_reason, "tool_calls");
    assert.deepEqual(
      choice.message.tool_calls?.map((call) =>
        call.type === "function" ? [call.id, call.function.name, call.function.arguments] : [],
      ),
      [
        ["toolu_a", "weather", '{"city":"Oslo"}'],
        ["toolu_b", "time", '{"tz":"CET"}'],
      ],
    );
    assert.deepEqual(completion.usage, {
      prompt_tokens: 120,
      completion_tokens: 40,
      total_tokens: 160,
      prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 8 },
      completion_tokens_details: { reasoning_tokens: 10 },
    });
    assert.doesNotMatch(sse, /SIG/);
  });

  it('wire shape: role chunk first, tool deltas keyed by index (first with id/type/name/""), usage chunk, [DONE]', async () => {
    const sse = toSse(TURN);
    assert.ok(sse.endsWith("data: [DONE]\n\n"));
    const chunks = await sdkChunks(sse);
    assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: "assistant", content: "", refusal: null });
    const deltas = chunks.map((c) => c.choices[0]?.delta);
    assert.deepEqual(deltas[1], { reasoning_content: "Two lookups." });
    assert.deepEqual(
      deltas.flatMap((d) => d?.tool_calls ?? []),
      [
        { index: 0, id: "toolu_a", type: "function", function: { name: "weather", arguments: "" } },
        { index: 1, id: "toolu_b", type: "function", function: { name: "time", arguments: "" } },
        { index: 0, function: { arguments: '{"city":' } },
        { index: 1, function: { arguments: '{"tz":"CET"}' } },
        { index: 0, function: { arguments: '"Oslo"}' } },
      ],
    );
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.deepEqual(last?.usage, toOpenAiChatUsage(USAGE));
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, "tool_calls");
    for (const chunk of chunks) {
      assert.equal(chunk.object, "chat.completion.chunk");
      assert.equal(chunk.created, 1700000000);
    }
    // The gateway's own Chat meter reads the same usage back from what the client receives.
    const metered = runMeter(createOpenAiChatStreamMeter(), [new TextEncoder().encode(sse)]);
    assert.deepEqual(metered.usage, USAGE);
    assert.equal(metered.stopReason, "tool_calls");
  });

  it("includeUsage: false leaves the usage chunk out (a client that did not ask stream_options.include_usage)", async () => {
    const chunks = await sdkChunks(toSse(TURN, { includeUsage: false }));
    assert.equal(chunks.filter((c) => c.choices.length === 0).length, 0);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "tool_calls");
  });

  it("stop reasons: end → stop, max-tokens → length, content-filter → content_filter", async () => {
    for (const [unified, expected] of [
      ["end", "stop"],
      ["max-tokens", "length"],
      ["content-filter", "content_filter"],
      ["other", "stop"],
    ] as const) {
      const chunks = await sdkChunks(
        toSse([
          { type: "start", id: "x", model: "m" },
          { type: "text-start", block: 0 },
          { type: "text-delta", block: 0, text: "hi" },
          { type: "block-end", block: 0 },
          { type: "finish", stop: { unified, raw: null }, usage: USAGE },
        ]),
      );
      assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, expected, unified);
    }
  });

  it("an upstream error becomes a data-only error chunk the SDK raises as APIError; no [DONE] after it", async () => {
    const sse = toSse([
      { type: "start", id: "x", model: "m" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "par" },
      { type: "block-end", block: 0 },
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      { type: "text-delta", block: 0, text: "ignored" },
    ]);
    assert.ok(
      sse.endsWith('data: {"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}\n\n'),
    );
    assert.doesNotMatch(sse, /\[DONE\]|ignored/);
    await assert.rejects(
      sdkChunks(sse),
      (err: unknown) => err instanceof APIError && err.message.includes("Overloaded"),
    );
  });

  it("Tollgate's own codes render exactly like the dialect's stream error; a stream without end gets one", async () => {
    const sse = toSse([
      { type: "start", id: "x", model: "m" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "cut" },
    ]);
    const message = "The upstream stream ended before the response was complete.";
    assert.ok(sse.endsWith(renderOpenAiChatStreamError(new GatewayError(STREAM_INCOMPLETE, message))));
    await assert.rejects(sdkChunks(sse), (err: unknown) => err instanceof APIError && err.message.includes(message));
  });
});

describe("recorded Chat streams through canonical and back (Chat → canonical → Chat)", () => {
  for (const file of CHAT_STREAM_FIXTURES) {
    it(`${file}: the SDK sees the same text, tool calls and usage`, async () => {
      const canonical = runMapper(createOpenAiChatStreamToCanonical(), fixtureEvents(file));
      const expected = collect(canonical);
      const sse = runMapper(openAiChatTranslator.canonicalToStream("client-model"), canonical).join("");
      const completion = await sdkFinalCompletion(sse);
      const choice = completion.choices[0];
      assert.ok(choice);
      assert.equal(choice.message.content ?? "", expected.text);
      assert.deepEqual(
        (choice.message.tool_calls ?? []).map((call) =>
          call.type === "function" ? { id: call.id, name: call.function.name, arguments: call.function.arguments } : {},
        ),
        expected.toolCalls,
      );
      const original = runMeter(createOpenAiChatStreamMeter(), [
        new TextEncoder().encode(buildWire(fixtureLines(file), { named: false, done: true })),
      ]);
      assert.equal(choice.finish_reason, original.stopReason);
      assert.ok(completion.usage);
      assert.deepEqual(convertOpenAiChatUsage({ ...completion.usage }), original.usage);
      // And the stream is itself a valid upstream stream for the canonical mapper.
      const again = collect(runMapper(createOpenAiChatStreamToCanonical(), sseEvents(sse)));
      assert.equal(again.reasoning, expected.reasoning);
      assert.deepEqual(again.usage, expected.usage);
    });
  }
});
