import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CanonicalRequest } from "../../../src/translate/canonical.ts";
import { canonicalToRequest } from "../../../src/translate/openai-responses/canonical-to-request.ts";
import { validateOpenAIResponses } from "../../fixtures/mock-upstream/validate/index.ts";

function request(overrides: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    model: "gpt-5.1",
    system: [],
    messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
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

describe("canonical → Responses request", () => {
  it("a Claude Code conversation (thinking, tool use, images, errors) becomes a stateless Responses body", () => {
    const { value, warnings } = canonicalToRequest(
      request({
        system: [
          { type: "text", text: "You are Claude Code." },
          { type: "text", text: "Be brief." },
        ],
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is in this picture?" },
              { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "/9j/4AAQ" } },
              { type: "image", source: { kind: "url", url: "https://example.com/b.png" } },
            ],
          },
          {
            role: "assistant",
            content: [
              {
                type: "reasoning",
                text: "Let me look.",
                opaque: { dialect: "anthropic", kind: "signature", value: "SIG" },
              },
              { type: "text", text: "Reading the file." },
              { type: "tool-call", id: "toolu_1", name: "Read", arguments: '{"path":"a.txt"}' },
              { type: "tool-call", id: "toolu_2", name: "Ping", arguments: "" },
            ],
          },
          {
            role: "user",
            content: [
              {
                type: "tool-result",
                callId: "toolu_1",
                name: "Read",
                content: [{ type: "text", text: "hello" }],
                isError: false,
              },
              {
                type: "tool-result",
                callId: "toolu_2",
                name: "Ping",
                content: [
                  { type: "text", text: "failed" },
                  { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBO" } },
                ],
                isError: true,
              },
              { type: "text", text: "go on" },
            ],
          },
        ],
        tools: [
          {
            name: "Read",
            description: "Reads a file",
            parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
          },
          { name: "Ping", description: null, parameters: { type: "object" } },
        ],
        toolChoice: { type: "tool", name: "Read" },
        parallelToolCalls: true,
        maxOutputTokens: 8,
        temperature: 0.5,
        topP: 0.9,
        topK: 40,
        stop: ["\n\nHuman:"],
        stream: true,
        reasoning: { budgetTokens: 8000, effort: null },
        responseFormat: { type: "json-schema", name: "out", schema: { type: "object" }, strict: true },
        user: "user-7",
      }),
    );
    assert.deepEqual(value, {
      model: "gpt-5.1",
      input: [
        {
          type: "message",
          role: "user",
          content: [
            { type: "input_text", text: "What is in this picture?" },
            { type: "input_image", image_url: "data:image/jpeg;base64,/9j/4AAQ", detail: "auto" },
            { type: "input_image", image_url: "https://example.com/b.png", detail: "auto" },
          ],
        },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Reading the file." }] },
        { type: "function_call", call_id: "toolu_1", name: "Read", arguments: '{"path":"a.txt"}' },
        { type: "function_call", call_id: "toolu_2", name: "Ping", arguments: "{}" },
        { type: "function_call_output", call_id: "toolu_1", output: "hello" },
        {
          type: "function_call_output",
          call_id: "toolu_2",
          output: [
            { type: "input_text", text: "failed" },
            { type: "input_image", image_url: "data:image/png;base64,iVBO", detail: "auto" },
          ],
        },
        { type: "message", role: "user", content: [{ type: "input_text", text: "go on" }] },
      ],
      store: false,
      stream: true,
      instructions: "You are Claude Code.\n\nBe brief.",
      tools: [
        {
          type: "function",
          name: "Read",
          parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
          strict: false,
          description: "Reads a file",
        },
        { type: "function", name: "Ping", parameters: { type: "object", properties: {} }, strict: false },
      ],
      tool_choice: { type: "function", name: "Read" },
      parallel_tool_calls: true,
      max_output_tokens: 16,
      temperature: 0.5,
      top_p: 0.9,
      reasoning: { effort: "medium" },
      include: ["reasoning.encrypted_content"],
      text: { format: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true } },
      user: "user-7",
    });
    assert.deepEqual(warnings, [
      "reasoning from another provider cannot be sent to the Responses API; dropped",
      "the Responses API has no error flag for tool results; sent as output",
      "max_output_tokens raised to the Responses API minimum of 16",
      "top_k is not supported by the Responses API; dropped",
      "stop sequences are not supported by the Responses API; dropped",
      "a thinking token budget is sent as a reasoning effort",
    ]);
    assert.equal(validateOpenAIResponses(value), null);
  });

  it("OpenAI's own reasoning goes back with its encrypted_content; no include without reasoning", () => {
    const withReasoning = canonicalToRequest(
      request({
        messages: [
          { role: "user", content: [{ type: "text", text: "q" }] },
          {
            role: "assistant",
            content: [
              {
                type: "reasoning",
                text: "",
                opaque: { dialect: "openai-responses", kind: "encrypted", value: "gAAA" },
              },
              { type: "text", text: "a" },
            ],
          },
        ],
      }),
    ).value;
    assert.deepEqual(withReasoning.input, [
      { type: "message", role: "user", content: [{ type: "input_text", text: "q" }] },
      { type: "reasoning", summary: [], encrypted_content: "gAAA" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "a" }] },
    ]);
    assert.deepEqual(withReasoning.include, ["reasoning.encrypted_content"]);
    const plain = canonicalToRequest(request({ toolChoice: { type: "none" } })).value;
    assert.equal(plain.include, undefined);
    assert.equal(plain.tool_choice, "none");
  });

  it("Gemini-style schemas (upper-case types, no root type) are adapted to an object schema", () => {
    const { value } = canonicalToRequest(
      request({
        tools: [
          { name: "f", description: "d", parameters: { properties: { n: { type: "INTEGER" } }, required: ["n"] } },
        ],
      }),
    );
    assert.deepEqual(value.tools, [
      {
        type: "function",
        name: "f",
        parameters: { properties: { n: { type: "integer" } }, required: ["n"], type: "object" },
        strict: false,
        description: "d",
      },
    ]);
  });

  it("json mode and an explicit effort", () => {
    const { value, warnings } = canonicalToRequest(
      request({ responseFormat: { type: "json" }, reasoning: { effort: "low", budgetTokens: null } }),
    );
    assert.deepEqual(value.text, { format: { type: "json_object" } });
    assert.deepEqual(value.reasoning, { effort: "low" });
    assert.deepEqual(warnings, []);
  });
});
