import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anthropicTranslator } from "../../../src/translate/anthropic/index.ts";
import { canonicalToConverseRequest } from "../../../src/translate/bedrock-converse/canonical-to-request.ts";
import { converseRequestToCanonical } from "../../../src/translate/bedrock-converse/request-to-canonical.ts";
import type { JsonObject } from "../../../src/translate/canonical.ts";
import { openAiChatTranslator } from "../../../src/translate/openai-chat/index.ts";
import { validateBedrockConverse } from "../../fixtures/mock-upstream/bedrock/validate.ts";

const CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA = "us.amazon.nova-pro-v1:0";

const WEATHER_SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

const CONVERSE_REQUEST = {
  system: [{ text: "You are terse." }, { cachePoint: { type: "default" } }],
  messages: [
    {
      role: "user",
      content: [{ text: "Weather in Oslo?" }, { image: { format: "png", source: { bytes: "iVBORw0KGgo=" } } }],
    },
    {
      role: "assistant",
      content: [
        { reasoningContent: { reasoningText: { text: "Call the tool.", signature: "sig-1" } } },
        { toolUse: { toolUseId: "tooluse_1", name: "get_weather", input: { city: "Oslo" } } },
      ],
    },
    {
      role: "user",
      content: [
        {
          toolResult: { toolUseId: "tooluse_1", content: [{ text: "12°C" }, { json: { wind: 3 } }], status: "success" },
        },
      ],
    },
  ],
  inferenceConfig: { maxTokens: 2048, temperature: 1, stopSequences: ["END"] },
  toolConfig: {
    tools: [{ toolSpec: { name: "get_weather", description: "Weather", inputSchema: { json: WEATHER_SCHEMA } } }],
    toolChoice: { any: {} },
  },
};

function translate(body: unknown, model: string): { value: JsonObject; warnings: string[] } {
  const canonical = converseRequestToCanonical(body).value;
  canonical.model = model;
  return canonicalToConverseRequest(canonical);
}

describe("bedrock converse requests", () => {
  it("Converse → canonical: system, image, reasoning with its signature, tool call and result, settings", () => {
    const { value: c, warnings } = converseRequestToCanonical(CONVERSE_REQUEST);
    assert.deepEqual(warnings, []);
    assert.deepEqual(c.system, [{ type: "text", text: "You are terse." }]);
    assert.deepEqual(c.messages[0]?.content[1], {
      type: "image",
      source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" },
    });
    assert.deepEqual(c.messages[1]?.content, [
      {
        type: "reasoning",
        text: "Call the tool.",
        opaque: { dialect: "bedrock-converse", kind: "signature", value: "sig-1" },
      },
      { type: "tool-call", id: "tooluse_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
    ]);
    assert.deepEqual(c.messages[2]?.content, [
      {
        type: "tool-result",
        callId: "tooluse_1",
        name: "get_weather",
        content: [
          { type: "text", text: "12°C" },
          { type: "text", text: '{"wind":3}' },
        ],
        isError: false,
      },
    ]);
    assert.deepEqual(
      [c.maxOutputTokens, c.temperature, c.stop, c.toolChoice],
      [2048, 1, ["END"], { type: "required" }],
    );
  });

  it("Converse → canonical → Converse keeps the conversation and passes Bedrock's validation", () => {
    const { value, warnings } = translate(CONVERSE_REQUEST, NOVA);
    assert.equal(validateBedrockConverse(value), null);
    assert.deepEqual(value.system, [{ text: "You are terse." }]);
    assert.deepEqual(value.messages, [
      CONVERSE_REQUEST.messages[0],
      CONVERSE_REQUEST.messages[1],
      {
        role: "user",
        content: [{ toolResult: { toolUseId: "tooluse_1", content: [{ text: "12°C" }, { text: '{"wind":3}' }] } }],
      },
    ]);
    assert.deepEqual(value.toolConfig, {
      tools: [{ toolSpec: { name: "get_weather", inputSchema: { json: WEATHER_SCHEMA }, description: "Weather" } }],
      toolChoice: { any: {} },
    });
    assert.deepEqual(value.inferenceConfig, { maxTokens: 2048, temperature: 1, stopSequences: ["END"] });
    assert.deepEqual(warnings, []);
  });

  it("Claude Code's Anthropic request → Converse for a Claude model: thinking planned as for Anthropic, billing line dropped", () => {
    const anthropic = {
      model: "claude-sonnet-4-5",
      max_tokens: 32000,
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1; cc_entrypoint=cli;" },
        { type: "text", text: "Be brief." },
      ],
      messages: [
        { role: "user", content: [{ type: "text", text: "List files", cache_control: { type: "ephemeral" } }] },
      ],
      tools: [
        {
          name: "Bash",
          description: "Run",
          input_schema: { type: "object", properties: { command: { type: "string" } } },
        },
      ],
      thinking: { type: "enabled", budget_tokens: 4000 },
      stream: true,
    };
    const canonical = anthropicTranslator.requestToCanonical(anthropic).value;
    canonical.model = CLAUDE;
    const { value } = canonicalToConverseRequest(canonical);
    assert.equal(validateBedrockConverse(value), null);
    assert.deepEqual(value.system, [{ text: "Be brief." }]);
    assert.deepEqual(value.additionalModelRequestFields, { thinking: { type: "enabled", budget_tokens: 4000 } });
    assert.deepEqual(value.inferenceConfig, { maxTokens: 32000 });
    assert.equal("stream" in value || "model" in value, false, "model and stream are the URL's");
  });

  it("OpenAI chat → Converse for Nova: tool traffic without offered tools becomes text; parallel-off is warned", () => {
    const chat = {
      model: "nova",
      messages: [
        { role: "system", content: "sys" },
        { role: "user", content: "hi" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "c1", content: "done" },
      ],
      max_tokens: 100,
      top_k: 5,
    };
    const canonical = openAiChatTranslator.requestToCanonical(chat).value;
    canonical.model = NOVA;
    canonical.topK = 5;
    const { value, warnings } = canonicalToConverseRequest(canonical);
    assert.equal(validateBedrockConverse(value), null);
    assert.equal(value.toolConfig, undefined);
    assert.match(JSON.stringify(value.messages), /\[tool call f c1\]/);
    assert.ok(warnings.some((w) => /top_k was dropped/.test(w)));
  });

  it("without thinking in the unfinished tool turn, thinking is not asked for (Bedrock would refuse it)", () => {
    const canonical = converseRequestToCanonical({
      ...CONVERSE_REQUEST,
      messages: [
        CONVERSE_REQUEST.messages[0],
        {
          role: "assistant",
          content: [{ toolUse: { toolUseId: "tooluse_1", name: "get_weather", input: { city: "Oslo" } } }],
        },
        CONVERSE_REQUEST.messages[2],
      ],
      toolConfig: { tools: CONVERSE_REQUEST.toolConfig.tools },
      additionalModelRequestFields: { thinking: { type: "enabled", budget_tokens: 1024 } },
    }).value;
    canonical.model = CLAUDE;
    const { value, warnings } = canonicalToConverseRequest(canonical);
    assert.equal(value.additionalModelRequestFields, undefined);
    assert.ok(warnings.some((w) => /no Bedrock reasoning block/.test(w)));
  });
});
