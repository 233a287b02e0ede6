import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CanonicalStreamEvent } from "../../../src/translate/canonical.ts";
import { canonicalToResponsesStream } from "../../../src/translate/openai-responses/canonical-to-stream.ts";
import { responsesOutputOptions } from "../../../src/translate/openai-responses/output-options.ts";
import { responsesStreamToCanonical } from "../../../src/translate/openai-responses/stream-to-canonical.ts";
import { encryptedContentSteps, fixtureEvents, fixtureLines, runMapper, sdkParse, usage } from "./helpers.ts";

const USAGE = usage(80, 20, 30, 10, 5);

/** A Claude-like answer: signed thinking, text, a tool call streamed in fragments. */
const answer: CanonicalStreamEvent[] = [
  { type: "start", id: "msg_01abc", model: "claude-x" },
  { type: "reasoning-start", block: 0 },
  { type: "reasoning-delta", block: 0, text: "Let me " },
  { type: "reasoning-delta", block: 0, text: "think." },
  { type: "reasoning-opaque", block: 0, opaque: { dialect: "anthropic", kind: "signature", value: "SIG" } },
  { type: "block-end", block: 0 },
  { type: "text-start", block: 1 },
  { type: "text-delta", block: 1, text: "Checking " },
  { type: "text-delta", block: 1, text: "the weather." },
  { type: "block-end", block: 1 },
  { type: "tool-call-start", block: 2, id: "toolu_1", name: "get_weather" },
  { type: "tool-call-delta", block: 2, argumentsDelta: '{"city":' },
  { type: "tool-call-delta", block: 2, argumentsDelta: '"Paris"}' },
  { type: "block-end", block: 2 },
  { type: "usage", usage: { output: 12 } },
  { type: "finish", stop: { unified: "tool-calls", raw: "tool_use" }, usage: USAGE },
];

function render(events: CanonicalStreamEvent[], model = "gpt-client", clientBody?: unknown): string {
  const options = clientBody === undefined ? {} : responsesOutputOptions(clientBody);
  return runMapper(canonicalToResponsesStream(model, options), events).join("");
}

describe("canonical → Responses stream, read back by the openai SDK", () => {
  it("reasoning, text and a function call become output items; completed carries output and usage", async () => {
    const sse = render(answer);
    assert.match(sse, /^event: response\.created\ndata: /);
    const { events, response } = await sdkParse(sse);
    assert.deepEqual(
      events.map((e) => e.data.type),
      [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
      ],
    );
    assert.ok(response);
    assert.equal(response.id, "resp_msg_01abc");
    assert.equal(response.model, "gpt-client");
    assert.equal(response.status, "completed");
    assert.deepEqual(response.output, [
      {
        id: "rs_msg_01abc_0",
        type: "reasoning",
        summary: [{ type: "summary_text", text: "Let me think." }],
        encrypted_content: "tollgate.v1:anthropic:signature:SIG",
      },
      {
        id: "msg_msg_01abc_1",
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", annotations: [], logprobs: [], text: "Checking the weather." }],
      },
      {
        id: "fc_msg_01abc_2",
        type: "function_call",
        status: "completed",
        call_id: "toolu_1",
        name: "get_weather",
        arguments: '{"city":"Paris"}',
      },
    ]);
    // input_tokens counts every input token; total adds the output.
    assert.deepEqual(response.usage, {
      input_tokens: 105,
      input_tokens_details: { cached_tokens: 20, cache_write_tokens: 5 },
      output_tokens: 30,
      output_tokens_details: { reasoning_tokens: 10 },
      total_tokens: 135,
    });
    const done = events.find((e) => e.data.type === "response.output_item.done" && e.data.output_index === 2);
    assert.deepEqual(done?.data.type === "response.output_item.done" && done.data.item, response.output[2]);
  });

  it("a client that did not include reasoning.encrypted_content gets no encrypted_content", async () => {
    const { response } = await sdkParse(render(answer, "m", { model: "m", include: [] }));
    assert.deepEqual(response?.output[0], {
      id: "rs_msg_01abc_0",
      type: "reasoning",
      summary: [{ type: "summary_text", text: "Let me think." }],
    });
  });

  it("max tokens → response.incomplete with incomplete_details; content filter likewise", async () => {
    const cut: CanonicalStreamEvent[] = [
      { type: "start", id: "resp_x", model: "m" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "Once upon" },
      { type: "block-end", block: 0 },
      { type: "finish", stop: { unified: "max-tokens", raw: "max_tokens" }, usage: usage(3, 0, 2, 0) },
    ];
    const { events, response } = await sdkParse(render(cut));
    assert.equal(events.at(-1)?.data.type, "response.incomplete");
    assert.equal(response?.id, "resp_x");
    assert.equal(response?.status, "incomplete");
    assert.deepEqual(response?.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(response?.usage?.total_tokens, 5);

    const filtered = cut.with(-1, {
      type: "finish",
      stop: { unified: "content-filter", raw: "SAFETY" },
      usage: usage(3, 0, 2, 0),
    });
    const second = await sdkParse(render(filtered));
    assert.deepEqual(second.response?.incomplete_details, { reason: "content_filter" });
  });

  it("a canonical error mid-stream closes the open item, then sends error and response.failed", async () => {
    const events: CanonicalStreamEvent[] = [
      { type: "start", id: "resp_e", model: "m" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "partial" },
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      { type: "finish", stop: { unified: "end", raw: null }, usage: usage(1, 0, 1, 0) },
    ];
    const parsed = await sdkParse(render(events));
    assert.deepEqual(
      parsed.events.slice(-3).map((e) => e.data.type),
      ["response.output_item.done", "error", "response.failed"],
    );
    const error = parsed.events.at(-2)?.data;
    assert.ok(error?.type === "error");
    // Codex retries on server_is_overloaded.
    assert.equal(error.code, "server_is_overloaded");
    assert.equal(error.message, "Overloaded");
    assert.equal(parsed.response?.status, "failed");
    assert.deepEqual(parsed.response?.error, { code: "server_is_overloaded", message: "Overloaded" });
    assert.equal(parsed.response?.output.length, 1);
  });

  it("a canonical stream that just stops still gives a well-formed failed stream", async () => {
    const parsed = await sdkParse(render(answer.slice(0, 8)));
    assert.deepEqual(parsed.events.map((e) => e.data.type).slice(-4), [
      "response.content_part.done",
      "response.output_item.done",
      "error",
      "response.failed",
    ]);
    const nothing = await sdkParse(render([]));
    assert.deepEqual(
      nothing.events.map((e) => e.data.type),
      ["response.created", "response.in_progress", "error", "response.failed"],
    );
  });

  it("a tool call without arguments gets {} (what a client can parse)", async () => {
    const { response } = await sdkParse(
      render([
        { type: "start", id: "r", model: "m" },
        { type: "tool-call-start", block: 0, id: "c", name: "ping" },
        { type: "block-end", block: 0 },
        { type: "finish", stop: { unified: "tool-calls", raw: null }, usage: usage(1, 0, 1, 0) },
      ]),
    );
    const item = response?.output[0];
    assert.ok(item?.type === "function_call");
    assert.equal(item.arguments, "{}");
  });
});

describe("canonical → Responses stream: reducer", () => {
  it("is pure, and ignores everything after its terminal event", () => {
    const mapper = canonicalToResponsesStream("m");
    let state = mapper.initial();
    for (const event of answer.slice(0, 12)) state = mapper.step(state, event).state;
    const snapshot = structuredClone(state);
    const next = answer[12];
    assert.ok(next);
    assert.deepEqual(mapper.step(state, next).out, mapper.step(state, next).out);
    assert.deepEqual(state, snapshot);

    for (const event of answer.slice(12)) state = mapper.step(state, event).state;
    assert.deepEqual(mapper.step(state, { type: "text-start", block: 9 }).out, []);
    assert.deepEqual(mapper.finish(state), []);
  });
});

describe("Responses → canonical → Responses: recorded streams survive the round trip", () => {
  const cases: [string, string[]][] = [
    ["issue-20047", fixtureLines("openai-responses/issue-20047-openai-responses.chunks.txt")],
    ["issue-19493", fixtureLines("openai-responses/issue-19493-gpt-5.1-tool-call.chunks.txt")],
    ...encryptedContentSteps().map((lines, i): [string, string[]] => [`encrypted-content step ${i + 1}`, lines]),
  ];
  for (const [name, lines] of cases) {
    it(name, async () => {
      const canonical = runMapper(responsesStreamToCanonical, fixtureEvents(lines));
      const { response } = await sdkParse(runMapper(canonicalToResponsesStream("client-model"), canonical).join(""));
      const original = JSON.parse(lines.at(-1) ?? "{}").response;
      // The items as output_item.done sent them: the completed Response's reasoning items carry a re-encrypted
      // encrypted_content, and the done event's is the one a client keeps.
      const doneItems = lines
        .map((line) => JSON.parse(line))
        .filter((e) => e.type === "response.output_item.done")
        .map((e) => e.item);
      const strip = (item: object) => {
        const { id: _id, status: _status, ...rest } = item as Record<string, unknown>;
        return rest;
      };
      assert.equal(doneItems.length, original.output.length);
      assert.deepEqual(response?.output.map(strip), doneItems.map(strip));
      assert.deepEqual(response?.usage, {
        ...original.usage,
        input_tokens_details: { cache_write_tokens: 0, ...original.usage.input_tokens_details },
      });
      assert.equal(response?.status, original.status);
    });
  }
});
