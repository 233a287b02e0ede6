import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAnthropicStreamMeter } from "../../../src/dialects/anthropic/index.ts";
import { anthropicStreamToCanonical } from "../../../src/translate/anthropic/stream-to-canonical.ts";
import type { CanonicalStreamEvent, SseEvent } from "../../../src/translate/canonical.ts";
import { assembleCanonical, fixtureLines, fixtureWire, runMapper, STREAM_FIXTURES, sseEvents } from "./helpers.ts";

function replay(file: string): CanonicalStreamEvent[] {
  return runMapper(anthropicStreamToCanonical, sseEvents(fixtureWire(file)));
}

/** What Tollgate's own Anthropic meter bills for the same bytes. */
function meteredUsage(file: string) {
  const meter = createAnthropicStreamMeter();
  meter.push(new TextEncoder().encode(fixtureWire(file)));
  meter.end();
  return meter.result().usage;
}

function finishOf(events: CanonicalStreamEvent[]) {
  const { terminal } = assembleCanonical(events);
  assert.equal(terminal?.type, "finish");
  return terminal;
}

describe("Anthropic stream → canonical: recorded streams", () => {
  for (const file of STREAM_FIXTURES) {
    it(`${file}: well-formed, one start, final usage equal to the meter's`, () => {
      const events = replay(file);
      const { starts } = assembleCanonical(events);
      assert.equal(starts, 1);
      assert.deepEqual(finishOf(events).usage, meteredUsage(file));
      // The running usage events end at the same totals.
      const lastUsage = events.filter((e) => e.type === "usage").at(-1);
      assert.deepEqual(lastUsage?.type === "usage" ? lastUsage.usage : null, meteredUsage(file));
    });
  }

  it("plain text: one text block, end_turn", () => {
    const events = replay("anthropic-text.chunks.txt");
    const { blocks } = assembleCanonical(events);
    assert.deepEqual(
      blocks.map((b) => [b.kind, b.text]),
      [
        [
          "text",
          "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?",
        ],
      ],
    );
    assert.deepEqual(finishOf(events).stop, { unified: "end", raw: "end_turn" });
    assert.deepEqual(events[0], {
      type: "start",
      id: "msg_01QC4g3HwBThD4BaNtBckFDJ",
      model: "claude-sonnet-4-5-20250929",
    });
  });

  it("thinking: reasoning text with Anthropic's signature as opaque, then the text (non-ASCII intact)", () => {
    const { blocks } = assembleCanonical(replay("anthropic-clear-thinking.1.chunks.txt"));
    assert.equal(blocks.length, 2);
    const [reasoning, text] = blocks;
    assert.equal(reasoning?.kind, "reasoning");
    assert.equal(reasoning?.text, "The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185");
    assert.equal(reasoning?.opaque.length, 1);
    assert.equal(reasoning?.opaque[0]?.dialect, "anthropic");
    assert.equal(reasoning?.opaque[0]?.kind, "signature");
    assert.ok(reasoning?.opaque[0]?.value.startsWith("EvQBCkYICxgCKkAx"));
    assert.deepEqual([text?.kind, text?.text], ["text", "925 ÷ 5 = 185"]);
  });

  it("server tools (code execution) are not passed on; the text after them is block 0; cache usage from message_delta", () => {
    const events = replay("anthropic-code-execution-20260120-prompt-cache.1.chunks.txt");
    const { blocks } = assembleCanonical(events);
    assert.deepEqual(
      blocks.map((b) => [b.kind, b.text]),
      [["text", "The sum of the squares of the numbers 1 through 12 is **650**."]],
    );
    assert.ok(events.some((e) => e.type === "text-start" && e.block === 0));
    assert.deepEqual(finishOf(events).usage, {
      input: 6,
      cacheRead: 6289,
      cacheWrite5m: 3337,
      cacheWrite1h: 0,
      output: 198,
      reasoning: 0,
    });
  });

  it("tool arguments in many fragments, escaped quotes split across them, arrive whole", () => {
    const events = replay("anthropic-issue-11719-quoted-tool-input.chunks.txt");
    const [call] = assembleCanonical(events).blocks;
    assert.equal(call?.kind, "tool-call");
    assert.equal(call?.id, "toolu_01Cr31vcGoeeRgi3Eo5Ds8qN");
    assert.equal(call?.name, "website_update");
    const args = JSON.parse(call?.text ?? "");
    assert.equal(args.website_path, "/home/user/pace-landing");
    assert.match(args.tasks[0].description, /answer the question: "What should I do next after this run\?"/);
    assert.deepEqual(finishOf(events).stop, { unified: "tool-calls", raw: "tool_use" });
  });

  it("json tool and text-then-tool streams", () => {
    const [json] = assembleCanonical(replay("anthropic-json-tool.1.chunks.txt")).blocks;
    assert.deepEqual(JSON.parse(json?.text ?? ""), {
      elements: [{ location: "San Francisco", temperature: 58, condition: "sunny" }],
    });
    const blocks = assembleCanonical(replay("issue-10781.1.chunks.txt")).blocks;
    assert.deepEqual(
      blocks.map((b) => [b.kind, b.name ?? null, b.text]),
      [
        ["text", null, "Let me check."],
        ["tool-call", "get_weather", '{"city": "San Francisco"}'],
      ],
    );
  });

  it("a no-argument tool call has empty arguments (only an empty partial_json was sent)", () => {
    const blocks = assembleCanonical(replay("anthropic-tool-no-args.chunks.txt")).blocks;
    assert.deepEqual(
      blocks.map((b) => [b.kind, b.name ?? null, b.text]),
      [
        ["text", null, "I'll update the issue list for you."],
        ["tool-call", "updateIssueList", ""],
      ],
    );
  });

  it("refusal: no blocks, content-filter with the raw reason", () => {
    const events = replay("anthropic-refusal.chunks.txt");
    assert.equal(assembleCanonical(events).blocks.length, 0);
    assert.deepEqual(finishOf(events).stop, { unified: "content-filter", raw: "refusal" });
  });

  it("a later message_delta input count replaces message_start's", () => {
    const events = replay("anthropic-message-delta-input-tokens.chunks.txt");
    assert.equal(finishOf(events).usage.input, 61);
    const first = events.find((e) => e.type === "usage");
    assert.equal(first?.type === "usage" ? first.usage.input : null, 43);
  });

  it("a stream without event: lines maps the same (dispatch on the payload type)", () => {
    const file = "anthropic-clear-thinking.1.chunks.txt";
    const unnamed: SseEvent[] = fixtureLines(`anthropic/${file}`).map((data) => ({ event: undefined, data }));
    assert.deepEqual(runMapper(anthropicStreamToCanonical, unnamed), replay(file));
  });
});

describe("Anthropic stream → canonical: endings and oddities", () => {
  it("a stream cut inside a tool call closes the block and ends with an error", () => {
    const events = sseEvents(fixtureWire("anthropic-json-tool.1.chunks.txt")).slice(0, 5);
    const out = runMapper(anthropicStreamToCanonical, events);
    const { terminal, blocks } = assembleCanonical(out);
    assert.equal(terminal?.type, "error");
    assert.equal(terminal?.type === "error" ? terminal.error.type : null, "upstream_error");
    assert.equal(blocks.length, 1);
    assert.deepEqual(out.at(-2), { type: "block-end", block: 0 });
  });

  it("an in-band error event ends the stream with that error; later events are ignored", () => {
    const lines = fixtureLines("anthropic/anthropic-text.chunks.txt");
    const error = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    const inputs = [...lines.slice(0, 4), error, ...lines.slice(4)].map((data) => ({ event: undefined, data }));
    const out = runMapper(anthropicStreamToCanonical, inputs);
    assert.deepEqual(out.at(-1), { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    assert.equal(out.filter((e) => e.type === "error" || e.type === "finish").length, 1);
  });

  it("an empty upstream body is an error, not a silent empty answer", () => {
    assert.deepEqual(runMapper(anthropicStreamToCanonical, []), [
      {
        type: "error",
        error: { type: "upstream_error", message: "The upstream stream ended before its final event." },
      },
    ]);
  });

  it("unknown stop reasons map to other with the raw value; pause_turn to pause", () => {
    const stream = (reason: string) => [
      '{"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":0}}}',
      `{"type":"message_delta","delta":{"stop_reason":"${reason}"},"usage":{"output_tokens":2}}`,
      '{"type":"message_stop"}',
    ];
    for (const [raw, unified] of [
      ["something_new", "other"],
      ["pause_turn", "pause"],
      ["model_context_window_exceeded", "max-tokens"],
      ["stop_sequence", "stop-sequence"],
    ] as const) {
      const out = runMapper(
        anthropicStreamToCanonical,
        stream(raw).map((data) => ({ event: undefined, data })),
      );
      assert.deepEqual(finishOf(out).stop, { unified, raw });
    }
  });

  it("redacted thinking becomes a reasoning block carrying Anthropic's redacted data", () => {
    const lines = [
      '{"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":0}}}',
      '{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"ENCRYPTED"}}',
      '{"type":"content_block_stop","index":0}',
      '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}',
      '{"type":"message_stop"}',
    ];
    const out = runMapper(
      anthropicStreamToCanonical,
      lines.map((data) => ({ event: undefined, data })),
    );
    const [block] = assembleCanonical(out).blocks;
    assert.deepEqual(block, {
      kind: "reasoning",
      text: "",
      opaque: [{ dialect: "anthropic", kind: "redacted", value: "ENCRYPTED" }],
    });
  });

  it("is a pure reducer: stepping the same state twice gives the same result", () => {
    const inputs = sseEvents(fixtureWire("issue-10781.1.chunks.txt"));
    let state = anthropicStreamToCanonical.initial();
    for (const input of inputs) {
      const a = anthropicStreamToCanonical.step(state, input);
      const b = anthropicStreamToCanonical.step(state, input);
      assert.deepEqual(a, b);
      state = a.state;
    }
  });
});
