import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAnthropicStreamMeter, meterAnthropicBody } from "../../src/dialects/anthropic/index.ts";
import type { StreamMetering } from "../../src/dialects/dialect.ts";
import {
  assertMeteredAllWays,
  buildWire,
  fixtureJson,
  fixtureLines,
  LINE_ENDINGS,
  runMeter,
  usage,
} from "./helpers.ts";

function done(
  servedModel: string,
  u: ReturnType<typeof usage>,
  stopReason: string,
  contentStarted = true,
): StreamMetering {
  return { usage: u, servedModel, estimated: false, finished: true, contentStarted, error: null, stopReason };
}

const SONNET_45 = "claude-sonnet-4-5-20250929";

/** Expected numbers read from each fixture's message_start / message_delta lines. */
const STREAMS: [string, StreamMetering][] = [
  ["anthropic-text.chunks.txt", done(SONNET_45, usage(12, 0, 0, 0, 30, 0), "end_turn")],
  ["anthropic-clear-thinking.1.chunks.txt", done(SONNET_45, usage(69, 0, 0, 0, 53, 0), "end_turn")],
  // message_start: input 2, cache_creation 3068 (all 5m). message_delta (cumulative, after server-tool turns):
  // input 6, cache_creation 3337 (no split: the extra is 5m), cache_read 6289, output 198, thinking 0.
  [
    "anthropic-code-execution-20260120-prompt-cache.1.chunks.txt",
    done("claude-sonnet-5", usage(6, 6289, 3337, 0, 198, 0), "end_turn"),
  ],
  ["anthropic-issue-11719-quoted-tool-input.chunks.txt", done(SONNET_45, usage(912, 0, 0, 0, 118, 0), "tool_use")],
  ["anthropic-json-tool.1.chunks.txt", done("claude-haiku-4-5-20251001", usage(849, 0, 0, 0, 47, 0), "tool_use")],
  // message_start says input 43, message_delta says 61: the later value wins.
  [
    "anthropic-message-delta-input-tokens.chunks.txt",
    done("claude-opus-4-5-20251101", usage(61, 0, 0, 0, 2, 0), "end_turn"),
  ],
  // No content block at all: nothing was generated before the refusal.
  ["anthropic-refusal.chunks.txt", done("claude-fable-5", usage(18, 0, 0, 0, 5, 0), "refusal", false)],
  ["anthropic-tool-no-args.chunks.txt", done(SONNET_45, usage(565, 0, 0, 0, 48, 0), "tool_use")],
  ["issue-10781.1.chunks.txt", done(SONNET_45, usage(624, 0, 0, 0, 59, 0), "tool_use")],
];

describe("Anthropic stream meter: recorded streams", () => {
  for (const [file, expected] of STREAMS) {
    it(`${file}: exact usage, model, stop reason, however the bytes are split`, () => {
      const lines = fixtureLines(`anthropic/${file}`);
      for (const eol of LINE_ENDINGS) {
        assertMeteredAllWays(createAnthropicStreamMeter, buildWire(lines, { named: true, done: false, eol }), expected);
      }
    });
  }

  it("meters a stream without event: lines by the data's type", () => {
    const lines = fixtureLines("anthropic/anthropic-code-execution-20260120-prompt-cache.1.chunks.txt");
    const result = runMeter(createAnthropicStreamMeter(), [
      new TextEncoder().encode(buildWire(lines, { named: false, done: false })),
    ]);
    assert.deepEqual(result.usage, usage(6, 6289, 3337, 0, 198, 0));
    assert.equal(result.finished, true);
  });
});

/** Characters of text+tool args and of thinking in the deltas of `lines`, computed by parsing (the oracle). */
function deltaChars(lines: string[]): { out: number; thinking: number } {
  let out = 0;
  let thinking = 0;
  for (const line of lines) {
    const event = JSON.parse(line) as { type: string; delta?: Record<string, string> };
    if (event.type !== "content_block_delta" || event.delta === undefined) continue;
    out += (event.delta.text ?? "").length + (event.delta.partial_json ?? "").length;
    thinking += (event.delta.thinking ?? "").length;
  }
  return { out, thinking };
}

function meterWire(wire: string): StreamMetering {
  return runMeter(createAnthropicStreamMeter(), [new TextEncoder().encode(wire)]);
}

describe("Anthropic stream meter: streams cut short", () => {
  it("keeps message_start's input and estimates output from the text seen (cut before message_delta)", () => {
    const lines = fixtureLines("anthropic/anthropic-text.chunks.txt");
    const cut = lines.slice(
      0,
      lines.findIndex((l) => l.includes('"message_delta"')),
    );
    const { out } = deltaChars(cut);
    assert.equal(out, 108);
    const result = meterWire(buildWire(cut, { named: true, done: false }));
    assert.deepEqual(result, {
      usage: usage(12, 0, 0, 0, Math.ceil(108 / 4), 0),
      servedModel: SONNET_45,
      estimated: true,
      finished: false,
      contentStarted: true,
      error: null,
      stopReason: null,
    });
  });

  it("estimates thinking as reasoning, part of output", () => {
    const lines = fixtureLines("anthropic/anthropic-clear-thinking.1.chunks.txt");
    const cut = lines.slice(
      0,
      lines.findIndex((l) => l.includes('"message_delta"')),
    );
    const { out, thinking } = deltaChars(cut);
    const result = meterWire(buildWire(cut, { named: true, done: false }));
    const reasoning = Math.ceil(thinking / 4);
    assert.deepEqual(result.usage, usage(69, 0, 0, 0, Math.ceil(out / 4) + reasoning, reasoning));
    assert.equal(result.estimated, true);
  });

  it("keeps message_start's cache numbers when the stream dies before message_delta", () => {
    const lines = fixtureLines("anthropic/anthropic-code-execution-20260120-prompt-cache.1.chunks.txt");
    const result = meterWire(buildWire(lines.slice(0, 10), { named: true, done: false }));
    assert.equal(result.usage.input, 2);
    assert.equal(result.usage.cacheWrite5m, 3068);
    // message_start already reported 69 output tokens; the estimate never goes below what the API said.
    assert.ok(result.usage.output >= 69);
    assert.equal(result.estimated, true);
  });

  it("is estimated and unfinished at every event boundary before message_delta, and exact after it", () => {
    for (const [file, expected] of STREAMS) {
      const lines = fixtureLines(`anthropic/${file}`);
      const deltaAt = lines.findIndex((l) => l.includes('"message_delta"'));
      for (let k = 1; k <= lines.length; k++) {
        const result = meterWire(buildWire(lines.slice(0, k), { named: true, done: false }));
        const { out, thinking } = deltaChars(lines.slice(0, k));
        if (k <= deltaAt) {
          assert.equal(result.estimated, true, `${file} cut at ${k}`);
          assert.equal(result.finished, false);
          assert.ok(result.usage.output >= Math.ceil(out / 4) + Math.ceil(thinking / 4), `${file} cut at ${k}`);
        } else {
          assert.deepEqual(result.usage, expected.usage, `${file} cut at ${k}`);
          assert.equal(result.estimated, false);
          assert.equal(result.finished, k === lines.length);
        }
      }
    }
  });

  it("ignores an event cut in the middle of its data (message_delta, message_stop)", () => {
    const wire = buildWire(fixtureLines("anthropic/anthropic-text.chunks.txt"), { named: true, done: false });
    const inDelta = wire.indexOf('"output_tokens":30');
    const cutInDelta = meterWire(wire.slice(0, inDelta));
    assert.equal(cutInDelta.estimated, true);
    assert.equal(cutInDelta.stopReason, null);
    const inStop = wire.lastIndexOf('message_stop"}');
    const cutInStop = meterWire(wire.slice(0, inStop));
    assert.equal(cutInStop.finished, false);
    assert.equal(cutInStop.estimated, false);
    // The same event, whole but without its closing blank line, does count.
    const unterminated = meterWire(wire.trimEnd());
    assert.equal(unterminated.finished, true);
  });
});

describe("Anthropic stream meter: errors and edge cases", () => {
  it("reports an in-stream error event and estimates what was streamed before it", () => {
    const lines = fixtureLines("anthropic/anthropic-text.chunks.txt").slice(0, 5);
    const wire = `${buildWire(lines, { named: true, done: false })}event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`;
    const result = meterWire(wire);
    assert.deepEqual(result.error, { type: "overloaded_error", message: "Overloaded" });
    assert.equal(result.finished, false);
    assert.equal(result.estimated, true);
    assert.equal(result.usage.input, 12);
  });

  it("splits cache writes by TTL and counts a later, larger total as extra 5-minute writes", () => {
    const start = {
      type: "message_start",
      message: {
        model: "claude-x",
        usage: {
          input_tokens: 5,
          cache_creation_input_tokens: 300,
          cache_read_input_tokens: 7,
          cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
          output_tokens: 1,
        },
      },
    };
    const delta = {
      type: "message_delta",
      delta: { stop_reason: "end_turn" },
      usage: { cache_creation_input_tokens: 350, output_tokens: 40, output_tokens_details: { thinking_tokens: 12 } },
    };
    const wire = buildWire([JSON.stringify(start)], { named: true, done: false });
    assert.deepEqual(meterWire(wire).usage, usage(5, 7, 100, 200, 1, 0));
    const full = buildWire([JSON.stringify(start), JSON.stringify(delta), '{"type":"message_stop"}'], {
      named: true,
      done: false,
    });
    assert.deepEqual(meterWire(full).usage, usage(5, 7, 150, 200, 40, 12));
  });

  it("counts escaped and non-ASCII delta text exactly like JSON.parse", () => {
    const texts = ['a "quoted" \\ back\\slash', "tab\t newline\n unicode \u00f7 \ud83d\ude00", "\\u0041 literal"];
    const lines = [
      '{"type":"message_start","message":{"model":"m","usage":{"input_tokens":1,"output_tokens":1}}}',
      ...texts.map((text) =>
        JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }),
      ),
    ];
    const chars = texts.reduce((n, t) => n + t.length, 0);
    for (const shortcuts of [true, false]) {
      const meter = createAnthropicStreamMeter({ shortcuts });
      const result = runMeter(meter, [new TextEncoder().encode(buildWire(lines, { named: true, done: false }))]);
      assert.equal(result.usage.output, Math.ceil(chars / 4), `shortcuts ${shortcuts}`);
    }
  });

  it("does not count server-tool results (not model output) but counts the model's tool input", () => {
    const lines = fixtureLines("anthropic/anthropic-code-execution-20260120-prompt-cache.1.chunks.txt");
    const cut = lines.slice(
      0,
      lines.findIndex((l) => l.includes('"message_delta"')),
    );
    const { out } = deltaChars(cut);
    const result = meterWire(buildWire(cut, { named: true, done: false }));
    assert.equal(result.usage.output, Math.max(69, Math.ceil(out / 4)));
  });

  it("result() can be read mid-stream and keeps growing", () => {
    const meter = createAnthropicStreamMeter();
    const lines = fixtureLines("anthropic/anthropic-text.chunks.txt");
    meter.push(new TextEncoder().encode(buildWire(lines.slice(0, 1), { named: true, done: false })));
    assert.equal(meter.result().contentStarted, false);
    assert.equal(meter.result().usage.input, 12);
    meter.push(new TextEncoder().encode(buildWire(lines.slice(1, 4), { named: true, done: false })));
    assert.equal(meter.result().contentStarted, true);
  });
});

describe("Anthropic meterBody", () => {
  it("anthropic-text.json", () => {
    assert.deepEqual(meterAnthropicBody(fixtureJson("anthropic/anthropic-text.json")), {
      usage: usage(12, 0, 0, 0, 29, 0),
      servedModel: SONNET_45,
      estimated: false,
    });
  });

  it("anthropic-issue-10372-tool-call.json", () => {
    assert.deepEqual(meterAnthropicBody(fixtureJson("anthropic/anthropic-issue-10372-tool-call.json")), {
      usage: usage(822, 0, 0, 0, 33, 0),
      servedModel: SONNET_45,
      estimated: false,
    });
  });

  it("issue-13430-thinking-tool-call.json: thinking_tokens is the reasoning part of output", () => {
    assert.deepEqual(meterAnthropicBody(fixtureJson("anthropic/issue-13430-thinking-tool-call.json")), {
      usage: usage(619, 0, 0, 0, 94, 53),
      servedModel: SONNET_45,
      estimated: false,
    });
  });

  it("anthropic-refusal.json", () => {
    assert.deepEqual(meterAnthropicBody(fixtureJson("anthropic/anthropic-refusal.json")), {
      usage: usage(18, 0, 0, 0, 5, 0),
      servedModel: "claude-fable-5",
      estimated: false,
    });
  });

  it("issue-14707 (wrapper: calls[0].response.body)", () => {
    const wrapper = fixtureJson("anthropic/issue-14707-claude-opus-4-7-temperature-live.json") as {
      calls: { response: { body: unknown } }[];
    };
    assert.deepEqual(meterAnthropicBody(wrapper.calls[0]?.response.body), {
      usage: usage(21, 0, 0, 0, 5, 0),
      servedModel: "claude-opus-4-7",
      estimated: false,
    });
  });

  for (const file of ["anthropic-issue-17366-error.json", "anthropic-root-union-tool-schema-error.json"]) {
    it(`${file}: an error body costs nothing`, () => {
      assert.deepEqual(meterAnthropicBody(fixtureJson(`anthropic/${file}`)), {
        usage: usage(0, 0, 0, 0, 0, 0),
        servedModel: null,
        estimated: false,
      });
    });
  }

  it("estimates output from the content when a message has no usage", () => {
    const body = {
      type: "message",
      model: "m",
      content: [
        { type: "thinking", thinking: "12345678" },
        { type: "text", text: "abcdefgh" },
        { type: "tool_use", id: "t", name: "n", input: { a: 1 } },
      ],
    };
    assert.deepEqual(meterAnthropicBody(body), {
      usage: usage(0, 0, 0, 0, Math.ceil((8 + '{"a":1}'.length) / 4) + 2, 2),
      servedModel: "m",
      estimated: true,
    });
  });
});
