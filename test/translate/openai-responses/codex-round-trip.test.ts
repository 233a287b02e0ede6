import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CanonicalStreamEvent } from "../../../src/translate/canonical.ts";
import {
  openAiResponsesTranslator,
  openAiResponsesTranslatorFor,
} from "../../../src/translate/openai-responses/index.ts";
import { codexRequest, PATCH } from "./codex-request.ts";
import { runMapper, sdkParse, usage } from "./helpers.ts";

/**
 * Codex talking to a non-OpenAI model through Tollgate: turn 1 goes out as canonical, the model (say Claude) answers
 * with signed thinking and calls of the flattened tools, Codex receives its own item shapes, runs the tools and
 * sends everything back in turn 2, which must translate to the same canonical calls and the original signature.
 */
describe("Codex round trip through another provider", () => {
  const turn1 = codexRequest();
  const translator = openAiResponsesTranslatorFor(turn1, 1_700_000_000);

  const answer: CanonicalStreamEvent[] = [
    { type: "start", id: "msg_01XYZ", model: "claude-sonnet-4-5" },
    { type: "reasoning-start", block: 0 },
    { type: "reasoning-delta", block: 0, text: "I should add the file, check, and book the meeting." },
    {
      type: "reasoning-opaque",
      block: 0,
      opaque: { dialect: "anthropic", kind: "signature", value: "EqQBCkYIBxgCKkA" },
    },
    { type: "block-end", block: 0 },
    { type: "tool-call-start", block: 1, id: "toolu_patch", name: "apply_patch" },
    { type: "tool-call-delta", block: 1, argumentsDelta: JSON.stringify({ input: PATCH }).slice(0, 20) },
    { type: "tool-call-delta", block: 1, argumentsDelta: JSON.stringify({ input: PATCH }).slice(20) },
    { type: "block-end", block: 1 },
    { type: "tool-call-start", block: 2, id: "toolu_shell", name: "local_shell" },
    { type: "tool-call-delta", block: 2, argumentsDelta: '{"command":["bash","-lc","cat a.txt"],"timeout_ms":5000}' },
    { type: "block-end", block: 2 },
    { type: "tool-call-start", block: 3, id: "toolu_cal", name: "mcp__calendar__create_event" },
    { type: "tool-call-delta", block: 3, argumentsDelta: '{"title":"review"}' },
    { type: "block-end", block: 3 },
    { type: "finish", stop: { unified: "tool-calls", raw: "tool_use" }, usage: usage(900, 100, 80, 20) },
  ];

  it("turn 1: the model's calls reach Codex as custom_tool_call, local_shell_call and a namespaced function_call", async () => {
    const sse = runMapper(translator.canonicalToStream("gpt-5.1-codex"), answer).join("");
    const { response, events } = await sdkParse(sse);
    assert.equal(events.at(-1)?.data.type, "response.completed");
    assert.ok(response);
    assert.equal(response.created_at, 1_700_000_000);
    const [reasoning, patch, shell, calendar] = response.output;
    assert.deepEqual(reasoning, {
      id: "rs_msg_01XYZ_0",
      type: "reasoning",
      summary: [{ type: "summary_text", text: "I should add the file, check, and book the meeting." }],
      encrypted_content: "tollgate.v1:anthropic:signature:EqQBCkYIBxgCKkA",
    });
    assert.deepEqual(patch, {
      id: "ctc_msg_01XYZ_1",
      type: "custom_tool_call",
      status: "completed",
      call_id: "toolu_patch",
      name: "apply_patch",
      input: PATCH,
    });
    assert.deepEqual(shell, {
      id: "lsc_msg_01XYZ_2",
      type: "local_shell_call",
      status: "completed",
      call_id: "toolu_shell",
      action: { type: "exec", command: ["bash", "-lc", "cat a.txt"], env: {}, timeout_ms: 5000 },
    });
    assert.deepEqual(calendar, {
      id: "fc_msg_01XYZ_3",
      type: "function_call",
      status: "completed",
      arguments: '{"title":"review"}',
      call_id: "toolu_cal",
      name: "create_event",
      namespace: "mcp__calendar__",
    });
    // The custom tool's input is streamed as custom_tool_call_input events.
    assert.ok(events.some((e) => e.data.type === "response.custom_tool_call_input.done"));
  });

  it("turn 2: Codex's history translates back to the same calls and the original signature", async () => {
    const sse = runMapper(translator.canonicalToStream("gpt-5.1-codex"), answer).join("");
    const { response } = await sdkParse(sse);
    assert.ok(response);
    const turn2 = {
      ...turn1,
      input: [
        ...(turn1.input as unknown[]),
        ...response.output,
        { type: "custom_tool_call_output", call_id: "toolu_patch", output: "Success. Updated: A a.txt" },
        { type: "function_call_output", call_id: "toolu_shell", output: '{"output":"hi\\n"}' },
        { type: "function_call_output", call_id: "toolu_cal", output: "created" },
      ],
    };
    const { value } = translator.requestToCanonical(turn2);
    const [assistant, results] = value.messages.slice(-2);
    assert.deepEqual(assistant, {
      role: "assistant",
      content: [
        {
          type: "reasoning",
          text: "I should add the file, check, and book the meeting.",
          opaque: { dialect: "anthropic", kind: "signature", value: "EqQBCkYIBxgCKkA" },
        },
        { type: "tool-call", id: "toolu_patch", name: "apply_patch", arguments: JSON.stringify({ input: PATCH }) },
        {
          type: "tool-call",
          id: "toolu_shell",
          name: "local_shell",
          arguments: '{"command":["bash","-lc","cat a.txt"],"timeout_ms":5000,"env":{}}',
        },
        { type: "tool-call", id: "toolu_cal", name: "mcp__calendar__create_event", arguments: '{"title":"review"}' },
      ],
    });
    assert.deepEqual(
      results?.content.map((part) => (part.type === "tool-result" ? [part.callId, part.name] : null)),
      [
        ["toolu_patch", "apply_patch"],
        ["toolu_shell", "local_shell"],
        ["toolu_cal", "mcp__calendar__create_event"],
      ],
    );
  });

  it("without the client's request, flat names go back as plain function calls (documented fallback)", async () => {
    const sse = runMapper(openAiResponsesTranslator.canonicalToStream("m"), answer).join("");
    const { response } = await sdkParse(sse);
    assert.deepEqual(
      response?.output.map((item) => [item.type, "name" in item ? item.name : null]),
      [
        ["reasoning", null],
        ["function_call", "apply_patch"],
        ["function_call", "local_shell"],
        ["function_call", "mcp__calendar__create_event"],
      ],
    );
  });
});
