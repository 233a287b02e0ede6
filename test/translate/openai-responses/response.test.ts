import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { convertResponsesUsage, meterResponsesBody } from "../../../src/dialects/openai-responses/index.ts";
import { type CanonicalResponse, TranslationError } from "../../../src/translate/canonical.ts";
import { canonicalToResponse } from "../../../src/translate/openai-responses/canonical-to-response.ts";
import { toResponsesUsage } from "../../../src/translate/openai-responses/convert-usage.ts";
import { responsesOutputOptions } from "../../../src/translate/openai-responses/output-options.ts";
import { responseToCanonical } from "../../../src/translate/openai-responses/response-to-canonical.ts";
import { codexTools } from "./codex-request.ts";
import { fixtureJson, usage } from "./helpers.ts";

describe("Responses body → canonical: recorded responses", () => {
  it("issue-20047: text, end stop, usage as the body meter reads it", () => {
    const body = fixtureJson("openai-responses/issue-20047-openai-responses.json");
    const res = responseToCanonical(body);
    assert.equal(res.id, "resp_sanitized_normal");
    assert.equal(res.model, "gpt-4o-mini-2024-07-18");
    assert.deepEqual(res.content, [{ type: "text", text: "OK" }]);
    assert.deepEqual(res.stop, { unified: "end", raw: "completed" });
    assert.deepEqual(res.usage, meterResponsesBody(body).usage);
  });

  it("encrypted reasoning: summary text and OpenAI's opaque proof, then the answer", () => {
    const body = fixtureJson("openai-responses/openai-reasoning-encrypted-content.1.json");
    const res = responseToCanonical(body);
    const [reasoning, text] = res.content;
    assert.ok(reasoning?.type === "reasoning");
    assert.match(reasoning.text, /^\*\*Reporting final result\*\*/);
    assert.equal(reasoning.opaque?.dialect, "openai-responses");
    assert.equal(reasoning.opaque?.kind, "encrypted");
    assert.match(reasoning.opaque?.value ?? "", /^gAAAAABpPMlc/);
    assert.deepEqual(text, { type: "text", text: "12 + 7 = 19\n19 × 3 = 57\n57 × 10 = 570\n\nFinal result: 570" });
    assert.deepEqual(res.usage, meterResponsesBody(body).usage);
  });

  it("openai-phase: two messages (commentary, final answer), cached input kept apart", () => {
    const body = fixtureJson("openai-responses/openai-phase.1.json");
    const res = responseToCanonical(body);
    assert.equal(res.content.length, 2);
    assert.deepEqual(res.usage, usage(7243 - 3072, 3072, 423, 58));
  });

  it("function calls → tool-calls stop; incomplete and failed statuses; refusal as text", () => {
    const res = responseToCanonical({
      id: "r",
      object: "response",
      model: "m",
      status: "completed",
      output: [
        { type: "message", content: [{ type: "refusal", refusal: "no" }] },
        { type: "function_call", call_id: "c1", name: "create_event", namespace: "mcp__cal__", arguments: "{}" },
        { type: "custom_tool_call", call_id: "c2", name: "apply_patch", input: "P" },
        { type: "web_search_call", id: "ws", status: "completed" },
      ],
    });
    assert.deepEqual(res.content, [
      { type: "text", text: "no" },
      { type: "tool-call", id: "c1", name: "mcp__cal__create_event", arguments: "{}" },
      { type: "tool-call", id: "c2", name: "apply_patch", arguments: '{"input":"P"}' },
    ]);
    assert.deepEqual(res.stop, { unified: "tool-calls", raw: "completed" });
    const status = (status: string, reason?: string) =>
      responseToCanonical({ object: "response", status, incomplete_details: reason ? { reason } : null, output: [] })
        .stop;
    assert.deepEqual(status("incomplete", "max_output_tokens"), { unified: "max-tokens", raw: "max_output_tokens" });
    assert.deepEqual(status("failed"), { unified: "error", raw: "failed" });
    assert.deepEqual(status("cancelled"), { unified: "other", raw: "cancelled" });
  });

  it("an error body is not a Response", () => {
    assert.throws(() => responseToCanonical(fixtureJson("openai-responses/openai-error.1.json")), TranslationError);
  });
});

function canonical(overrides: Partial<CanonicalResponse> = {}): CanonicalResponse {
  return {
    id: "msg_01",
    model: "claude-x",
    content: [
      { type: "reasoning", text: "hmm", opaque: { dialect: "openai-responses", kind: "encrypted", value: "gAAA" } },
      { type: "text", text: "Hello " },
      { type: "text", text: "there" },
      { type: "tool-call", id: "toolu_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
    ],
    stop: { unified: "tool-calls", raw: "tool_use" },
    usage: usage(10, 4, 7, 2),
    ...overrides,
  };
}

describe("canonical → Responses body", () => {
  it("reasoning, one message for adjacent text, a function call; usage with totals", () => {
    assert.deepEqual(canonicalToResponse(canonical(), "gpt-client", { createdAt: 1700000000 }), {
      id: "resp_msg_01",
      object: "response",
      created_at: 1700000000,
      status: "completed",
      background: false,
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      model: "gpt-client",
      output: [
        {
          id: "rs_msg_01_0",
          type: "reasoning",
          summary: [{ type: "summary_text", text: "hmm" }],
          encrypted_content: "gAAA",
        },
        {
          id: "msg_msg_01_1",
          type: "message",
          status: "completed",
          content: [
            { type: "output_text", annotations: [], logprobs: [], text: "Hello " },
            { type: "output_text", annotations: [], logprobs: [], text: "there" },
          ],
          role: "assistant",
        },
        {
          id: "fc_msg_01_2",
          type: "function_call",
          status: "completed",
          arguments: '{"city":"Oslo"}',
          call_id: "toolu_1",
          name: "get_weather",
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: null,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: [],
      top_p: null,
      truncation: "disabled",
      usage: {
        input_tokens: 14,
        input_tokens_details: { cached_tokens: 4, cache_write_tokens: 0 },
        output_tokens: 7,
        output_tokens_details: { reasoning_tokens: 2 },
        total_tokens: 21,
      },
      metadata: {},
    });
  });

  it("max tokens → incomplete; error → failed", () => {
    const cut = canonicalToResponse(canonical({ stop: { unified: "max-tokens", raw: "length" } }), "m");
    assert.equal(cut.status, "incomplete");
    assert.deepEqual(cut.incomplete_details, { reason: "max_output_tokens" });
    const failed = canonicalToResponse(canonical({ stop: { unified: "error", raw: "MALFORMED" } }), "m");
    assert.equal(failed.status, "failed");
    assert.deepEqual(failed.error, { code: "server_error", message: "The model stopped with an error (MALFORMED)" });
  });

  it("calls of namespaced, custom and local_shell tools come back in the client's shapes", () => {
    const options = responsesOutputOptions({ model: "m", tools: codexTools(), include: [] });
    const body = canonicalToResponse(
      canonical({
        content: [
          { type: "reasoning", text: "", opaque: { dialect: "anthropic", kind: "signature", value: "SIG" } },
          { type: "tool-call", id: "c1", name: "mcp__calendar__create_event", arguments: '{"title":"x"}' },
          { type: "tool-call", id: "c2", name: "apply_patch", arguments: '{"input":"*** Begin Patch"}' },
          {
            type: "tool-call",
            id: "c3",
            name: "local_shell",
            arguments: '{"command":["ls"],"working_directory":"/r"}',
          },
          { type: "tool-call", id: "c4", name: "shell", arguments: '{"command":["ls"]}' },
        ],
      }),
      "m",
      options,
    );
    assert.deepEqual(body.output, [
      // include did not ask for encrypted_content.
      { id: "rs_msg_01_0", type: "reasoning", summary: [] },
      {
        id: "fc_msg_01_1",
        type: "function_call",
        status: "completed",
        arguments: '{"title":"x"}',
        call_id: "c1",
        name: "create_event",
        namespace: "mcp__calendar__",
      },
      {
        id: "ctc_msg_01_2",
        type: "custom_tool_call",
        status: "completed",
        call_id: "c2",
        name: "apply_patch",
        input: "*** Begin Patch",
      },
      {
        id: "lsc_msg_01_3",
        type: "local_shell_call",
        status: "completed",
        call_id: "c3",
        action: { type: "exec", command: ["ls"], env: {}, working_directory: "/r" },
      },
      {
        id: "fc_msg_01_4",
        type: "function_call",
        status: "completed",
        arguments: '{"command":["ls"]}',
        call_id: "c4",
        name: "shell",
      },
    ]);
  });

  it("usage converts back exactly: convertResponsesUsage ∘ toResponsesUsage is the identity", () => {
    for (const u of [usage(0, 0, 0, 0), usage(10, 4, 7, 2), usage(100, 3072, 423, 58, 17)]) {
      assert.deepEqual(convertResponsesUsage(toResponsesUsage(u)), u);
    }
  });

  it("recorded Response → canonical → Response keeps the output", () => {
    const body = fixtureJson("openai-responses/openai-reasoning-encrypted-content.1.json") as {
      output: Record<string, unknown>[];
      usage: Record<string, unknown>;
    };
    const back = canonicalToResponse(responseToCanonical(body), "gpt-5-mini-2025-08-07");
    const strip = ({ id: _id, status: _status, ...rest }: Record<string, unknown>) => rest;
    assert.deepEqual((back.output as Record<string, unknown>[]).map(strip), body.output.map(strip));
    assert.deepEqual(convertResponsesUsage(back.usage as Record<string, unknown>), convertResponsesUsage(body.usage));
  });
});
