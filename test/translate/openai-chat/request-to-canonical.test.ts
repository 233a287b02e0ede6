import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TranslationError } from "../../../src/translate/canonical.ts";
import { openAiChatRequestToCanonical } from "../../../src/translate/openai-chat/index.ts";

const toCanonical = openAiChatRequestToCanonical;

describe("openai-chat request → canonical: messages", () => {
  it("system and developer messages become the system prompt; one after the conversation started is moved, with a warning", () => {
    const { value, warnings } = toCanonical({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "Hi" },
        { role: "system", content: "Late rule." },
      ],
    });
    assert.deepEqual(value.system, [
      { type: "text", text: "You are terse." },
      { type: "text", text: "Answer in French." },
      { type: "text", text: "Late rule." },
    ]);
    assert.deepEqual(value.messages, [{ role: "user", content: [{ type: "text", text: "Hi" }] }]);
    assert.deepEqual(warnings, ["messages[3] (system) was moved into the system prompt"]);
  });

  it("user images: data: URLs become base64 images, http URLs stay URLs", () => {
    const { value, warnings } = toCanonical({
      model: "gpt-4o",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "high" } },
            { type: "image_url", image_url: { url: "data:image/svg+xml,%3Csvg%2F%3E" } },
          ],
        },
      ],
    });
    assert.deepEqual(value.messages[0]?.content, [
      { type: "text", text: "What is this?" },
      { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "/9j/4AAQ" } },
      { type: "image", source: { kind: "url", url: "https://example.com/cat.png" } },
      {
        type: "image",
        source: { kind: "base64", mediaType: "image/svg+xml", data: Buffer.from("<svg/>").toString("base64") },
      },
    ]);
    assert.deepEqual(warnings, ['messages[0].content[2]: image detail "high" was dropped']);
  });

  it("assistant turns: reasoning_content, text, refusal and tool calls; tool results carry the tool name", () => {
    const { value, warnings } = toCanonical({
      model: "deepseek-reasoner",
      messages: [
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: "Checking.",
          reasoning_content: "Two cities, two calls.",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            { id: "call_2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "18C" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "24C" }] },
        { role: "user", content: "Thanks" },
        { role: "assistant", content: null, refusal: "I can't help with that." },
      ],
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(value.messages, [
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "Two cities, two calls.", opaque: null },
          { type: "text", text: "Checking." },
          { type: "tool-call", id: "call_1", name: "weather", arguments: '{"city":"Paris"}' },
          { type: "tool-call", id: "call_2", name: "weather", arguments: '{"city":"Rome"}' },
        ],
      },
      // Consecutive tool messages share one user message, and the user's next words join it (tool results first).
      {
        role: "user",
        content: [
          {
            type: "tool-result",
            callId: "call_1",
            name: "weather",
            content: [{ type: "text", text: "18C" }],
            isError: false,
          },
          {
            type: "tool-result",
            callId: "call_2",
            name: "weather",
            content: [{ type: "text", text: "24C" }],
            isError: false,
          },
          { type: "text", text: "Thanks" },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "I can't help with that." }] },
    ]);
  });

  it("a tool result for an unknown call keeps a null name; a user message not after tool results stays separate", () => {
    const { value } = toCanonical({
      model: "m",
      messages: [
        { role: "tool", tool_call_id: "call_x", content: "ok" },
        { role: "assistant", content: "next" },
        { role: "user", content: "a" },
        { role: "user", content: "b" },
      ],
    });
    assert.deepEqual(value.messages[0], {
      role: "user",
      content: [
        { type: "tool-result", callId: "call_x", name: null, content: [{ type: "text", text: "ok" }], isError: false },
      ],
    });
    assert.equal(value.messages.length, 4);
  });

  it("legacy functions / function_call / role function map to tools, a choice and a matched result", () => {
    const { value } = toCanonical({
      model: "gpt-3.5-turbo",
      functions: [{ name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } }],
      function_call: { name: "lookup" },
      messages: [
        { role: "user", content: "find x" },
        { role: "assistant", content: null, function_call: { name: "lookup", arguments: '{"q":"x"}' } },
        { role: "function", name: "lookup", content: "found" },
      ],
    });
    assert.deepEqual(value.tools, [
      { name: "lookup", description: null, parameters: { type: "object", properties: { q: { type: "string" } } } },
    ]);
    assert.deepEqual(value.toolChoice, { type: "tool", name: "lookup" });
    const call = value.messages[1]?.content[0];
    const result = value.messages[2]?.content[0];
    assert.equal(call?.type, "tool-call");
    assert.equal(result?.type, "tool-result");
    if (call?.type === "tool-call" && result?.type === "tool-result") {
      assert.equal(result.callId, call.id);
      assert.equal(result.name, "lookup");
    }
  });

  it("a custom tool call in history is flattened into a function call taking {input}", () => {
    const { value, warnings } = toCanonical({
      model: "gpt-5",
      messages: [
        { role: "user", content: "patch it" },
        {
          role: "assistant",
          tool_calls: [{ id: "c1", type: "custom", custom: { name: "apply_patch", input: "*** Begin" } }],
        },
      ],
    });
    assert.deepEqual(value.messages[1]?.content, [
      { type: "tool-call", id: "c1", name: "apply_patch", arguments: '{"input":"*** Begin"}' },
    ]);
    assert.deepEqual(warnings, ["messages[1].tool_calls[0]: custom tool call flattened into a function call"]);
  });

  it("audio and file inputs, unknown roles, tool messages without tool_call_id and n > 1 are TranslationErrors", () => {
    const cases: unknown[] = [
      {
        model: "m",
        messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] }],
      },
      { model: "m", messages: [{ role: "user", content: [{ type: "file", file: { file_id: "f" } }] }] },
      { model: "m", messages: [{ role: "robot", content: "x" }] },
      { model: "m", messages: [{ role: "tool", content: "x" }] },
      { model: "m", messages: [{ role: "user", content: "x" }], n: 2 },
      { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x" } }] }] },
      { model: "m", messages: "hi" },
      { messages: [] },
      "not an object",
    ];
    for (const body of cases) {
      assert.throws(() => toCanonical(body), TranslationError, JSON.stringify(body));
    }
  });

  it("content the target cannot carry is dropped with a warning, never silently", () => {
    const { value, warnings } = toCanonical({
      model: "m",
      messages: [
        { role: "system", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] },
        { role: "user", name: "alice", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] },
        { role: "user", content: [{ type: "mystery" }] },
      ],
      seed: 7,
      frequency_penalty: 0.5,
      logprobs: false,
      store: false,
      n: 1,
    });
    assert.deepEqual(value.system, []);
    assert.deepEqual(warnings, [
      "`seed` is not supported by the target provider and was dropped",
      "`frequency_penalty` is not supported by the target provider and was dropped",
      "messages[0].content[0]: an image in a system message was dropped",
      "messages[1].name was dropped",
      "messages[1]: prompt cache breakpoints are not carried",
      'messages[2].content[0]: content part of type "mystery" was dropped',
      "messages[2] (user) is empty and was dropped",
    ]);
  });
});

describe("openai-chat request → canonical: options and tools", () => {
  it("reads every generation option", () => {
    const { value, warnings } = toCanonical({
      model: "o4-mini",
      messages: [{ role: "user", content: "x" }],
      max_completion_tokens: 500,
      max_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      stop: "END",
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: "high",
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
      user: "user-42",
      parallel_tool_calls: false,
    });
    assert.deepEqual(warnings, []);
    assert.equal(value.model, "o4-mini");
    assert.equal(value.maxOutputTokens, 500);
    assert.equal(value.temperature, 0.2);
    assert.equal(value.topP, 0.9);
    assert.equal(value.topK, null);
    assert.deepEqual(value.stop, ["END"]);
    assert.equal(value.stream, true);
    assert.deepEqual(value.reasoning, { budgetTokens: null, effort: "high" });
    assert.deepEqual(value.responseFormat, {
      type: "json-schema",
      name: "answer",
      schema: { type: "object" },
      strict: true,
    });
    assert.equal(value.user, "user-42");
    assert.equal(value.parallelToolCalls, false);
  });

  it("defaults: nothing set reads as null / empty", () => {
    const { value } = toCanonical({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      max_tokens: 64,
      stop: ["a", "b"],
    });
    assert.equal(value.maxOutputTokens, 64);
    assert.deepEqual(value.stop, ["a", "b"]);
    assert.equal(value.stream, false);
    assert.equal(value.reasoning, null);
    assert.equal(value.responseFormat, null);
    assert.equal(value.toolChoice, null);
    assert.equal(value.parallelToolCalls, null);
    assert.equal(value.user, null);
    assert.deepEqual(value.tools, []);
    const json = toCanonical({ model: "m", messages: [], response_format: { type: "json_object" } }).value;
    assert.deepEqual(json.responseFormat, { type: "json" });
  });

  it("function tools are kept; other tool types are dropped with a warning; strict is reported", () => {
    const { value, warnings } = toCanonical({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather",
            parameters: { type: "object", properties: {} },
            strict: true,
          },
        },
        { type: "function", function: { name: "ping" } },
        { type: "custom", custom: { name: "apply_patch" } },
      ],
      tool_choice: "required",
    });
    assert.deepEqual(value.tools, [
      { name: "get_weather", description: "Weather", parameters: { type: "object", properties: {} } },
      { name: "ping", description: null, parameters: { type: "object", properties: {} } },
    ]);
    assert.deepEqual(value.toolChoice, { type: "required" });
    assert.deepEqual(warnings, [
      "tool get_weather: strict mode is not carried",
      'tool apply_patch of type "custom" is not supported and was dropped',
    ]);
  });

  it("tool_choice: auto, none, a named function, and allowed_tools (which narrows the tool list)", () => {
    const base = {
      model: "m",
      messages: [{ role: "user", content: "x" }],
      tools: ["a", "b", "c"].map((name) => ({ type: "function", function: { name } })),
    };
    assert.deepEqual(toCanonical({ ...base, tool_choice: "auto" }).value.toolChoice, { type: "auto" });
    assert.deepEqual(toCanonical({ ...base, tool_choice: "none" }).value.toolChoice, { type: "none" });
    assert.deepEqual(
      toCanonical({ ...base, tool_choice: { type: "function", function: { name: "b" } } }).value.toolChoice,
      {
        type: "tool",
        name: "b",
      },
    );
    const allowed = toCanonical({
      ...base,
      tool_choice: {
        type: "allowed_tools",
        allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "c" } }] },
      },
    }).value;
    assert.deepEqual(allowed.toolChoice, { type: "required" });
    assert.deepEqual(
      allowed.tools.map((t) => t.name),
      ["c"],
    );
    const custom = toCanonical({ ...base, tool_choice: { type: "custom", custom: { name: "x" } } });
    assert.equal(custom.value.toolChoice, null);
    assert.equal(custom.warnings.length, 1);
  });
});
