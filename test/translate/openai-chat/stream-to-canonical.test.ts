import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOpenAiChatStreamMeter } from "../../../src/dialects/openai-chat/index.ts";
import type { Usage } from "../../../src/metering/usage.ts";
import type { CanonicalStop, CanonicalStreamEvent, SseEvent } from "../../../src/translate/canonical.ts";
import { createOpenAiChatStreamToCanonical, STREAM_INCOMPLETE } from "../../../src/translate/openai-chat/index.ts";
import { buildWire, runMeter } from "../../dialects/helpers.ts";
import { CHAT_STREAM_FIXTURES, collect, fixtureEvents, fixtureLines, runMapper, sseEvents } from "./helpers.ts";

const mapper = createOpenAiChatStreamToCanonical();

function toCanonical(events: SseEvent[]): CanonicalStreamEvent[] {
  return runMapper(mapper, events);
}

/** SSE events of hand-written chunks (`data:` each), with `[DONE]` unless told otherwise. */
function chunks(list: object[], done = true): SseEvent[] {
  return sseEvents(
    buildWire(
      list.map((c) => JSON.stringify(c)),
      { named: false, done },
    ),
  );
}

function delta(d: object, finishReason: string | null = null, extra: object = {}): object {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    model: "m",
    choices: [{ index: 0, delta: d, finish_reason: finishReason }],
    ...extra,
  };
}

interface Expected {
  id: string;
  model: string;
  text: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  stop: CanonicalStop;
}

const EXPECTED: Record<(typeof CHAT_STREAM_FIXTURES)[number], Expected> = {
  "openai-chat/azure-model-router.1.chunks.txt": {
    // The first chunk (empty id/model, prompt_filter_results only) starts nothing.
    id: "chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt",
    model: "gpt-5-nano-2025-08-07",
    text: "Capital of Denmark.",
    reasoning: "",
    toolCalls: [],
    stop: { unified: "end", raw: "stop" },
  },
  "openai-chat/issue-15789-step-1.chunks.txt": {
    id: "chatcmpl-E6yvi7cuDcHZEHTMxcLDyf3CMKIO2",
    model: "gpt-4o-2024-08-06",
    text: "PRE_TOOL",
    reasoning: "",
    toolCalls: [{ id: "call_NZa7xqfefoaMI2YYHowVXVlU", name: "weather", arguments: "{}" }],
    stop: { unified: "tool-calls", raw: "tool_calls" },
  },
  "groq/groq-tool-call.chunks.txt": {
    id: "chatcmpl-b610d559-f156-4aca-8827-24b4fe6af54f",
    model: "llama-3.3-70b-versatile",
    text: "",
    reasoning: "",
    toolCalls: [{ id: "tk85n1k4m", name: "weather", arguments: "{}" }],
    stop: { unified: "tool-calls", raw: "tool_calls" },
  },
  "deepseek/deepseek-tool-call.chunks.txt": {
    id: "cca85624-4056-401f-b220-d77601d1f70d",
    model: "deepseek-reasoner",
    text: "",
    reasoning:
      'The user is asking for the weather in San Francisco. I need to use the weather tool to get this information. Let me invoke the weather tool with the location parameter set to "San Francisco".',
    // Arguments arrive in 10 fragments.
    toolCalls: [
      { id: "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF", name: "weather", arguments: '{"location": "San Francisco"}' },
    ],
    stop: { unified: "tool-calls", raw: "tool_calls" },
  },
  "xai/xai-tool-call.chunks.txt": {
    id: "de9d896d-e946-b3a7-bb14-75ab33326930",
    model: "grok-3-mini",
    text: "",
    reasoning: "First, the user is",
    toolCalls: [{ id: "call_55117580", name: "weather", arguments: '{"location":"San Francisco"}' }],
    stop: { unified: "tool-calls", raw: "tool_calls" },
  },
};

describe("openai-chat stream → canonical: recorded streams", () => {
  for (const file of CHAT_STREAM_FIXTURES) {
    it(`${file}: text, reasoning, tool calls with full arguments, stop, usage = the dialect meter's`, () => {
      const expected = EXPECTED[file];
      const events = toCanonical(fixtureEvents(file));
      const c = collect(events);
      assert.deepEqual(c.start, { id: expected.id, model: expected.model });
      assert.equal(c.text, expected.text);
      assert.equal(c.reasoning, expected.reasoning);
      assert.deepEqual(c.toolCalls, expected.toolCalls);
      assert.deepEqual(c.stop, expected.stop);
      assert.deepEqual(c.errors, []);
      const wire = buildWire(fixtureLines(file), { named: false, done: true });
      const metered = runMeter(createOpenAiChatStreamMeter(), [new TextEncoder().encode(wire)]);
      assert.deepEqual(c.usage, metered.usage);
      assert.deepEqual(c.lastUsageEvent, metered.usage);
    });
  }

  it("deepseek: the reasoning block ends before the tool call starts", () => {
    const events = toCanonical(fixtureEvents("deepseek/deepseek-tool-call.chunks.txt"));
    const kinds = events.filter((e) => e.type !== "reasoning-delta" && e.type !== "tool-call-delta").map((e) => e.type);
    assert.deepEqual(kinds, [
      "start",
      "reasoning-start",
      "block-end",
      "tool-call-start",
      "block-end",
      "usage",
      "finish",
    ]);
  });

  it("xai: usage counts reasoning on top of completion_tokens (output 26 + 196)", () => {
    const c = collect(toCanonical(fixtureEvents("xai/xai-tool-call.chunks.txt")));
    const expected: Usage = { input: 1, cacheRead: 290, cacheWrite5m: 0, cacheWrite1h: 0, output: 222, reasoning: 196 };
    assert.deepEqual(c.usage, expected);
  });

  it("the reducer is pure: it never mutates the state it is given", () => {
    const deepFreeze = <T>(value: T): T => {
      if (typeof value === "object" && value !== null) {
        for (const child of Object.values(value)) deepFreeze(child);
        Object.freeze(value);
      }
      return value;
    };
    for (const file of CHAT_STREAM_FIXTURES) {
      let state = deepFreeze(mapper.initial());
      const out: CanonicalStreamEvent[] = [];
      for (const event of fixtureEvents(file)) {
        const next = mapper.step(state, event);
        state = deepFreeze(next.state);
        out.push(...next.out);
      }
      out.push(...mapper.finish(state));
      assert.deepEqual(out, toCanonical(fixtureEvents(file)), file);
    }
  });
});

describe("openai-chat stream → canonical: shapes the recordings do not show", () => {
  it("parallel tool calls with interleaved fragments are separate blocks, each with its full arguments", () => {
    const c = collect(
      toCanonical(
        chunks([
          delta({ role: "assistant", content: null }),
          delta({
            tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "read", arguments: "" } }],
          }),
          delta({
            tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "grep", arguments: '{"pat' } }],
          }),
          delta({ tool_calls: [{ index: 0, function: { arguments: '{"path":' } }] }),
          delta({ tool_calls: [{ index: 1, function: { arguments: 'tern":"x"}' } }] }),
          delta({ tool_calls: [{ index: 0, function: { arguments: '"a.ts"}' } }] }),
          delta({}, "tool_calls"),
        ]),
      ),
    );
    assert.deepEqual(c.toolCalls, [
      { id: "call_a", name: "read", arguments: '{"path":"a.ts"}' },
      { id: "call_b", name: "grep", arguments: '{"pattern":"x"}' },
    ]);
    assert.deepEqual(c.stop, { unified: "tool-calls", raw: "tool_calls" });
  });

  it("servers that number every call 0, or leave index out, still give one block per call", () => {
    const c = collect(
      toCanonical(
        chunks([
          delta({ tool_calls: [{ index: 0, id: "c1", function: { name: "a", arguments: "{}" } }] }),
          delta({ tool_calls: [{ index: 0, id: "c2", function: { name: "b", arguments: "{}" } }] }),
          delta({ tool_calls: [{ id: "c3", function: { name: "c", arguments: "{" } }] }),
          delta({ tool_calls: [{ function: { arguments: "}" } }] }),
          // `stop` with tool calls reads tool-calls.
          delta({}, "stop"),
        ]),
      ),
    );
    assert.deepEqual(
      c.toolCalls.map((t) => [t.id, t.name, t.arguments]),
      [
        ["c1", "a", "{}"],
        ["c2", "b", "{}"],
        ["c3", "c", "{}"],
      ],
    );
    assert.deepEqual(c.stop, { unified: "tool-calls", raw: "stop" });
  });

  it("refusal deltas are text; text after reasoning closes the reasoning block", () => {
    const events = toCanonical(
      chunks([
        delta({ reasoning: "hmm" }),
        delta({ content: "No" }),
        delta({ refusal: ", sorry." }),
        delta({}, "stop"),
      ]),
    );
    const c = collect(events);
    assert.equal(c.reasoning, "hmm");
    assert.equal(c.text, "No, sorry.");
    assert.deepEqual(
      events.map((e) => e.type),
      [
        "start",
        "reasoning-start",
        "reasoning-delta",
        "block-end",
        "text-start",
        "text-delta",
        "text-delta",
        "block-end",
        "finish",
      ],
    );
  });

  it("an error chunk mid-stream closes the open blocks and ends the stream with an error event", () => {
    const events = toCanonical(
      chunks(
        [
          delta({ content: "Hel" }),
          { error: { message: "The server had an error", type: "server_error", param: null, code: null } },
          delta({ content: "lo" }),
        ],
        false,
      ),
    );
    const c = collect(events);
    assert.equal(c.text, "Hel");
    assert.deepEqual(c.errors, [{ type: "server_error", message: "The server had an error" }]);
  });

  it("a stream cut before its finish_reason ends with STREAM_INCOMPLETE; one cut after it still finishes", () => {
    const lines = fixtureLines("openai-chat/issue-15789-step-1.chunks.txt");
    const cut = collect(toCanonical(sseEvents(buildWire(lines.slice(0, 4), { named: false, done: false }))));
    assert.equal(cut.text, "PRE_TOOL");
    assert.deepEqual(cut.toolCalls, [{ id: "call_NZa7xqfefoaMI2YYHowVXVlU", name: "weather", arguments: "" }]);
    assert.equal(cut.errors[0]?.type, STREAM_INCOMPLETE);
    assert.equal(cut.stop, null);

    // No usage chunk and no [DONE], but the model's turn had ended: finish, with zero usage.
    const noDone = collect(toCanonical(sseEvents(buildWire(lines.slice(0, -1), { named: false, done: false }))));
    assert.deepEqual(noDone.stop, { unified: "tool-calls", raw: "tool_calls" });
    assert.deepEqual(noDone.usage, {
      input: 0,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      output: 0,
      reasoning: 0,
    });
    assert.deepEqual(noDone.errors, []);

    const empty = collect(toCanonical([]));
    assert.equal(empty.errors[0]?.type, STREAM_INCOMPLETE);
  });

  it("[DONE] without a finish_reason finishes as other; a non-JSON chunk is an error", () => {
    const c = collect(toCanonical(chunks([delta({ content: "x" })])));
    assert.deepEqual(c.stop, { unified: "other", raw: null });
    const bad = collect(toCanonical([{ event: undefined, data: "{oops" }]));
    assert.equal(bad.errors[0]?.type, "invalid_response");
  });

  it("nothing comes out after the terminal event", () => {
    const events = toCanonical([
      ...chunks([delta({ content: "a" }, "stop")]),
      ...chunks([delta({ content: "b" }, "stop")]),
    ]);
    assert.equal(events.filter((e) => e.type === "finish").length, 1);
    assert.equal(collect(events).text, "a");
  });
});
