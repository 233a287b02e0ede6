import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOpenAiResponsesStreamMeter } from "../../../src/dialects/openai-responses/index.ts";
import type { SseEvent } from "../../../src/translate/canonical.ts";
import { responsesStreamToCanonical } from "../../../src/translate/openai-responses/stream-to-canonical.ts";
import {
  assembleCanonical,
  buildWire,
  encryptedContentSteps,
  fixtureEvents,
  fixtureLines,
  runMapper,
  usage,
} from "./helpers.ts";

function replay(lines: string[]) {
  return assembleCanonical(runMapper(responsesStreamToCanonical, fixtureEvents(lines)));
}

/** The usage the dialect's own stream meter reads from the same bytes. */
function meteredUsage(lines: string[]) {
  const meter = createOpenAiResponsesStreamMeter();
  meter.push(new TextEncoder().encode(buildWire(lines, { named: true, done: false })));
  meter.end();
  return meter.result().usage;
}

function event(type: string, payload: Record<string, unknown>): SseEvent {
  return { event: type, data: JSON.stringify({ type, ...payload }) };
}

const created = event("response.created", { response: { id: "resp_1", model: "gpt-x", status: "in_progress" } });
const completed = (extra: Record<string, unknown> = {}) =>
  event("response.completed", {
    response: {
      id: "resp_1",
      model: "gpt-x",
      status: "completed",
      usage: { input_tokens: 5, output_tokens: 3 },
      ...extra,
    },
  });

describe("Responses stream → canonical: recorded streams", () => {
  it("issue-20047: plain text, usage with cache buckets as the meter reads them", () => {
    const lines = fixtureLines("openai-responses/issue-20047-openai-responses.chunks.txt");
    const got = replay(lines);
    assert.deepEqual(got.start, { id: "resp_sanitized_streaming", model: "gpt-4o-mini-2024-07-18" });
    assert.deepEqual(got.blocks, [{ kind: "text", text: "OK" }]);
    assert.deepEqual(got.finish?.stop, { unified: "end", raw: "completed" });
    assert.deepEqual(got.finish?.usage, meteredUsage(lines));
    assert.deepEqual(got.finish?.usage, usage(12, 0, 2, 0));
    assert.deepEqual(got.errors, []);
  });

  it("issue-19493: one function call, arguments in six fragments, tool-calls stop", () => {
    const lines = fixtureLines("openai-responses/issue-19493-gpt-5.1-tool-call.chunks.txt");
    const got = replay(lines);
    assert.deepEqual(got.blocks, [
      { kind: "tool-call", id: "call_2FQdm3Br7Qb35YUBSkDR7kue", name: "get_weather", text: '{"city":"Beijing"}' },
    ]);
    assert.deepEqual(got.finish?.stop, { unified: "tool-calls", raw: "completed" });
    assert.deepEqual(got.finish?.usage, meteredUsage(lines));
  });

  it("encrypted-content steps: reasoning summary, the done item's encrypted_content, calls, final text", () => {
    const steps = encryptedContentSteps();
    assert.equal(steps.length, 4);
    const [first, second, , last] = steps.map((lines) => ({ lines, got: replay(lines) }));
    assert.ok(first && second && last);

    const doneLine = first.lines.find((l) => l.includes('"response.output_item.done"') && l.includes('"reasoning"'));
    const doneItem = (JSON.parse(doneLine ?? "{}") as { item: { encrypted_content: string } }).item;
    const [reasoning, call] = first.got.blocks;
    assert.equal(reasoning?.kind, "reasoning");
    assert.equal(
      reasoning?.text,
      "**Calculating step-by-step using calculator**\n\nI'll compute 12 plus 7, then multiply the result by 3, and finally multiply that by 10, reporting the final product.",
    );
    // The added event's encrypted_content may be partial: the done item's is the one to keep.
    assert.deepEqual(reasoning?.opaque, {
      dialect: "openai-responses",
      kind: "encrypted",
      value: doneItem.encrypted_content,
    });
    assert.deepEqual(call, {
      kind: "tool-call",
      id: "call_AB6AaRZ1FYZB2RwS6A5vbdqn",
      name: "calculator",
      text: '{"a":12,"b":7,"op":"add"}',
    });
    assert.deepEqual(first.got.finish?.stop, { unified: "tool-calls", raw: "completed" });

    assert.deepEqual(second.got.blocks, [
      {
        kind: "tool-call",
        id: "call_Q6pW65MUgW9vF59BmItYGos3",
        name: "calculator",
        text: '{"a":19,"b":3,"op":"multiply"}',
      },
    ]);
    assert.deepEqual(last.got.blocks, [{ kind: "text", text: "The final result is **570**." }]);
    assert.deepEqual(last.got.finish?.stop, { unified: "end", raw: "completed" });
    for (const { lines, got } of [first, second, last]) assert.deepEqual(got.finish?.usage, meteredUsage(lines));
    assert.deepEqual(first.got.finish?.usage, usage(134, 0, 28, 0));
  });

  it("openai-error: the error event, then response.failed → error stop with (empty) usage", () => {
    const lines = fixtureLines("openai-responses/openai-error.1.chunks.txt");
    const got = replay(lines);
    assert.equal(got.errors.length, 1);
    assert.equal(got.errors[0]?.type, "insufficient_quota");
    assert.match(got.errors[0]?.message ?? "", /exceeded your current quota/);
    assert.deepEqual(got.finish?.stop, { unified: "error", raw: "failed" });
    assert.deepEqual(got.finish?.usage, meteredUsage(lines));
    assert.deepEqual(got.blocks, []);
  });

  it("a stream cut before response.completed ends with its blocks closed and an error", () => {
    const lines = fixtureLines("openai-responses/issue-19493-gpt-5.1-tool-call.chunks.txt");
    // Cut after the third argument fragment.
    const got = replay(lines.slice(0, 6));
    assert.deepEqual(got.blocks, [
      { kind: "tool-call", id: "call_2FQdm3Br7Qb35YUBSkDR7kue", name: "get_weather", text: '{"city":"' },
    ]);
    assert.equal(got.finish, null);
    assert.deepEqual(
      got.errors.map((e) => e.type),
      ["upstream_stream_incomplete"],
    );
  });

  it("a stream with no events at all still ends with an error", () => {
    const events = runMapper(responsesStreamToCanonical, []);
    assert.deepEqual(
      events.map((e) => e.type),
      ["error"],
    );
  });
});

describe("Responses stream → canonical: synthetic streams", () => {
  it("custom tool input streams as escaped {input} arguments; namespaced calls get the flat name", () => {
    const events = [
      created,
      event("response.output_item.added", {
        output_index: 0,
        item: { id: "ctc_1", type: "custom_tool_call", call_id: "call_p", name: "apply_patch", input: "" },
      }),
      event("response.custom_tool_call_input.delta", {
        output_index: 0,
        item_id: "ctc_1",
        delta: '*** Begin "Patch"\n',
      }),
      event("response.custom_tool_call_input.done", {
        output_index: 0,
        item_id: "ctc_1",
        input: '*** Begin "Patch"\n*** End Patch',
      }),
      event("response.output_item.done", {
        output_index: 0,
        item: { id: "ctc_1", type: "custom_tool_call", call_id: "call_p", name: "apply_patch", input: "x" },
      }),
      event("response.output_item.added", {
        output_index: 1,
        item: {
          id: "fc_2",
          type: "function_call",
          call_id: "call_n",
          name: "create_event",
          namespace: "mcp__calendar__",
        },
      }),
      event("response.output_item.done", {
        output_index: 1,
        item: {
          id: "fc_2",
          type: "function_call",
          call_id: "call_n",
          name: "create_event",
          namespace: "mcp__calendar__",
          arguments: '{"title":"x"}',
        },
      }),
      completed(),
    ];
    const got = assembleCanonical(runMapper(responsesStreamToCanonical, events));
    assert.equal(got.blocks[0]?.name, "apply_patch");
    assert.deepEqual(JSON.parse(got.blocks[0]?.text ?? ""), { input: '*** Begin "Patch"\n*** End Patch' });
    assert.deepEqual(got.blocks[1], {
      kind: "tool-call",
      id: "call_n",
      name: "mcp__calendar__create_event",
      text: '{"title":"x"}',
    });
    assert.deepEqual(got.finish?.stop, { unified: "tool-calls", raw: "completed" });
  });

  it("summary parts are separate paragraphs; a done item with no deltas still gives its summary", () => {
    const events = [
      created,
      event("response.output_item.added", { output_index: 0, item: { id: "rs_1", type: "reasoning", summary: [] } }),
      event("response.reasoning_summary_text.delta", {
        output_index: 0,
        item_id: "rs_1",
        summary_index: 0,
        delta: "A",
      }),
      event("response.reasoning_summary_text.delta", {
        output_index: 0,
        item_id: "rs_1",
        summary_index: 1,
        delta: "B",
      }),
      event("response.output_item.done", { output_index: 0, item: { id: "rs_1", type: "reasoning", summary: [] } }),
      event("response.output_item.added", { output_index: 1, item: { id: "rs_2", type: "reasoning", summary: [] } }),
      event("response.output_item.done", {
        output_index: 1,
        item: {
          id: "rs_2",
          type: "reasoning",
          summary: [{ type: "summary_text", text: "whole" }],
          encrypted_content: "E",
        },
      }),
      completed(),
    ];
    const got = assembleCanonical(runMapper(responsesStreamToCanonical, events));
    assert.deepEqual(got.blocks, [
      { kind: "reasoning", text: "A\n\nB" },
      { kind: "reasoning", text: "whole", opaque: { dialect: "openai-responses", kind: "encrypted", value: "E" } },
    ]);
  });

  it("incomplete (max_output_tokens / content_filter) and unknown reasons map to canonical stops", () => {
    const stopOf = (response: Record<string, unknown>) =>
      assembleCanonical(runMapper(responsesStreamToCanonical, [created, event("response.incomplete", { response })]))
        .finish?.stop;
    assert.deepEqual(stopOf({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }), {
      unified: "max-tokens",
      raw: "max_output_tokens",
    });
    assert.deepEqual(stopOf({ status: "incomplete", incomplete_details: { reason: "content_filter" } }), {
      unified: "content-filter",
      raw: "content_filter",
    });
    assert.deepEqual(stopOf({ status: "incomplete", incomplete_details: { reason: "something_new" } }), {
      unified: "other",
      raw: "something_new",
    });
  });

  it("a Response delivered only in the terminal event becomes blocks; [DONE] and later events are ignored", () => {
    const events: SseEvent[] = [
      { event: undefined, data: JSON.stringify({ type: "response.created", response: { id: "r", model: "m" } }) },
      completed({
        output: [
          { type: "message", content: [{ type: "output_text", text: "hi" }] },
          { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
        ],
      }),
      { event: undefined, data: "[DONE]" },
      event("response.output_text.delta", { output_index: 0, delta: "late" }),
    ];
    const got = assembleCanonical(runMapper(responsesStreamToCanonical, events));
    assert.deepEqual(got.blocks, [
      { kind: "text", text: "hi" },
      { kind: "tool-call", id: "c1", name: "f", text: "{}" },
    ]);
    assert.deepEqual(got.finish?.stop, { unified: "tool-calls", raw: "completed" });
    assert.deepEqual(got.finish?.usage, usage(5, 0, 3, 0));
  });

  it("is a pure reducer: stepping the same state twice gives the same output and leaves the state as it was", () => {
    const lines = fixtureLines("openai-responses/issue-19493-gpt-5.1-tool-call.chunks.txt");
    const events = fixtureEvents(lines);
    let state = responsesStreamToCanonical.initial();
    for (const e of events.slice(0, 4)) state = responsesStreamToCanonical.step(state, e).state;
    const snapshot = structuredClone(state);
    const next = events[4];
    assert.ok(next);
    const a = responsesStreamToCanonical.step(state, next);
    const b = responsesStreamToCanonical.step(state, next);
    assert.deepEqual(a.out, b.out);
    assert.deepEqual(state, snapshot);
  });
});
