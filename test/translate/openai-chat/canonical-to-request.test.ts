import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CanonicalRequest } from "../../../src/translate/canonical.ts";
import {
  canonicalToOpenAiChatRequest,
  openAiChatRequestToCanonical,
} from "../../../src/translate/openai-chat/index.ts";
import { validateOpenAIChat } from "../../fixtures/mock-upstream/validate/index.ts";

function request(overrides: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    model: "gpt-4.1",
    system: [],
    messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
    tools: [],
    toolChoice: null,
    parallelToolCalls: null,
    maxOutputTokens: null,
    temperature: null,
    topP: null,
    topK: null,
    stop: [],
    stream: false,
    reasoning: null,
    responseFormat: null,
    user: null,
    ...overrides,
  };
}

/** Converts and checks the body passes the mock upstream's copy of api.openai.com's validation. */
function toChat(req: CanonicalRequest) {
  const out = canonicalToOpenAiChatRequest(req);
  assert.equal(validateOpenAIChat(out.value), null, JSON.stringify(validateOpenAIChat(out.value)));
  return out;
}

describe("canonical → openai-chat request", () => {
  it("a minimal request is a valid Chat body", () => {
    const { value, warnings } = toChat(request());
    assert.deepEqual(value, { model: "gpt-4.1", messages: [{ role: "user", content: "Hello" }] });
    assert.deepEqual(warnings, []);
  });

  it("system parts become one system message; options map to Chat names (max_completion_tokens, stream_options)", () => {
    const { value, warnings } = toChat(
      request({
        // A reasoning model: gpt-4.1 would not get reasoning_effort (openai-limits.test.ts).
        model: "o4-mini",
        system: [
          { type: "text", text: "You are Claude Code." },
          { type: "text", text: "Be brief." },
        ],
        maxOutputTokens: 1024,
        temperature: 0.5,
        topP: 0.8,
        stop: ["\n\nHuman:"],
        stream: true,
        reasoning: { budgetTokens: null, effort: "low" },
        responseFormat: { type: "json-schema", name: "out", schema: { type: "object" }, strict: true },
        user: "u1",
      }),
    );
    assert.deepEqual(value, {
      model: "o4-mini",
      messages: [
        { role: "system", content: "You are Claude Code.\n\nBe brief." },
        { role: "user", content: "Hello" },
      ],
      max_completion_tokens: 1024,
      temperature: 0.5,
      top_p: 0.8,
      stop: ["\n\nHuman:"],
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: "low",
      response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" }, strict: true } },
      user: "u1",
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(toChat(request({ responseFormat: { type: "json" } })).value.response_format, {
      type: "json_object",
    });
  });

  it("maxTokensField: max_tokens for compatible servers that ignore max_completion_tokens (DeepSeek)", () => {
    const { value } = canonicalToOpenAiChatRequest(request({ maxOutputTokens: 300 }), { maxTokensField: "max_tokens" });
    assert.equal(value.max_tokens, 300);
    assert.equal(value.max_completion_tokens, undefined);
    assert.equal(validateOpenAIChat(value), null);
  });

  it("what Chat cannot take is dropped with a warning: top_k, a thinking budget, a fifth stop sequence", () => {
    const { value, warnings } = toChat(
      request({ topK: 40, reasoning: { budgetTokens: 8000, effort: null }, stop: ["a", "b", "c", "d", "e"] }),
    );
    assert.equal(value.reasoning_effort, undefined);
    assert.deepEqual(value.stop, ["a", "b", "c", "d"]);
    assert.deepEqual(warnings, [
      "`top_k` is not supported by Chat Completions and was dropped",
      "only the first 4 of 5 stop sequences were sent",
      "the thinking budget has no Chat Completions equivalent and was dropped",
    ]);
  });

  it("tools, tool choice and parallel_tool_calls; Gemini-style upper-case schema types are lower-cased", () => {
    const { value } = toChat(
      request({
        tools: [
          {
            name: "search",
            description: "Search the web",
            parameters: { type: "OBJECT", properties: { q: { type: "STRING" }, n: { type: ["INTEGER", "NULL"] } } },
          },
          { name: "noop", description: null, parameters: {} },
        ],
        toolChoice: { type: "tool", name: "search" },
        parallelToolCalls: true,
      }),
    );
    assert.deepEqual(value.tools, [
      {
        type: "function",
        function: {
          name: "search",
          description: "Search the web",
          parameters: { type: "object", properties: { q: { type: "string" }, n: { type: ["integer", "null"] } } },
        },
      },
      { type: "function", function: { name: "noop", parameters: { type: "object", properties: {} } } },
    ]);
    assert.deepEqual(value.tool_choice, { type: "function", function: { name: "search" } });
    assert.equal(value.parallel_tool_calls, true);
    for (const [choice, wire] of [
      ["auto", "auto"],
      ["none", "none"],
      ["required", "required"],
    ] as const) {
      const body = toChat(
        request({
          tools: [{ name: "t", description: null, parameters: { type: "object" } }],
          toolChoice: { type: choice },
        }),
      ).value;
      assert.equal(body.tool_choice, wire);
    }
  });

  it("tool_choice and parallel_tool_calls are left out without tools (OpenAI rejects them)", () => {
    const { value } = toChat(request({ toolChoice: { type: "none" }, parallelToolCalls: false }));
    assert.equal(value.tool_choice, undefined);
    assert.equal(value.parallel_tool_calls, undefined);
  });

  it("tool results become one tool message each, before the rest of their user message", () => {
    const { value, warnings } = toChat(
      request({
        messages: [
          { role: "user", content: [{ type: "text", text: "Weather?" }] },
          {
            role: "assistant",
            content: [
              { type: "text", text: "Let me check." },
              { type: "tool-call", id: "toolu_1", name: "weather", arguments: '{"city":"Paris"}' },
              { type: "tool-call", id: "toolu_2", name: "time", arguments: "" },
            ],
          },
          {
            role: "user",
            content: [
              {
                type: "tool-result",
                callId: "toolu_1",
                name: "weather",
                content: [{ type: "text", text: "18C" }],
                isError: false,
              },
              {
                type: "tool-result",
                callId: "toolu_2",
                name: "time",
                content: [
                  { type: "text", text: "line 1" },
                  { type: "text", text: "line 2" },
                ],
                isError: true,
              },
              { type: "text", text: "And tomorrow?" },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(value.messages, [
      { role: "user", content: "Weather?" },
      {
        role: "assistant",
        content: "Let me check.",
        tool_calls: [
          { id: "toolu_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          { id: "toolu_2", type: "function", function: { name: "time", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "18C" },
      { role: "tool", tool_call_id: "toolu_2", content: "line 1\nline 2" },
      { role: "user", content: "And tomorrow?" },
    ]);
    assert.deepEqual(warnings, ["tool result toolu_2: the error flag is not carried by Chat Completions"]);
  });

  it("images: user images as image_url parts; tool-result images move to a user message after the tool messages", () => {
    const { value, warnings } = toChat(
      request({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Compare" },
              { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0K" } },
              { type: "image", source: { kind: "url", url: "https://example.com/a.jpg" } },
            ],
          },
          { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "screenshot", arguments: "{}" }] },
          {
            role: "user",
            content: [
              {
                type: "tool-result",
                callId: "c1",
                name: "screenshot",
                content: [
                  { type: "text", text: "Taken." },
                  { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "/9j/" } },
                ],
                isError: false,
              },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(value.messages, [
      {
        role: "user",
        content: [
          { type: "text", text: "Compare" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0K" } },
          { type: "image_url", image_url: { url: "https://example.com/a.jpg" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "screenshot", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c1", content: "Taken.\n[1 image(s): see the next user message]" },
      {
        role: "user",
        content: [
          { type: "text", text: "Image(s) returned by tool call c1:" },
          { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/" } },
        ],
      },
    ]);
    assert.deepEqual(warnings, ["tool result c1: images moved to a user message (Chat tool messages carry text only)"]);
  });

  it("reasoning parts are dropped (another provider's signature never leaves); a warning only when they had text", () => {
    const signed = toChat(
      request({
        messages: [
          { role: "user", content: [{ type: "text", text: "2+2?" }] },
          {
            role: "assistant",
            content: [
              {
                type: "reasoning",
                text: "Simple sum.",
                opaque: { dialect: "anthropic", kind: "signature", value: "SIG" },
              },
              { type: "text", text: "4" },
            ],
          },
          {
            role: "assistant",
            content: [
              { type: "reasoning", text: "", opaque: { dialect: "openai-responses", kind: "encrypted", value: "ENC" } },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(signed.value.messages, [
      { role: "user", content: "2+2?" },
      { role: "assistant", content: "4" },
    ]);
    assert.doesNotMatch(JSON.stringify(signed.value), /SIG|ENC|Simple sum/);
    assert.deepEqual(signed.warnings, ["1 reasoning part(s) dropped: Chat Completions cannot carry reasoning back"]);
  });

  it("parts in the wrong message are dropped with a warning", () => {
    const { value, warnings } = toChat(
      request({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "hi" },
              { type: "tool-call", id: "x", name: "y", arguments: "{}" },
            ],
          },
          { role: "assistant", content: [{ type: "image", source: { kind: "url", url: "https://x/y.png" } }] },
        ],
      }),
    );
    assert.deepEqual(value.messages, [{ role: "user", content: "hi" }]);
    assert.deepEqual(warnings, [
      "messages[0]: a part of type tool-call in a user message was dropped",
      "messages[1]: a part of type image in an assistant message was dropped",
      "messages[1]: an empty assistant message was dropped",
    ]);
  });
});

describe("openai-chat request round trip (client body → canonical → Chat body)", () => {
  it("an agent turn keeps its meaning; only spellings are normalised", () => {
    const client = {
      // A reasoning model, so reasoning_effort survives (openai-limits.test.ts).
      model: "o4-mini",
      messages: [
        { role: "developer", content: "You are a coding agent." },
        { role: "user", content: [{ type: "text", text: "List files" }] },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "bash", arguments: '{"cmd":"ls"}' } },
            { id: "call_b", type: "function", function: { name: "bash", arguments: '{"cmd":"pwd"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_a", content: "a.ts\nb.ts" },
        { role: "tool", tool_call_id: "call_b", content: "/work" },
        { role: "assistant", content: "Two files in /work." },
        {
          role: "user",
          content: [
            { type: "text", text: "And this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          ],
        },
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "bash",
            description: "Run a command",
            parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] },
          },
        },
      ],
      tool_choice: "auto",
      parallel_tool_calls: true,
      max_tokens: 2048,
      temperature: 0,
      stop: ["<END>"],
      stream: true,
      reasoning_effort: "medium",
      response_format: { type: "json_object" },
      user: "dev-1",
    };
    const canonical = openAiChatRequestToCanonical(client);
    assert.deepEqual(canonical.warnings, []);
    const { value, warnings } = toChat(canonical.value);
    assert.deepEqual(warnings, []);
    assert.deepEqual(value, {
      model: "o4-mini",
      messages: [
        { role: "system", content: "You are a coding agent." },
        { role: "user", content: "List files" },
        client.messages[2],
        client.messages[3],
        client.messages[4],
        client.messages[5],
        client.messages[6],
      ],
      tools: client.tools,
      tool_choice: "auto",
      parallel_tool_calls: true,
      max_completion_tokens: 2048,
      temperature: 0,
      stop: ["<END>"],
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: "medium",
      response_format: { type: "json_object" },
      user: "dev-1",
    });
  });
});
