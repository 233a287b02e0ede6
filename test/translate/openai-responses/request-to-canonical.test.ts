import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TranslationError } from "../../../src/translate/canonical.ts";
import { canonicalToRequest } from "../../../src/translate/openai-responses/canonical-to-request.ts";
import { requestToCanonical } from "../../../src/translate/openai-responses/request-to-canonical.ts";
import { validateOpenAIResponses } from "../../fixtures/mock-upstream/validate/index.ts";
import { codexRequest, PATCH } from "./codex-request.ts";

describe("Responses request → canonical: a Codex request", () => {
  const { value, warnings } = requestToCanonical(codexRequest());

  it("instructions and developer messages are the system prompt", () => {
    assert.equal(value.model, "gpt-5.1-codex");
    assert.deepEqual(value.system, [
      { type: "text", text: "You are Codex, a coding agent." },
      { type: "text", text: "<permissions>workspace-write</permissions>" },
    ]);
  });

  it("input items become alternating messages; calls and results keep their ids and flat names", () => {
    assert.deepEqual(value.messages, [
      {
        role: "user",
        content: [
          { type: "text", text: "# AGENTS.md\nUse pnpm." },
          { type: "text", text: "fix the bug" },
          { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
        ],
      },
      {
        role: "assistant",
        content: [
          {
            type: "reasoning",
            text: "Looking around",
            opaque: { dialect: "openai-responses", kind: "encrypted", value: "gAAAA-enc" },
          },
          { type: "tool-call", id: "call_1", name: "shell", arguments: '{"command":["ls"]}' },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool-result",
            callId: "call_1",
            name: "shell",
            content: [{ type: "text", text: "a.txt" }],
            isError: false,
          },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "tool-call", id: "call_2", name: "apply_patch", arguments: JSON.stringify({ input: PATCH }) },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool-result",
            callId: "call_2",
            name: "apply_patch",
            content: [{ type: "text", text: "Success" }],
            isError: false,
          },
        ],
      },
      {
        role: "assistant",
        content: [
          {
            type: "tool-call",
            id: "call_3",
            name: "local_shell",
            arguments: '{"command":["bash","-lc","pwd"],"working_directory":"/repo","timeout_ms":1000,"env":{}}',
          },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool-result",
            callId: "call_3",
            name: "local_shell",
            content: [{ type: "text", text: '{"output":"/repo\\n","metadata":{"exit_code":0}}' }],
            isError: false,
          },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "tool-call", id: "call_4", name: "mcp__calendar__create_event", arguments: '{"title":"standup"}' },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool-result",
            callId: "call_4",
            name: "mcp__calendar__create_event",
            content: [
              { type: "text", text: "created" },
              { type: "image", source: { kind: "url", url: "https://example.com/cal.png" } },
            ],
            isError: false,
          },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "Done." }] },
      { role: "user", content: [{ type: "text", text: "thanks" }] },
    ]);
  });

  it("custom, local_shell and namespace tools become function tools; hosted tools are dropped", () => {
    assert.deepEqual(
      value.tools.map((t) => t.name),
      ["shell", "apply_patch", "local_shell", "mcp__calendar__create_event"],
    );
    const patch = value.tools[1];
    assert.deepEqual(patch?.parameters.required, ["input"]);
    assert.match(JSON.stringify(patch?.parameters), /begin_patch hunk\+ end_patch/);
    assert.deepEqual(value.tools[3], {
      name: "mcp__calendar__create_event",
      description: "Create an event",
      parameters: { type: "object", properties: { title: { type: "string" } } },
    });
  });

  it("options carry over; every lossy step is a warning", () => {
    assert.deepEqual(value.toolChoice, { type: "auto" });
    assert.equal(value.parallelToolCalls, false);
    assert.deepEqual(value.reasoning, { effort: "high", budgetTokens: null });
    assert.equal(value.stream, true);
    assert.equal(value.responseFormat, null);
    assert.deepEqual(warnings, [
      'custom (free-form) tools are sent as function tools with one string argument "input"',
      'the local_shell tool is sent as a function tool named "local_shell"',
      'namespace tools are flattened to "<namespace>__<name>" function tools',
      'the hosted tool "web_search" runs only on OpenAI; dropped',
      'local_shell_call items are sent as calls of a function tool "local_shell"',
      'text.verbosity "low" is not supported; ignored',
    ]);
  });
});

describe("Responses request → canonical: options and small inputs", () => {
  it("a string input is one user message; sampling, format and user carry over", () => {
    const { value, warnings } = requestToCanonical({
      model: "m",
      input: "hi",
      max_output_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      user: "u-1",
      tool_choice: { type: "function", name: "lookup" },
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true } },
    });
    assert.deepEqual(value.messages, [{ role: "user", content: [{ type: "text", text: "hi" }] }]);
    assert.equal(value.maxOutputTokens, 300);
    assert.equal(value.temperature, 0.2);
    assert.equal(value.topP, 0.9);
    assert.equal(value.user, "u-1");
    assert.equal(value.stream, false);
    assert.deepEqual(value.toolChoice, { type: "tool", name: "lookup" });
    assert.deepEqual(value.responseFormat, {
      type: "json-schema",
      name: "answer",
      schema: { type: "object" },
      strict: true,
    });
    assert.deepEqual(warnings, []);
  });

  it("json_object format, effort none (no reasoning), a namespaced tool_choice", () => {
    const { value } = requestToCanonical({
      model: "m",
      input: [{ role: "user", content: "x" }],
      reasoning: { effort: "none" },
      text: { format: { type: "json_object" } },
      tool_choice: { type: "function", name: "create_event", namespace: "mcp__calendar__" },
    });
    assert.equal(value.reasoning, null);
    assert.deepEqual(value.responseFormat, { type: "json" });
    assert.deepEqual(value.toolChoice, { type: "tool", name: "mcp__calendar__create_event" });
  });

  it("store: true alone is a warning, not an error; a late developer message is moved with a warning", () => {
    const { value, warnings } = requestToCanonical({
      model: "m",
      store: true,
      input: [
        { role: "user", content: "a" },
        { role: "developer", content: "be brief" },
      ],
    });
    assert.deepEqual(value.system, [{ type: "text", text: "be brief" }]);
    assert.deepEqual(warnings, [
      "store: true ignored: the response is not stored, so it cannot be referenced later",
      "system/developer messages inside the conversation are moved to the system prompt",
    ]);
  });

  it("an assistant refusal in history is text; hosted-tool items are dropped with a warning", () => {
    const { value, warnings } = requestToCanonical({
      model: "m",
      input: [
        { type: "message", role: "assistant", content: [{ type: "refusal", refusal: "I can't" }] },
        { type: "web_search_call", id: "ws_1", status: "completed" },
      ],
    });
    assert.deepEqual(value.messages, [{ role: "assistant", content: [{ type: "text", text: "I can't" }] }]);
    assert.deepEqual(warnings, ['input item type "web_search_call" has no equivalent in translation; dropped']);
  });
});

describe("Responses request → canonical: refused with a TranslationError", () => {
  const cases: [string, unknown, RegExp][] = [
    [
      "previous_response_id",
      { model: "m", input: "x", previous_response_id: "resp_1" },
      /previous_response_id is not supported/,
    ],
    ["conversation", { model: "m", input: "x", conversation: "conv_1" }, /conversation is not supported/],
    ["stored prompt", { model: "m", prompt: { id: "pmpt_1" } }, /stored prompt templates/],
    ["background", { model: "m", input: "x", background: true }, /background/],
    [
      "item_reference",
      { model: "m", input: [{ type: "item_reference", id: "msg_1" }] },
      /item_reference is not supported/,
    ],
    [
      "image by file_id",
      { model: "m", input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1", detail: "auto" }] }] },
      /file_id/,
    ],
    [
      "input_file",
      { model: "m", input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }] },
      /input_file/,
    ],
    [
      "a data URL that is not base64",
      { model: "m", input: [{ role: "user", content: [{ type: "input_image", image_url: "data:image/png,abc" }] }] },
      /base64/,
    ],
    ["no model", { input: "x" }, /model is required/],
    ["not an object", [1, 2], /JSON object/],
    [
      "two tools with one flat name",
      {
        model: "m",
        tools: [
          { type: "function", name: "ns__f" },
          { type: "namespace", name: "ns", tools: [{ type: "function", name: "f" }] },
        ],
      },
      /both named "ns__f"/,
    ],
  ];
  for (const [name, body, message] of cases) {
    it(name, () => {
      assert.throws(
        () => requestToCanonical(body),
        (error: unknown) => error instanceof TranslationError && message.test(error.message),
      );
    });
  }
});

describe("Responses request → canonical → Responses request", () => {
  it("a Codex request keeps its meaning, and the body passes the upstream validator", () => {
    const first = requestToCanonical(codexRequest()).value;
    const { value: body, warnings } = canonicalToRequest(first);
    assert.equal(validateOpenAIResponses(body), null);
    assert.deepEqual(warnings, []);
    assert.equal(body.store, false);
    assert.deepEqual(body.include, ["reasoning.encrypted_content"]);
    const second = requestToCanonical(body).value;
    assert.deepEqual(second.messages, first.messages);
    assert.deepEqual(second.tools, first.tools);
    assert.deepEqual(second.system, [{ type: "text", text: first.system.map((p) => p.text).join("\n\n") }]);
    assert.deepEqual(
      { ...second, messages: null, tools: null, system: null },
      { ...first, messages: null, tools: null, system: null },
    );
  });
});
