import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GoogleGenAI } from "@google/genai";
import type { CanonicalStreamEvent } from "../../../src/translate/canonical.ts";
import { canonicalToGeminiStream } from "../../../src/translate/gemini/canonical-to-stream.ts";
import { geminiStreamToCanonical } from "../../../src/translate/gemini/stream-to-canonical.ts";
import { collect, fixtureLines, geminiWire, runMapper, sseEvents, startSseServer } from "./helpers.ts";

const USAGE = { input: 10, cacheRead: 90, cacheWrite5m: 5, cacheWrite1h: 0, output: 40, reasoning: 15 };

/** What an Anthropic upstream's stream looks like canonically: thinking, text, a call with fragmented args. */
const FOREIGN: CanonicalStreamEvent[] = [
  { type: "start", id: "msg_01", model: "claude-x" },
  { type: "reasoning-start", block: 0 },
  { type: "reasoning-delta", block: 0, text: "Thinking about it." },
  { type: "reasoning-opaque", block: 0, opaque: { dialect: "anthropic", kind: "signature", value: "ANTHROPIC-SIG" } },
  { type: "block-end", block: 0 },
  { type: "text-start", block: 1 },
  { type: "text-delta", block: 1, text: "Let me " },
  { type: "text-delta", block: 1, text: "check." },
  { type: "block-end", block: 1 },
  { type: "tool-call-start", block: 2, id: "toolu_01", name: "get_weather" },
  { type: "tool-call-delta", block: 2, argumentsDelta: '{"city":' },
  { type: "usage", usage: { input: 10, cacheRead: 90 } },
  { type: "tool-call-delta", block: 2, argumentsDelta: '"Paris"}' },
  { type: "block-end", block: 2 },
  { type: "finish", stop: { unified: "tool-calls", raw: "tool_use" }, usage: USAGE },
];

function render(events: CanonicalStreamEvent[], model = "claude-x"): string {
  return runMapper(canonicalToGeminiStream(model), events).join("");
}

function chunksOf(wire: string): Record<string, unknown>[] {
  return sseEvents(wire).map((e) => JSON.parse(e.data) as Record<string, unknown>);
}

describe("canonical → gemini stream: wire", () => {
  it("CRLF-framed data chunks: text deltas, the call whole on block-end, the last chunk with finish and usage", () => {
    const wire = render(FOREIGN);
    assert.ok(wire.startsWith("data: {"));
    assert.equal(wire.split("\r\n\r\n").length - 1, sseEvents(wire).length, "every chunk ends in CRLF CRLF");
    assert.ok(!wire.includes("ANTHROPIC-SIG"), "another provider's signature never reaches a Gemini client");
    const chunks = chunksOf(wire);
    const parts = chunks.map(
      (c) => (c as { candidates: { content: { parts: unknown[] } }[] }).candidates[0]?.content.parts,
    );
    assert.deepEqual(parts, [
      [{ text: "Thinking about it.", thought: true }],
      [{ text: "Let me " }],
      [{ text: "check." }],
      [{ functionCall: { id: "toolu_01", name: "get_weather", args: { city: "Paris" } } }],
      [{ text: "" }],
    ]);
    const last = chunks.at(-1) as {
      candidates: { finishReason: string }[];
      usageMetadata: unknown;
      modelVersion: string;
    };
    assert.equal(last.candidates[0]?.finishReason, "STOP");
    assert.equal(last.modelVersion, "claude-x");
    assert.deepEqual(last.usageMetadata, {
      promptTokenCount: 105,
      cachedContentTokenCount: 90,
      candidatesTokenCount: 25,
      thoughtsTokenCount: 15,
      totalTokenCount: 145,
    });
    // The running usage shows from the chunk after the usage event (the function call) on.
    assert.equal(chunks[2]?.usageMetadata, undefined);
    assert.deepEqual(chunks[3]?.usageMetadata, {
      promptTokenCount: 100,
      cachedContentTokenCount: 90,
      candidatesTokenCount: 0,
      totalTokenCount: 100,
    });
    assert.equal(chunks[0]?.responseId, "msg_01");
  });

  it("a Gemini signature rides on the next part; one left at the end goes on the final empty text", () => {
    const events: CanonicalStreamEvent[] = [
      { type: "start", id: "r", model: "m" },
      { type: "reasoning-start", block: 0 },
      { type: "reasoning-opaque", block: 0, opaque: { dialect: "gemini", kind: "signature", value: "S1" } },
      { type: "block-end", block: 0 },
      { type: "tool-call-start", block: 1, id: "call_0", name: "f" },
      { type: "tool-call-delta", block: 1, argumentsDelta: "{}" },
      { type: "block-end", block: 1 },
      { type: "reasoning-start", block: 2 },
      { type: "reasoning-opaque", block: 2, opaque: { dialect: "gemini", kind: "signature", value: "S2" } },
      { type: "block-end", block: 2 },
      { type: "finish", stop: { unified: "tool-calls", raw: "STOP" }, usage: USAGE },
    ];
    const parts = chunksOf(render(events)).map(
      (c) => (c as { candidates: { content: { parts: unknown[] } }[] }).candidates[0]?.content.parts,
    );
    assert.deepEqual(parts, [
      [{ functionCall: { id: "call_0", name: "f", args: {} }, thoughtSignature: "S1" }],
      [{ text: "", thoughtSignature: "S2" }],
    ]);
  });

  it("stop reasons: max-tokens → MAX_TOKENS, content-filter → SAFETY, pause/other → OTHER", () => {
    const cases: [CanonicalStreamEvent & { type: "finish" }, string][] = [
      [{ type: "finish", stop: { unified: "max-tokens", raw: "length" }, usage: USAGE }, "MAX_TOKENS"],
      [{ type: "finish", stop: { unified: "content-filter", raw: "refusal" }, usage: USAGE }, "SAFETY"],
      [{ type: "finish", stop: { unified: "pause", raw: "pause_turn" }, usage: USAGE }, "OTHER"],
      [{ type: "finish", stop: { unified: "other", raw: null }, usage: USAGE }, "OTHER"],
    ];
    for (const [finish, expected] of cases) {
      const last = chunksOf(render([{ type: "start", id: "", model: "" }, finish])).at(-1) as {
        candidates: { finishReason: string }[];
      };
      assert.equal(last.candidates[0]?.finishReason, expected);
    }
  });

  it("an error event becomes Gemini's error chunk, with a status from the error's type; nothing after it", () => {
    const wire = render([
      { type: "start", id: "", model: "" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "par" },
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      { type: "text-delta", block: 0, text: "ignored" },
    ]);
    const chunks = chunksOf(wire);
    assert.equal(chunks.length, 2);
    assert.deepEqual(chunks[1], { error: { code: 503, message: "Overloaded", status: "UNAVAILABLE" } });
  });

  it("input that ends without finish still ends the client's stream, with an error chunk", () => {
    const chunks = chunksOf(
      render([
        { type: "start", id: "", model: "" },
        { type: "tool-call-start", block: 0, id: "c", name: "f" },
        { type: "tool-call-delta", block: 0, argumentsDelta: '{"a"' },
      ]),
    );
    assert.equal(chunks.length, 1, "the unfinished call is not sent");
    const err = chunks[0] as { error: { status: string; code: number } };
    assert.equal(err.error.status, "UNAVAILABLE");
    assert.equal(err.error.code, 502);
  });

  it("round trip: a recorded Gemini stream → canonical → Gemini → canonical keeps parts, stop and usage", () => {
    for (const name of [
      "google-text.chunks.txt",
      "issue-10781.1.chunks.txt",
      "google-stream-tool-call-arguments.chunks.txt",
    ]) {
      const first = runMapper(geminiStreamToCanonical(), sseEvents(geminiWire(fixtureLines(`google/${name}`))));
      const wire = render(first, "gemini-3-pro-preview");
      const second = collect(runMapper(geminiStreamToCanonical(), sseEvents(wire)));
      const original = collect(first);
      assert.deepEqual(second.parts, original.parts, name);
      assert.deepEqual(second.finish, original.finish, name);
    }
  });
});

describe("canonical → gemini stream: read by @google/genai", () => {
  let body = "";
  let server: Awaited<ReturnType<typeof startSseServer>>;
  before(async () => {
    server = await startSseServer(() => body);
  });
  after(async () => {
    await server.close();
  });

  function client(): GoogleGenAI {
    return new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url, retryOptions: { attempts: 1 } } });
  }

  it("generateContentStream yields the text, the function call with its arguments, the finish reason and usage", async () => {
    body = render(FOREIGN);
    const stream = await client().models.generateContentStream({ model: "claude-x", contents: "hi" });
    let text = "";
    let thoughts = "";
    const calls: unknown[] = [];
    let finishReason: string | undefined;
    let usage: unknown;
    for await (const chunk of stream) {
      for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
        if (part.thought === true) thoughts += part.text ?? "";
        else if (part.text !== undefined) text += part.text;
      }
      calls.push(...(chunk.functionCalls ?? []));
      finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
      usage = chunk.usageMetadata ?? usage;
    }
    assert.equal(text, "Let me check.");
    assert.equal(thoughts, "Thinking about it.");
    assert.deepEqual(calls, [{ id: "toolu_01", name: "get_weather", args: { city: "Paris" } }]);
    assert.equal(finishReason, "STOP");
    assert.deepEqual(usage, {
      promptTokenCount: 105,
      cachedContentTokenCount: 90,
      candidatesTokenCount: 25,
      thoughtsTokenCount: 15,
      totalTokenCount: 145,
    });
  });

  it("an error mid-stream makes the SDK's stream throw with the message", async () => {
    body = render([
      { type: "start", id: "", model: "" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "partial" },
      { type: "error", error: { type: "rate_limit_error", message: "Rate limited upstream" } },
    ]);
    const stream = await client().models.generateContentStream({ model: "m", contents: "hi" });
    await assert.rejects(async () => {
      for await (const _ of stream) {
        // drain
      }
    }, /Rate limited upstream/);
  });
});
