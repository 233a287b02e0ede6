import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createGeminiStreamMeter } from "../../../src/dialects/gemini/index.ts";
import type { CanonicalStreamEvent, SseEvent } from "../../../src/translate/canonical.ts";
import { geminiStreamToCanonical } from "../../../src/translate/gemini/stream-to-canonical.ts";
import { collect, fixtureLines, geminiWire, runMapper, sseEvents } from "./helpers.ts";

function replayWire(wire: string): CanonicalStreamEvent[] {
  return runMapper(geminiStreamToCanonical(), sseEvents(wire));
}

function replayFixture(name: string) {
  const wire = geminiWire(fixtureLines(`google/${name}`));
  const meter = createGeminiStreamMeter();
  meter.push(new TextEncoder().encode(wire));
  meter.end();
  return { collected: collect(replayWire(wire)), metered: meter.result() };
}

/** One GenerateContentResponse chunk; `candidate` adds fields to the candidate (finishReason). */
function chunk(parts: unknown[], candidate: Record<string, unknown> = {}): string {
  return JSON.stringify({ candidates: [{ content: { role: "model", parts }, index: 0, ...candidate }] });
}

function wireOf(chunks: string[]): string {
  return geminiWire(chunks);
}

const SIGNATURE = { dialect: "gemini", kind: "signature" } as const;

describe("gemini stream → canonical: recorded streams", () => {
  it("google-text: text deltas joined, the final empty part's signature kept, STOP → end, usage as the meter", () => {
    const { collected: c, metered } = replayFixture("google-text.chunks.txt");
    assert.deepEqual(c.start, { id: "bH6LaZW8Fp_3nsEPqtaSwQ4", model: "gemini-3-pro-preview" });
    assert.equal(c.parts.length, 2);
    assert.deepEqual(c.parts[0], { type: "text", text: 'There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y' });
    const sig = c.parts[1];
    assert.ok(sig?.type === "reasoning" && sig.text === "" && sig.opaque?.dialect === "gemini");
    assert.match(sig.opaque.value, /^EqsFCqgFAb4/);
    assert.deepEqual(c.finish?.stop, { unified: "end", raw: "STOP" });
    assert.deepEqual(c.finish?.usage, metered.usage);
    assert.deepEqual(c.finish?.usage, {
      input: 9,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      output: 208,
      reasoning: 185,
    });
    // Running usage: the output grows from 5+185 to 23+185, and the last value equals the final usage.
    assert.deepEqual(
      c.usages.map((u) => u.output),
      [190, 208],
    );
  });

  it("google-reasoning: thinking tokens in usage, signature after the text", () => {
    const { collected: c, metered } = replayFixture("google-reasoning.chunks.txt");
    assert.equal(c.parts[0]?.type, "text");
    assert.equal(c.parts[1]?.type, "reasoning");
    assert.deepEqual(c.finish?.usage, metered.usage);
    assert.equal(c.finish?.usage.reasoning, 256);
  });

  it("google-tool-call: a whole functionCall without id gets call_0; STOP with calls → tool-calls", () => {
    const { collected: c, metered } = replayFixture("google-tool-call.chunks.txt");
    assert.equal(c.parts.length, 2);
    const [sig, call] = c.parts;
    assert.ok(sig?.type === "reasoning" && sig.opaque !== null);
    assert.deepEqual({ ...sig.opaque, value: "" }, { ...SIGNATURE, value: "" });
    assert.deepEqual(call, {
      type: "tool-call",
      id: "call_0",
      name: "weather",
      arguments: '{"location":"San Francisco"}',
    });
    assert.deepEqual(c.finish?.stop, { unified: "tool-calls", raw: "STOP" });
    assert.deepEqual(c.finish?.usage, metered.usage);
  });

  it("issue-10781: text, then a call with Gemini's own id (kept)", () => {
    const { collected: c, metered } = replayFixture("issue-10781.1.chunks.txt");
    assert.deepEqual(
      c.parts.map((p) => p.type),
      ["text", "reasoning", "tool-call"],
    );
    assert.deepEqual(c.parts[0], { type: "text", text: "Let me check." });
    assert.deepEqual(c.parts[2], {
      type: "tool-call",
      id: "0yhdfgfy",
      name: "get_weather",
      arguments: '{"city":"San Francisco"}',
    });
    assert.deepEqual(c.finish?.stop, { unified: "tool-calls", raw: "STOP" });
    assert.deepEqual(c.finish?.usage, metered.usage);
  });

  it("Vertex partialArgs: two calls rebuilt from JSON-path pieces, ids call_0 and call_1", () => {
    const { collected: c, metered } = replayFixture("google-stream-tool-call-arguments.chunks.txt");
    const calls = c.parts.filter((p) => p.type === "tool-call");
    assert.deepEqual(calls, [
      { type: "tool-call", id: "call_0", name: "getWeather", arguments: '{"location":"Boston"}' },
      { type: "tool-call", id: "call_1", name: "getWeather", arguments: '{"location":"San Francisco"}' },
    ]);
    assert.equal(c.parts[0]?.type, "reasoning", "the first call's signature comes before it");
    assert.deepEqual(c.finish?.stop, { unified: "tool-calls", raw: "STOP" });
    assert.deepEqual(c.finish?.usage, metered.usage);
    assert.equal(c.usages.length, 1, "usage only in the last chunk");
  });

  it("a blocked prompt: no parts, content-filter with the block reason", () => {
    const { collected: c, metered } = replayFixture("issue-19758-prompt-block.chunks.txt");
    assert.deepEqual(c.parts, []);
    assert.deepEqual(c.finish?.stop, { unified: "content-filter", raw: "PROHIBITED_CONTENT" });
    assert.deepEqual(c.finish?.usage, metered.usage);
    assert.equal(c.finish?.usage.input, 9);
  });
});

describe("gemini stream → canonical: shapes", () => {
  it("thought parts are one reasoning block; a signature on a text part is its own block before the text", () => {
    const c = collect(
      replayWire(
        wireOf([
          chunk([{ text: "Let me ", thought: true }]),
          chunk([{ text: "think.", thought: true }]),
          chunk([{ text: "Answer", thoughtSignature: "SIG" }]),
          chunk([{ text: "." }], { finishReason: "STOP" }),
        ]),
      ),
    );
    assert.deepEqual(c.parts, [
      { type: "reasoning", text: "Let me think.", opaque: null },
      { type: "reasoning", text: "", opaque: { ...SIGNATURE, value: "SIG" } },
      { type: "text", text: "Answer." },
    ]);
  });

  it("a signed thought keeps its signature on its own block", () => {
    const c = collect(
      replayWire(
        wireOf([
          chunk([{ text: "hmm", thought: true, thoughtSignature: "T" }, { text: "ok" }], { finishReason: "STOP" }),
        ]),
      ),
    );
    assert.deepEqual(c.parts, [
      { type: "reasoning", text: "hmm", opaque: { ...SIGNATURE, value: "T" } },
      { type: "text", text: "ok" },
    ]);
  });

  it("parallel calls in one chunk: ids by position, a call with its own id keeps it", () => {
    const c = collect(
      replayWire(
        wireOf([
          chunk(
            [
              { functionCall: { name: "a", args: { x: 1 } }, thoughtSignature: "S" },
              { functionCall: { name: "b", args: {}, id: "own" } },
              { functionCall: { name: "c" } },
            ],
            { finishReason: "STOP" },
          ),
        ]),
      ),
    );
    assert.deepEqual(
      c.parts.filter((p) => p.type === "tool-call"),
      [
        { type: "tool-call", id: "call_0", name: "a", arguments: '{"x":1}' },
        { type: "tool-call", id: "own", name: "b", arguments: "{}" },
        { type: "tool-call", id: "call_2", name: "c", arguments: "{}" },
      ],
    );
  });

  it("a signature on a later piece of a streamed call does not cut the call's arguments", () => {
    const c = collect(
      replayWire(
        wireOf([
          chunk([{ functionCall: { name: "f", willContinue: true } }]),
          chunk([
            {
              functionCall: {
                partialArgs: [{ jsonPath: "$.q", stringValue: "a", willContinue: true }],
                willContinue: true,
              },
              thoughtSignature: "LATE",
            },
          ]),
          chunk([{ functionCall: { partialArgs: [{ jsonPath: "$.q", stringValue: "b" }] } }], { finishReason: "STOP" }),
        ]),
      ),
    );
    assert.deepEqual(c.parts, [
      { type: "tool-call", id: "call_0", name: "f", arguments: '{"q":"ab"}' },
      { type: "reasoning", text: "", opaque: { ...SIGNATURE, value: "LATE" } },
    ]);
  });

  it("finish reasons: MAX_TOKENS, SAFETY, MALFORMED_FUNCTION_CALL, an unknown one", () => {
    const cases: [string, string][] = [
      ["MAX_TOKENS", "max-tokens"],
      ["SAFETY", "content-filter"],
      ["RECITATION", "content-filter"],
      ["SPII", "content-filter"],
      ["MALFORMED_FUNCTION_CALL", "error"],
      ["SOMETHING_NEW", "other"],
    ];
    for (const [raw, unified] of cases) {
      const c = collect(replayWire(wireOf([chunk([{ text: "x" }], { finishReason: raw })])));
      assert.deepEqual(c.finish?.stop, { unified, raw }, raw);
    }
  });

  it("an error chunk ends the stream with an error event; open blocks are closed first", () => {
    const events = replayWire(
      wireOf([
        chunk([{ text: "partial" }]),
        JSON.stringify({ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }),
        chunk([{ text: "ignored" }], { finishReason: "STOP" }),
      ]),
    );
    const c = collect(events);
    assert.deepEqual(c.error, { type: "UNAVAILABLE", message: "The model is overloaded." });
    assert.deepEqual(c.parts, [{ type: "text", text: "partial" }]);
    assert.equal(events.at(-2)?.type, "block-end");
  });

  it("a stream cut before its finishReason ends with error stream_incomplete, blocks closed", () => {
    const lines = fixtureLines("google/google-text.chunks.txt").slice(0, 2);
    const events = replayWire(geminiWire(lines));
    const c = collect(events);
    assert.equal(c.finish, null);
    assert.equal(c.error?.type, "stream_incomplete");
    assert.equal(c.parts[0]?.type, "text");
    assert.deepEqual(
      events.slice(-2).map((e) => e.type),
      ["block-end", "error"],
    );
  });

  it("an empty stream is an error too (no start, no finish)", () => {
    const c = collect(replayWire(""));
    assert.equal(c.error?.type, "stream_incomplete");
  });

  it("step is pure: the same state and input give the same output, and the state is not mutated", () => {
    const mapper = geminiStreamToCanonical();
    const inputs: SseEvent[] = sseEvents(
      geminiWire(fixtureLines("google/google-stream-tool-call-arguments.chunks.txt")),
    );
    let state = mapper.initial();
    for (const input of inputs) {
      const before = structuredClone(state);
      const a = mapper.step(state, input);
      const b = mapper.step(state, input);
      assert.deepEqual(a, b);
      assert.deepEqual(state, before);
      state = a.state;
    }
  });
});
