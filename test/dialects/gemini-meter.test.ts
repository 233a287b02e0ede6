import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StreamMetering } from "../../src/dialects/dialect.ts";
import { createGeminiStreamMeter, meterGeminiBody } from "../../src/dialects/gemini/index.ts";
import {
  assertMeteredAllWays,
  buildWire,
  everyByte,
  fixtureJson,
  fixtureLines,
  LINE_ENDINGS,
  runMeter,
  usage,
} from "./helpers.ts";

function stopped(servedModel: string, u: ReturnType<typeof usage>, contentStarted = true): StreamMetering {
  return { usage: u, servedModel, estimated: false, finished: true, contentStarted, error: null, stopReason: "STOP" };
}

/** Expected numbers from each fixture's last usageMetadata: output = candidates + thoughts; reasoning = thoughts. */
const STREAMS: [string, StreamMetering][] = [
  ["google-text.chunks.txt", stopped("gemini-3-pro-preview", usage(9, 0, 0, 0, 23 + 185, 185))],
  ["google-reasoning.chunks.txt", stopped("gemini-3-pro-preview", usage(9, 0, 0, 0, 29 + 256, 256))],
  // Vertex: streamed function-call arguments; usageMetadata has only trafficType until the last chunk.
  [
    "google-stream-tool-call-arguments.chunks.txt",
    stopped("gemini-3.1-pro-preview", usage(26, 0, 0, 0, 23 + 132, 132)),
  ],
  ["google-tool-call.chunks.txt", stopped("gemini-3-pro-preview", usage(29, 0, 0, 0, 15 + 45, 45))],
  ["issue-10781.1.chunks.txt", stopped("gemini-3.1-pro-preview", usage(83, 0, 0, 0, 21 + 184, 184))],
  // A blocked prompt: no candidates; the block reason ends the response; only the prompt is counted.
  [
    "issue-19758-prompt-block.chunks.txt",
    { ...stopped("gemini-3.7-flash", usage(9, 0, 0, 0, 0, 0), false), stopReason: "PROHIBITED_CONTENT" },
  ],
];

/** The JSON array `:streamGenerateContent` sends without alt=sse; `pretty` as Google writes it (indented). */
function jsonArrayWire(lines: string[], pretty: boolean): string {
  const items = lines.map((l) => (pretty ? JSON.stringify(JSON.parse(l), null, 2) : l));
  return `[${items.join(",\r\n")}]`;
}

describe("Gemini stream meter: recorded streams", () => {
  for (const [file, expected] of STREAMS) {
    it(`${file}: SSE (\\n\\n, \\r\\n\\r\\n, \\r\\r), however the bytes are split`, () => {
      const lines = fixtureLines(`google/${file}`);
      for (const eol of LINE_ENDINGS) {
        assertMeteredAllWays(createGeminiStreamMeter, buildWire(lines, { named: false, done: false, eol }), expected);
      }
    });

    it(`${file}: as a JSON array (no alt=sse), compact and indented`, () => {
      const lines = fixtureLines(`google/${file}`);
      for (const pretty of [false, true]) {
        assertMeteredAllWays(createGeminiStreamMeter, jsonArrayWire(lines, pretty), expected);
      }
    });
  }

  it("meters a single JSON object body too", () => {
    const body = JSON.stringify(fixtureJson("google/google-text.json"), null, 2);
    const result = runMeter(createGeminiStreamMeter(), everyByte(new TextEncoder().encode(body)));
    assert.deepEqual(result, stopped("gemini-3-pro-preview", usage(9, 0, 0, 0, 28 + 244, 244)));
  });
});

function meterWire(wire: string): StreamMetering {
  return runMeter(createGeminiStreamMeter(), [new TextEncoder().encode(wire)]);
}

describe("Gemini stream meter: streams cut short", () => {
  it("keeps the latest running counts and flags the result estimated", () => {
    const lines = fixtureLines("google/google-text.chunks.txt");
    const result = meterWire(buildWire(lines.slice(0, 1), { named: false, done: false }));
    // First chunk: prompt 9, candidates 5, thoughts 185; its 15 characters of text estimate less than that.
    assert.deepEqual(result, {
      usage: usage(9, 0, 0, 0, 5 + 185, 185),
      servedModel: "gemini-3-pro-preview",
      estimated: true,
      finished: false,
      contentStarted: true,
      error: null,
      stopReason: null,
    });
  });

  it("before any counts: input 0 and output estimated from streamed call arguments", () => {
    const lines = fixtureLines("google/google-stream-tool-call-arguments.chunks.txt");
    const cut = lines.slice(0, -1);
    const argChars = "Boston".length + "San Francisco".length;
    const result = meterWire(buildWire(cut, { named: false, done: false }));
    assert.deepEqual(result.usage, usage(0, 0, 0, 0, Math.ceil(argChars / 4), 0));
    assert.equal(result.estimated, true);
    assert.equal(result.contentStarted, true);
  });

  it("a JSON array cut inside an element keeps what the complete elements said", () => {
    const wire = jsonArrayWire(fixtureLines("google/google-text.chunks.txt"), false);
    const result = meterWire(wire.slice(0, wire.lastIndexOf('"finishReason"')));
    assert.equal(result.finished, false);
    assert.equal(result.estimated, true);
    assert.deepEqual(result.usage, usage(9, 0, 0, 0, 23 + 185, 185));
  });

  it("reports an error chunk", () => {
    const lines = fixtureLines("google/google-text.chunks.txt").slice(0, 1);
    const wire = `${buildWire(lines, { named: false, done: false })}data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}\r\n\r\n`;
    const result = meterWire(wire);
    assert.deepEqual(result.error, { type: "UNAVAILABLE", message: "The model is overloaded." });
    assert.equal(result.finished, false);
  });

  it("counts thought parts as reasoning", () => {
    const chunk = {
      candidates: [{ content: { parts: [{ text: "12345678", thought: true }, { text: "abcd" }] } }],
      modelVersion: "gemini-x",
    };
    for (const shortcuts of [true, false]) {
      const meter = createGeminiStreamMeter({ shortcuts });
      const result = runMeter(meter, [
        new TextEncoder().encode(buildWire([JSON.stringify(chunk)], { named: false, done: false })),
      ]);
      assert.deepEqual(result.usage, usage(0, 0, 0, 0, 1 + 2, 2));
    }
  });
});

describe("Gemini meterBody", () => {
  const cases: [string, ReturnType<typeof usage>, string][] = [
    ["google-text.json", usage(9, 0, 0, 0, 28 + 244, 244), "gemini-3-pro-preview"],
    ["google-tool-call.json", usage(29, 0, 0, 0, 15 + 893, 893), "gemini-3-pro-preview"],
    // toolUsePromptTokenCount 89 is input on top of the 55 prompt tokens.
    ["google-tool-use-usage.json", usage(55 + 89, 0, 0, 0, 51 + 56, 56), "gemini-3.6-flash"],
    // prompt 19 includes 3 cached; tool-use prompt 63; candidates 4 + thoughts 56.
    ["issue-19822-complete-usage.json", usage(19 - 3 + 63, 3, 0, 0, 4 + 56, 56), "gemini-2.5-flash"],
    ["issue-19758-prompt-block.json", usage(9, 0, 0, 0, 0, 0), "gemini-3.7-flash"],
  ];
  for (const [file, expected, model] of cases) {
    it(file, () => {
      assert.deepEqual(meterGeminiBody(fixtureJson(`google/${file}`)), {
        usage: expected,
        servedModel: model,
        estimated: false,
      });
    });
  }

  it("google-gemini-3.7-flash-thinking-levels.json (wrapper: a success and an error)", () => {
    const wrapper = fixtureJson("google/google-gemini-3.7-flash-thinking-levels.json") as Record<
      string,
      { body: unknown }
    >;
    assert.deepEqual(meterGeminiBody(wrapper.low?.body), {
      usage: usage(2, 0, 0, 0, 9, 0),
      servedModel: "gemini-3.7-flash",
      estimated: false,
    });
    assert.deepEqual(meterGeminiBody(wrapper.minimal?.body), {
      usage: usage(0, 0, 0, 0, 0, 0),
      servedModel: null,
      estimated: false,
    });
  });

  it("google-429-retry-info.json: an error body costs nothing", () => {
    assert.deepEqual(meterGeminiBody(fixtureJson("google/google-429-retry-info.json")), {
      usage: usage(0, 0, 0, 0, 0, 0),
      servedModel: null,
      estimated: false,
    });
  });

  it("a JSON array from :streamGenerateContent: running usage, latest wins", () => {
    const array = fixtureLines("google/google-reasoning.chunks.txt").map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(meterGeminiBody(array), {
      usage: usage(9, 0, 0, 0, 29 + 256, 256),
      servedModel: "gemini-3-pro-preview",
      estimated: false,
    });
  });

  it("estimates a response without usageMetadata from its text", () => {
    const body = { candidates: [{ content: { parts: [{ text: "12345678" }] } }], modelVersion: "g" };
    assert.deepEqual(meterGeminiBody(body), { usage: usage(0, 0, 0, 0, 2, 0), servedModel: "g", estimated: true });
  });
});
