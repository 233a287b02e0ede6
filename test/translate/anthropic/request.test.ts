import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalToAnthropicRequest } from "../../../src/translate/anthropic/canonical-to-request.ts";
import { anthropicRequestToCanonical } from "../../../src/translate/anthropic/request-to-canonical.ts";
import { type CanonicalRequest, type JsonObject, TranslationError } from "../../../src/translate/canonical.ts";
import { validateAnthropicMessages } from "../../fixtures/mock-upstream/validate/index.ts";

/** A Claude Code style turn: billing header, cached system blocks, thinking with signatures, tools, tool results. */
const CLAUDE_CODE_BODY = {
  model: "claude-sonnet-4-5-20250929",
  max_tokens: 32000,
  stream: true,
  system: [
    { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.84.c8e; cc_entrypoint=cli; cch=36ee5;" },
    { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
    { type: "text", text: "Be brief.", cache_control: { type: "ephemeral", ttl: "1h" } },
  ],
  messages: [
    { role: "user", content: [{ type: "text", text: "What is in /tmp?", cache_control: { type: "ephemeral" } }] },
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "List it.", signature: "EqSig1" },
        { type: "redacted_thinking", data: "REDACTED1" },
        { type: "text", text: "Let me look." },
        { type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls /tmp" } },
        { type: "tool_use", id: "toolu_2", name: "Read", input: { path: "/tmp/a.png" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_1", content: "a.png\nb.txt" },
        {
          type: "tool_result",
          tool_use_id: "toolu_2",
          content: [
            { type: "text", text: "image:" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          ],
        },
        { type: "text", text: "Describe the image." },
      ],
    },
    { role: "assistant", content: "It is a logo." },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "late", is_error: true }] },
  ],
  tools: [
    {
      name: "Bash",
      description: "Run a command",
      input_schema: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
      cache_control: { type: "ephemeral" },
    },
    { name: "Read", input_schema: { type: "object", properties: { path: { type: "string" } } } },
  ],
  tool_choice: { type: "auto", disable_parallel_tool_use: true },
  thinking: { type: "enabled", budget_tokens: 10000 },
  stop_sequences: ["END"],
  metadata: { user_id: "user_abc" },
  temperature: 1,
};

function canonicalOf(body: unknown): CanonicalRequest {
  return anthropicRequestToCanonical(body).value;
}

function baseRequest(overrides: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    model: "claude-sonnet-4-5-20250929",
    system: [],
    messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    tools: [],
    toolChoice: null,
    parallelToolCalls: null,
    maxOutputTokens: 1024,
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

/** The mock upstream's copy of api.anthropic.com's request checks. */
function assertValid(body: JsonObject): void {
  assert.equal(validateAnthropicMessages(body, {}), null, JSON.stringify(validateAnthropicMessages(body, {})));
}

describe("Anthropic request → canonical", () => {
  it("reads a Claude Code turn; the billing header and cache_control are dropped without warnings", () => {
    const { value, warnings } = anthropicRequestToCanonical(CLAUDE_CODE_BODY);
    assert.deepEqual(warnings, []);
    assert.deepEqual(value.system, [
      { type: "text", text: "You are Claude Code." },
      { type: "text", text: "Be brief." },
    ]);
    assert.ok(!JSON.stringify(value).includes("x-anthropic-billing-header"));
    assert.equal(value.model, "claude-sonnet-4-5-20250929");
    assert.equal(value.maxOutputTokens, 32000);
    assert.equal(value.stream, true);
    assert.deepEqual(value.stop, ["END"]);
    assert.equal(value.user, "user_abc");
    assert.equal(value.temperature, 1);
    assert.deepEqual(value.reasoning, { budgetTokens: 10000, effort: null });
    assert.deepEqual(value.toolChoice, { type: "auto" });
    assert.equal(value.parallelToolCalls, false);
    assert.deepEqual(value.tools[1], {
      name: "Read",
      description: null,
      parameters: { type: "object", properties: { path: { type: "string" } } },
    });
    assert.deepEqual(value.messages[1]?.content, [
      { type: "reasoning", text: "List it.", opaque: { dialect: "anthropic", kind: "signature", value: "EqSig1" } },
      { type: "reasoning", text: "", opaque: { dialect: "anthropic", kind: "redacted", value: "REDACTED1" } },
      { type: "text", text: "Let me look." },
      { type: "tool-call", id: "toolu_1", name: "Bash", arguments: '{"command":"ls /tmp"}' },
      { type: "tool-call", id: "toolu_2", name: "Read", arguments: '{"path":"/tmp/a.png"}' },
    ]);
    assert.deepEqual(value.messages[2]?.content, [
      {
        type: "tool-result",
        callId: "toolu_1",
        name: "Bash",
        content: [{ type: "text", text: "a.png\nb.txt" }],
        isError: false,
      },
      {
        type: "tool-result",
        callId: "toolu_2",
        name: "Read",
        content: [
          { type: "text", text: "image:" },
          { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
        ],
        isError: false,
      },
      { type: "text", text: "Describe the image." },
    ]);
    assert.deepEqual(value.messages[4]?.content, [
      { type: "tool-result", callId: "toolu_9", name: null, content: [{ type: "text", text: "late" }], isError: true },
    ]);
  });

  it("a billing header inside a system string loses only its own line", () => {
    const value = canonicalOf({
      model: "m",
      max_tokens: 10,
      system: "x-anthropic-billing-header: cc_version=1; cch=00000;\nYou are helpful.",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.deepEqual(value.system, [{ type: "text", text: "You are helpful." }]);
  });

  it("role: system messages inside messages become system text, in order", () => {
    const value = canonicalOf({
      model: "m",
      max_tokens: 10,
      system: "First.",
      messages: [
        { role: "user", content: "hi" },
        { role: "system", content: [{ type: "text", text: "Mid-conversation rule." }] },
        { role: "assistant", content: "hello" },
      ],
    });
    assert.deepEqual(
      value.system.map((p) => p.text),
      ["First.", "Mid-conversation rule."],
    );
    assert.deepEqual(
      value.messages.map((m) => m.role),
      ["user", "assistant"],
    );
  });

  it("server tools and their blocks are dropped with warnings; a message left empty disappears", () => {
    const { value, warnings } = anthropicRequestToCanonical({
      model: "m",
      max_tokens: 10,
      messages: [
        { role: "user", content: "search the web" },
        {
          role: "assistant",
          content: [
            { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "x" } },
            { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] },
          ],
        },
        { role: "assistant", content: [{ type: "text", text: "Found it." }] },
      ],
      tools: [
        { type: "web_search_20250305", name: "web_search", max_uses: 3 },
        { type: "bash_20250124", name: "bash" },
      ],
      mcp_servers: [{ type: "url", url: "https://example.com", name: "x" }],
    });
    assert.equal(value.tools.length, 0);
    assert.deepEqual(
      value.messages.map((m) => m.role),
      ["user", "assistant"],
    );
    assert.deepEqual(warnings, [
      "Anthropic server-tool content (server_tool_use) cannot be sent to another provider and was dropped",
      "Anthropic server-tool content (web_search_tool_result) cannot be sent to another provider and was dropped",
      'Anthropic request field "mcp_servers" is not translated and was dropped',
      'Anthropic built-in tool "web_search" (web_search_20250305) cannot be translated and was dropped',
      'Anthropic built-in tool "bash" (bash_20250124) cannot be translated and was dropped',
    ]);
  });

  it("tool_choice any/tool/none, adaptive thinking with effort, structured output, url images, text documents", () => {
    const value = canonicalOf({
      model: "claude-opus-4-7",
      max_tokens: 100,
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
            { type: "document", title: "Notes", source: { type: "text", media_type: "text/plain", data: "abc" } },
          ],
        },
      ],
      tools: [{ name: "f", input_schema: { type: "object" } }],
      tool_choice: { type: "tool", name: "f" },
      thinking: { type: "adaptive" },
      output_config: { effort: "high", format: { type: "json_schema", schema: { type: "object" } } },
    });
    assert.deepEqual(value.toolChoice, { type: "tool", name: "f" });
    assert.equal(value.parallelToolCalls, null);
    assert.deepEqual(value.reasoning, { budgetTokens: null, effort: "high" });
    assert.deepEqual(value.responseFormat, {
      type: "json-schema",
      name: "response",
      schema: { type: "object" },
      strict: true,
    });
    assert.deepEqual(value.messages[0]?.content, [
      { type: "image", source: { kind: "url", url: "https://example.com/a.png" } },
      { type: "text", text: "Notes\n\nabc" },
    ]);
    assert.deepEqual(canonicalOf({ model: "m", messages: [], tool_choice: { type: "any" } }).toolChoice, {
      type: "required",
    });
    assert.deepEqual(canonicalOf({ model: "m", messages: [], tool_choice: { type: "none" } }).toolChoice, {
      type: "none",
    });
    assert.equal(canonicalOf({ model: "m", messages: [], thinking: { type: "disabled" } }).reasoning, null);
  });

  it("PDF documents become a placeholder with a warning, so an old PDF does not break the session", () => {
    const { value, warnings } = anthropicRequestToCanonical({
      model: "m",
      max_tokens: 10,
      messages: [
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Read", input: {} }] },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "t1",
              content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBE" } }],
            },
          ],
        },
      ],
    });
    const result = value.messages[1]?.content[0];
    assert.equal(result?.type, "tool-result");
    assert.deepEqual(result?.type === "tool-result" ? result.content : null, [
      { type: "text", text: "[document omitted]" },
    ]);
    assert.deepEqual(warnings, ["Anthropic PDF/file document blocks cannot be translated; a placeholder was sent"]);
  });

  it("rejects bodies that are not Messages requests", () => {
    assert.throws(() => anthropicRequestToCanonical([]), TranslationError);
    assert.throws(() => anthropicRequestToCanonical({ model: "m" }), /messages: Field required/);
    assert.throws(() => anthropicRequestToCanonical({ messages: [] }), /model: Field required/);
    assert.throws(
      () => anthropicRequestToCanonical({ model: "m", messages: [{ role: "tool", content: "x" }] }),
      TranslationError,
    );
    assert.throws(
      () => anthropicRequestToCanonical({ model: "m", messages: [], system: [{ type: "image" }] }),
      TranslationError,
    );
  });
});

describe("Anthropic request → canonical → Anthropic: round trip", () => {
  it("keeps the meaning of a Claude Code turn, and the result passes Anthropic's request checks", () => {
    const { value, warnings } = canonicalToAnthropicRequest(canonicalOf(CLAUDE_CODE_BODY));
    assertValid(value);
    assert.deepEqual(warnings, ["A tool result without its tool call in the previous assistant turn was sent as text"]);
    assert.deepEqual(value, {
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 32000,
      messages: [
        { role: "user", content: [{ type: "text", text: "What is in /tmp?" }] },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "List it.", signature: "EqSig1" },
            { type: "redacted_thinking", data: "REDACTED1" },
            { type: "text", text: "Let me look." },
            { type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls /tmp" } },
            { type: "tool_use", id: "toolu_2", name: "Read", input: { path: "/tmp/a.png" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "a.png\nb.txt" }] },
            {
              type: "tool_result",
              tool_use_id: "toolu_2",
              content: [
                { type: "text", text: "image:" },
                { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
              ],
            },
            { type: "text", text: "Describe the image." },
          ],
        },
        { role: "assistant", content: [{ type: "text", text: "It is a logo." }] },
        // toolu_9 has no tool_use in the turn before: Anthropic would reject it as a block.
        { role: "user", content: [{ type: "text", text: "[tool result toolu_9]\nlate" }] },
      ],
      system: [
        { type: "text", text: "You are Claude Code." },
        { type: "text", text: "Be brief." },
      ],
      tools: [
        {
          name: "Bash",
          input_schema: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
          description: "Run a command",
        },
        { name: "Read", input_schema: { type: "object", properties: { path: { type: "string" } } } },
      ],
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
      thinking: { type: "enabled", budget_tokens: 10000 },
      temperature: 1,
      stop_sequences: ["END"],
      metadata: { user_id: "user_abc" },
      stream: true,
    });
  });

  it("adaptive thinking with effort survives the round trip on a model that has it", () => {
    const body = {
      model: "claude-opus-4-7",
      max_tokens: 64000,
      messages: [{ role: "user", content: "hi" }],
      thinking: { type: "adaptive" },
      output_config: { effort: "xhigh" },
    };
    const { value, warnings } = canonicalToAnthropicRequest(canonicalOf(body));
    assert.deepEqual(warnings, []);
    assert.deepEqual(value.thinking, { type: "adaptive" });
    assert.deepEqual(value.output_config, { effort: "xhigh" });
  });
});

describe("canonical → Anthropic request", () => {
  it("sends max_tokens 8192 with a warning when the client gave none", () => {
    const { value, warnings } = canonicalToAnthropicRequest(baseRequest({ maxOutputTokens: null }));
    assert.equal(value.max_tokens, 8192);
    assert.deepEqual(warnings, ["max_tokens is required by Anthropic; 8192 was sent"]);
    assertValid(value);
  });

  it("merges consecutive same-role messages and puts tool results first in their user message", () => {
    const { value, warnings } = canonicalToAnthropicRequest(
      baseRequest({
        messages: [
          { role: "user", content: [{ type: "text", text: "weather?" }] },
          { role: "user", content: [{ type: "text", text: "in Oslo" }] },
          { role: "assistant", content: [{ type: "tool-call", id: "call_1", name: "w", arguments: '{"c":"Oslo"}' }] },
          { role: "assistant", content: [{ type: "tool-call", id: "call_2", name: "w", arguments: "" }] },
          { role: "user", content: [{ type: "text", text: "(note)" }] },
          {
            role: "user",
            content: [
              {
                type: "tool-result",
                callId: "call_1",
                name: "w",
                content: [{ type: "text", text: "rain" }],
                isError: false,
              },
              { type: "tool-result", callId: "call_2", name: "w", content: [], isError: true },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(warnings, []);
    assertValid(value);
    assert.deepEqual(value.messages, [
      {
        role: "user",
        content: [
          { type: "text", text: "weather?" },
          { type: "text", text: "in Oslo" },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "call_1", name: "w", input: { c: "Oslo" } },
          { type: "tool_use", id: "call_2", name: "w", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: [{ type: "text", text: "rain" }] },
          { type: "tool_result", tool_use_id: "call_2", is_error: true },
          { type: "text", text: "(note)" },
        ],
      },
    ]);
  });

  it("sends only Anthropic's own reasoning back; other providers' and unsigned reasoning are dropped with a warning", () => {
    const { value, warnings } = canonicalToAnthropicRequest(
      baseRequest({
        messages: [
          { role: "user", content: [{ type: "text", text: "q" }] },
          {
            role: "assistant",
            content: [
              {
                type: "reasoning",
                text: "theirs",
                opaque: { dialect: "openai-responses", kind: "encrypted", value: "gAAA" },
              },
              { type: "reasoning", text: "unsigned", opaque: null },
              { type: "reasoning", text: "ours", opaque: { dialect: "anthropic", kind: "signature", value: "Sig" } },
              { type: "text", text: "a" },
            ],
          },
          { role: "user", content: [{ type: "text", text: "more" }] },
        ],
      }),
    );
    assert.ok(!JSON.stringify(value).includes("gAAA"));
    assert.deepEqual((value.messages as JsonObject[])[1], {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "ours", signature: "Sig" },
        { type: "text", text: "a" },
      ],
    });
    assert.deepEqual(warnings, [
      "Reasoning from another provider (or without an Anthropic signature) was not sent to Anthropic",
    ]);
  });

  it("gives tool schemas a root type object; refuses a non-object root", () => {
    const { value, warnings } = canonicalToAnthropicRequest(
      baseRequest({
        tools: [
          { name: "a", description: null, parameters: {} },
          { name: "b", description: "B", parameters: { anyOf: [{ type: "object" }, { type: "object" }] } },
        ],
      }),
    );
    assert.deepEqual(value.tools, [
      { name: "a", input_schema: { type: "object", properties: {} } },
      {
        name: "b",
        input_schema: { type: "object", anyOf: [{ type: "object" }, { type: "object" }] },
        description: "B",
      },
    ]);
    assert.deepEqual(warnings, ['Tool "b" has a root anyOf/oneOf/allOf schema, which Anthropic may reject']);
    assert.throws(
      () =>
        canonicalToAnthropicRequest(
          baseRequest({ tools: [{ name: "s", description: null, parameters: { type: "string" } }] }),
        ),
      TranslationError,
    );
  });

  it("maps tool choice and parallel tool calls; tool_choice without tools is dropped", () => {
    const tools = [{ name: "f", description: null, parameters: { type: "object" } }];
    const choice = (overrides: Partial<CanonicalRequest>) =>
      canonicalToAnthropicRequest(baseRequest({ tools, ...overrides })).value.tool_choice;
    assert.deepEqual(choice({ toolChoice: { type: "required" } }), { type: "any" });
    assert.deepEqual(choice({ toolChoice: { type: "tool", name: "f" }, parallelToolCalls: false }), {
      type: "tool",
      name: "f",
      disable_parallel_tool_use: true,
    });
    assert.deepEqual(choice({ toolChoice: { type: "none" }, parallelToolCalls: false }), { type: "none" });
    assert.deepEqual(choice({ parallelToolCalls: false }), { type: "auto", disable_parallel_tool_use: true });
    assert.equal(choice({ parallelToolCalls: true }), undefined);
    const { value, warnings } = canonicalToAnthropicRequest(baseRequest({ toolChoice: { type: "required" } }));
    assert.equal(value.tool_choice, undefined);
    assert.deepEqual(warnings, ["tool_choice was dropped: the request has no tools"]);
  });

  it("structured output, stop sequences, user, and JSON mode without a schema (warning)", () => {
    const { value, warnings } = canonicalToAnthropicRequest(
      baseRequest({
        responseFormat: { type: "json-schema", name: "x", schema: { type: "object" }, strict: true },
        stop: ["\n\n", "STOP"],
        user: "u1",
      }),
    );
    assert.deepEqual(value.output_config, { format: { type: "json_schema", schema: { type: "object" } } });
    assert.deepEqual(value.stop_sequences, ["STOP"]);
    assert.deepEqual(value.metadata, { user_id: "u1" });
    assert.deepEqual(warnings, ["Whitespace-only stop sequences are rejected by Anthropic and were dropped"]);
    const json = canonicalToAnthropicRequest(baseRequest({ responseFormat: { type: "json" } }));
    assert.equal(json.value.output_config, undefined);
    assert.equal(json.warnings.length, 1);
  });

  it("images in user messages and tool results; nothing but user/assistant text-bearing messages reach Anthropic", () => {
    const { value } = canonicalToAnthropicRequest(
      baseRequest({
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { kind: "url", url: "https://x/y.png" } },
              { type: "text", text: "" },
            ],
          },
        ],
      }),
    );
    assertValid(value);
    assert.deepEqual(value.messages, [
      { role: "user", content: [{ type: "image", source: { type: "url", url: "https://x/y.png" } }] },
    ]);
    assert.throws(() => canonicalToAnthropicRequest(baseRequest({ messages: [] })), TranslationError);
  });
});

describe("canonical → Anthropic request: thinking and sampling per model", () => {
  const reasoningRequest = (model: string, overrides: Partial<CanonicalRequest>) =>
    canonicalToAnthropicRequest(baseRequest({ model, maxOutputTokens: 32000, ...overrides }));

  it("older models: a budget is sent as enabled thinking; effort alone becomes a budget", () => {
    const budget = reasoningRequest("claude-sonnet-4-5-20250929", { reasoning: { budgetTokens: 4000, effort: null } });
    assert.deepEqual(budget.value.thinking, { type: "enabled", budget_tokens: 4000 });
    assert.deepEqual(budget.warnings, []);
    const effort = reasoningRequest("claude-haiku-4-5", { reasoning: { budgetTokens: null, effort: "high" } });
    assert.deepEqual(effort.value.thinking, { type: "enabled", budget_tokens: 16384 });
    assert.equal(effort.value.output_config, undefined);
  });

  it("a budget is fitted below max_tokens, and thinking is skipped when max_tokens is too small", () => {
    const fitted = reasoningRequest("claude-sonnet-4-5", {
      maxOutputTokens: 4096,
      reasoning: { budgetTokens: 8000, effort: null },
    });
    assert.deepEqual(fitted.value.thinking, { type: "enabled", budget_tokens: 3072 });
    assert.deepEqual(fitted.warnings, ["Thinking budget 8000 was adjusted to 3072 to fit Anthropic's limits"]);
    const small = reasoningRequest("claude-sonnet-4-5", {
      maxOutputTokens: 1500,
      reasoning: { budgetTokens: 2000, effort: null },
    });
    assert.equal(small.value.thinking, undefined);
    assert.equal(small.warnings.length, 1);
  });

  it("Claude 4.6: effort → adaptive thinking with output_config.effort; a budget stays a budget", () => {
    const effort = reasoningRequest("claude-sonnet-4-6", { reasoning: { budgetTokens: null, effort: "minimal" } });
    assert.deepEqual(effort.value.thinking, { type: "adaptive" });
    assert.deepEqual(effort.value.output_config, { effort: "low" });
    const budget = reasoningRequest("claude-opus-4-6", { reasoning: { budgetTokens: 5000, effort: null } });
    assert.deepEqual(budget.value.thinking, { type: "enabled", budget_tokens: 5000 });
  });

  it("adaptive-only models: no budget, no temperature/top_p/top_k (each dropped with a warning)", () => {
    const { value, warnings } = reasoningRequest("claude-opus-4-7", {
      reasoning: { budgetTokens: 5000, effort: null },
      temperature: 0.2,
      topP: 0.9,
      topK: 40,
    });
    assert.deepEqual(value.thinking, { type: "adaptive" });
    assert.equal(value.output_config, undefined);
    assert.equal(value.temperature, undefined);
    assert.equal(value.top_p, undefined);
    assert.equal(value.top_k, undefined);
    assert.deepEqual(warnings, [
      "This model accepts only adaptive thinking: the thinking token budget was not sent",
      "temperature was dropped: this model does not accept sampling parameters",
      "top_p was dropped: this model does not accept sampling parameters",
      "top_k was dropped: this model does not accept sampling parameters",
    ]);
  });

  it("with thinking on, only temperature 1, top_p ≥ 0.95 and no top_k are sent", () => {
    const { value, warnings } = reasoningRequest("claude-sonnet-4-5", {
      reasoning: { budgetTokens: 2048, effort: null },
      temperature: 0.5,
      topP: 0.97,
      topK: 5,
    });
    assert.equal(value.temperature, undefined);
    assert.equal(value.top_p, 0.97);
    assert.equal(value.top_k, undefined);
    assert.equal(warnings.length, 2);
  });

  it("without thinking, sampling passes (temperature clamped to Anthropic's 0..1)", () => {
    const { value, warnings } = reasoningRequest("claude-sonnet-4-5", { temperature: 1.5, topP: 0.5, topK: 3 });
    assert.equal(value.temperature, 1);
    assert.equal(value.top_p, 0.5);
    assert.equal(value.top_k, 3);
    assert.deepEqual(warnings, ["temperature 1.5 is above Anthropic's maximum; 1 was sent"]);
  });

  it("a forced tool choice wins over thinking; effort none and budget 0 mean no thinking", () => {
    const tools = [{ name: "f", description: null, parameters: { type: "object" } }];
    const forced = reasoningRequest("claude-sonnet-4-6", {
      tools,
      toolChoice: { type: "required" },
      reasoning: { budgetTokens: null, effort: "high" },
    });
    assert.equal(forced.value.thinking, undefined);
    assert.deepEqual(forced.warnings, [
      "Thinking was not requested: Anthropic does not allow thinking with a forced tool choice",
    ]);
    assert.equal(
      reasoningRequest("claude-sonnet-4-6", { reasoning: { budgetTokens: null, effort: "none" } }).value.thinking,
      undefined,
    );
    assert.equal(
      reasoningRequest("claude-sonnet-4-5", { reasoning: { budgetTokens: 0, effort: null } }).value.thinking,
      undefined,
    );
  });
});

describe("canonical → Anthropic request: thinking and history", () => {
  const signed = {
    type: "reasoning",
    text: "t",
    opaque: { dialect: "anthropic", kind: "signature", value: "S" },
  } as const;
  const loop = (assistantFirst: CanonicalRequest["messages"][number]["content"]) =>
    baseRequest({
      model: "claude-sonnet-4-5",
      maxOutputTokens: 16000,
      reasoning: { budgetTokens: 4096, effort: null },
      tools: [{ name: "f", description: null, parameters: { type: "object" } }],
      messages: [
        { role: "user", content: [{ type: "text", text: "go" }] },
        {
          role: "assistant",
          content: [...assistantFirst, { type: "tool-call", id: "c1", name: "f", arguments: "{}" }],
        },
        {
          role: "user",
          content: [
            { type: "tool-result", callId: "c1", name: "f", content: [{ type: "text", text: "r" }], isError: false },
          ],
        },
      ],
    });

  it("keeps thinking when the open tool-use turn starts with Anthropic's thinking block", () => {
    const { value, warnings } = canonicalToAnthropicRequest(loop([signed]));
    assert.deepEqual(value.thinking, { type: "enabled", budget_tokens: 4096 });
    assert.deepEqual(warnings, []);
  });

  it("turns thinking off when the open tool-use turn came from another provider (no thinking block)", () => {
    const foreign = {
      type: "reasoning",
      text: "x",
      opaque: { dialect: "gemini", kind: "signature", value: "g" },
    } as const;
    const { value, warnings } = canonicalToAnthropicRequest(loop([foreign]));
    assert.equal(value.thinking, undefined);
    assert.ok(
      warnings.includes("Thinking was not requested: the current tool-use turn has no Anthropic thinking block"),
    );
    assertValid(value);
  });

  it("without thinking, a final assistant prefill loses its thinking blocks", () => {
    const { value, warnings } = canonicalToAnthropicRequest(
      baseRequest({
        messages: [
          { role: "user", content: [{ type: "text", text: "q" }] },
          { role: "assistant", content: [signed, { type: "text", text: "The answer is" }] },
        ],
      }),
    );
    assert.deepEqual((value.messages as JsonObject[])[1], {
      role: "assistant",
      content: [{ type: "text", text: "The answer is" }],
    });
    assert.equal(warnings.length, 1);
  });
});

describe("Anthropic request → canonical: dropped features stay visible", () => {
  it("a tool_choice naming a dropped built-in tool becomes auto, with a warning; unknown thinking types warn", () => {
    const { value, warnings } = anthropicRequestToCanonical({
      model: "m",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "web_search_20250305", name: "web_search" }],
      tool_choice: { type: "tool", name: "web_search" },
      thinking: { type: "something_new" },
    });
    assert.deepEqual(value.toolChoice, { type: "auto" });
    assert.equal(value.reasoning, null);
    assert.deepEqual(warnings, [
      'Anthropic built-in tool "web_search" (web_search_20250305) cannot be translated and was dropped',
      'tool_choice named "web_search", which was not translated; auto was sent',
      'thinking type "something_new" is not translated; the provider\'s default was left in place',
    ]);
  });
});
