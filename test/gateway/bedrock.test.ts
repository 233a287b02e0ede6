import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import {
  MOCK_AWS_CREDENTIALS,
  MOCK_AWS_REGION,
  MOCK_AWS_SESSION_CREDENTIALS,
  MOCK_BEDROCK_API_KEY,
} from "../fixtures/mock-upstream/bedrock/index.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// AWS Bedrock prices (genai-prices, provider "aws"), USD per million tokens. Cross-region ("us.") Claude Sonnet 4.5:
// input 3.30, cache write 4.125, cache read 0.33, output 16.50. Global profile: 3 / 3.75 / 0.30 / 15. Nova Pro: 0.80 / 3.20.
const CLAUDE_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const CLAUDE_GLOBAL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA = "us.amazon.nova-pro-v1:0";

const ANTHROPIC_USAGE = {
  input_tokens: 1000,
  cache_read_input_tokens: 2000,
  cache_creation_input_tokens: 100,
  cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 0 },
  output_tokens: 200,
};
// us.: 1000×3.30 + 2000×0.33 + 100×4.125 + 200×16.50 = 3300 + 660 + 412.5 + 3300 = 7672.5 per million.
const US_COST_NANO = 7_672_500;
// global.: 1000×3 + 2000×0.30 + 100×3.75 + 200×15 = 3000 + 600 + 375 + 3000 = 6975 per million.
const GLOBAL_COST_NANO = 6_975_000;
// Nova Pro: 1000×0.80 + 200×3.20 = 1440 per million.
const CONVERSE_USAGE = { inputTokens: 1000, outputTokens: 200 };
const NOVA_COST_NANO = 1_440_000;

function awsEnv(mockUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: MOCK_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOCK_AWS_CREDENTIALS.secretAccessKey,
    AWS_REGION: MOCK_AWS_REGION,
    TOLLGATE_BEDROCK_BASE_URL: mockUrl,
    ...extra,
  };
}

function lastBedrockRequest(mock: MockUpstream): RecordedRequest {
  const found = mock.requests.filter((r) => r.route.startsWith("bedrock-")).at(-1);
  assert.ok(found, "the mock received a Bedrock request");
  return found;
}

describe("AWS Bedrock provider (SigV4, InvokeModel and Converse)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let anthropic: Anthropic;
  let openai: OpenAI;
  let seen = 0;
  /** The log rows written since the last call (one gateway serves every test here). */
  const newRows = async (n: number) => {
    const all = await gw.waitForLogs(seen + n);
    const out = all.slice(seen);
    seen = all.length;
    return out;
  };

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url, env: awsEnv(mock.url) });
    anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    openai = new OpenAI({ apiKey: "client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("Anthropic client, Claude model: InvokeModel with the Messages body, signed; metered at the profile's price", async () => {
    mock.enqueue({ scenario: "text", text: "hello from bedrock", usage: ANTHROPIC_USAGE });
    const { data, response } = await anthropic.messages
      .create(
        { model: CLAUDE_US, max_tokens: 100, messages: [{ role: "user", content: "hi" }] },
        { headers: { "anthropic-beta": "interleaved-thinking-2025-05-14" } },
      )
      .withResponse();
    assert.deepEqual(data.content, [{ type: "text", text: "hello from bedrock" }]);
    assert.equal(response.headers.get("x-tollgate-cost-usd"), "0.007672500");
    const sent = lastBedrockRequest(mock);
    assert.equal(sent.route, "bedrock-invoke");
    assert.equal(sent.path, `/model/${encodeURIComponent(CLAUDE_US)}/invoke`);
    // The mock verified the signature (it answers 403 otherwise); the body is InvokeModel's.
    assert.deepEqual(sent.json, {
      max_tokens: 100,
      messages: [{ role: "user", content: "hi" }],
      anthropic_version: "bedrock-2023-05-31",
      anthropic_beta: ["interleaved-thinking-2025-05-14"],
    });
    assert.equal(sent.headers["x-api-key"], undefined);
    const [row] = await newRows(1);
    assert.ok(row);
    assert.equal(row.provider, "bedrock");
    assert.deepEqual(
      [row.inputTokens, row.cacheReadTokens, row.cacheWrite5mTokens, row.outputTokens],
      [1000, 2000, 100, 200],
    );
    assert.equal(row.costNanoUsd, US_COST_NANO);
  });

  it("Anthropic client, streaming: the event stream reaches the client as Anthropic SSE and is metered", async () => {
    mock.enqueue({
      scenario: "tool-call",
      text: "Let me check",
      toolName: "get_weather",
      toolArgs: { city: "Oslo" },
      usage: ANTHROPIC_USAGE,
    });
    const stream = anthropic.messages.stream({
      model: CLAUDE_GLOBAL,
      max_tokens: 100,
      messages: [{ role: "user", content: "weather?" }],
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
    });
    const final = await stream.finalMessage();
    assert.deepEqual(
      final.content.map((b) => b.type),
      ["text", "tool_use"],
    );
    assert.deepEqual(final.content[1]?.type === "tool_use" ? final.content[1].input : null, { city: "Oslo" });
    assert.equal(final.stop_reason, "tool_use");
    assert.equal(final.usage.output_tokens, 200);
    assert.equal(lastBedrockRequest(mock).route, "bedrock-invoke-stream");
    const [row] = await newRows(1);
    assert.ok(row);
    assert.equal(row.stream, true);
    assert.equal(row.usageEstimated, false);
    assert.equal(row.costNanoUsd, GLOBAL_COST_NANO);
    assert.equal(row.errorCode, null);
  });

  it("OpenAI client, Nova: translated to ConverseStream; tool call arguments and usage come through", async () => {
    mock.enqueue({ scenario: "tool-call", toolName: "lookup", toolArgs: { q: "tollgate" }, usage: CONVERSE_USAGE });
    const stream = await openai.chat.completions.create({
      model: NOVA,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "find it" }],
      tools: [
        {
          type: "function",
          function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } },
        },
      ],
    });
    let args = "";
    let name = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call?.function?.name) name = call.function.name;
      args += call?.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(name, "lookup");
    assert.deepEqual(JSON.parse(args), { q: "tollgate" });
    assert.equal(finish, "tool_calls");
    assert.equal(usage?.prompt_tokens, 1000);
    assert.equal(usage?.completion_tokens, 200);
    const sent = lastBedrockRequest(mock);
    assert.equal(sent.route, "bedrock-converse-stream");
    assert.deepEqual((sent.json as { toolConfig: unknown }).toolConfig, {
      tools: [
        {
          toolSpec: {
            name: "lookup",
            inputSchema: { json: { type: "object", properties: { q: { type: "string" } } } },
          },
        },
      ],
    });
    const [row] = await newRows(1);
    assert.ok(row);
    assert.equal(row.upstreamDialect, "bedrock-converse");
    assert.equal(row.costNanoUsd, NOVA_COST_NANO);
  });

  it("OpenAI client, not streaming: Converse, metered exactly", async () => {
    mock.enqueue({ scenario: "text", text: "plain answer", usage: CONVERSE_USAGE });
    const { data, response } = await openai.chat.completions
      .create({ model: NOVA, max_tokens: 50, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    assert.equal(data.choices[0]?.message.content, "plain answer");
    // Converse names no id: the reply's comes from the gateway's request id, in Chat's own shape.
    const requestId = response.headers.get("x-tollgate-request-id") ?? "";
    assert.equal(data.id, `chatcmpl-${requestId.replaceAll("-", "")}`);
    assert.equal(response.headers.get("x-tollgate-cost-usd"), "0.001440000");
    assert.deepEqual((lastBedrockRequest(mock).json as { inferenceConfig: unknown }).inferenceConfig, {
      maxTokens: 50,
    });
    await newRows(1);
  });

  it("recorded ConverseStreams through the gateway: reasoning + text to an OpenAI client, usage as recorded", async () => {
    mock.enqueue({ scenario: "fixture", fixture: "bedrock/bedrock-reasoning.chunks.txt" });
    const stream = await openai.chat.completions.create({
      model: NOVA,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "count the r's" }],
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, 'There are **3** r\'s in "strawberry":\n\n1. st**r**awbe**r****r**y');
    assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens], [51, 94]);
    const [row] = await newRows(1);
    // 51×0.80 + 94×3.20 = 341.6 USD per million.
    assert.equal(row?.costNanoUsd, 341_600);
    assert.equal(row?.usageEstimated, false);
  });

  it("an Anthropic client on a non-Claude model is translated to Converse (recorded tool call, metadata first)", async () => {
    mock.enqueue({ scenario: "fixture", fixture: "bedrock/bedrock-tool-call.1.chunks.txt" });
    const final = await anthropic.messages
      .stream({
        model: NOVA,
        max_tokens: 100,
        messages: [{ role: "user", content: "sparkle" }],
        tools: [{ name: "test-tool", input_schema: { type: "object", properties: { value: { type: "string" } } } }],
      })
      .finalMessage();
    assert.deepEqual(final.content, [
      { type: "tool_use", id: "tool-use-id", name: "test-tool", input: { value: "Sparkle Day" } },
    ]);
    assert.equal(final.stop_reason, "tool_use");
    assert.match(final.id, /^msg_[0-9a-f]{32}$/, "a streamed reply gets an id even though Converse names none");
    assert.deepEqual([final.usage.input_tokens, final.usage.output_tokens], [125, 45]);
    assert.equal(lastBedrockRequest(mock).route, "bedrock-converse-stream");
    await newRows(1);
  });

  it("Bedrock errors reach each client in its own shape, status and message kept", async () => {
    mock.enqueue({ scenario: "error", status: 429 });
    await assert.rejects(
      anthropic.messages.create({ model: CLAUDE_US, max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
      (err: InstanceType<typeof Anthropic.APIError>) =>
        err.status === 429 &&
        /Too many requests/.test(err.message) &&
        /rate_limit_error/.test(JSON.stringify(err.error)),
    );
    mock.enqueue({ scenario: "error", status: 400 });
    await assert.rejects(
      openai.chat.completions.create({ model: NOVA, messages: [{ role: "user", content: "x" }] }),
      (err: InstanceType<typeof OpenAI.APIError>) => err.status === 400 && /Malformed input request/.test(err.message),
    );
    const rows = await newRows(2);
    assert.deepEqual(
      rows.map((r) => [r.status, r.errorCode]),
      [
        [429, "ThrottlingException"],
        [400, "http_400"],
      ],
    );
  });

  it("a stream that fails with a Bedrock exception ends in the client's error event", async () => {
    mock.enqueue({ scenario: "stream-error" });
    const stream = anthropic.messages.stream({
      model: CLAUDE_US,
      max_tokens: 10,
      messages: [{ role: "user", content: "x" }],
    });
    await assert.rejects(stream.finalMessage(), /Bedrock is unable to process your request/);
    const [row] = await newRows(1);
    assert.equal(row?.errorCode, "overloaded_error");
  });
});

describe("AWS Bedrock credentials", () => {
  it("a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) is sent as a bearer token; session credentials sign their token", async () => {
    const mock = await startMockUpstream();
    const withKey = await startTestGateway({
      upstreamUrl: mock.url,
      env: { AWS_BEARER_TOKEN_BEDROCK: MOCK_BEDROCK_API_KEY, TOLLGATE_BEDROCK_BASE_URL: mock.url },
    });
    const withSession = await startTestGateway({
      upstreamUrl: mock.url,
      env: awsEnv(mock.url, {
        AWS_ACCESS_KEY_ID: MOCK_AWS_SESSION_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOCK_AWS_SESSION_CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: MOCK_AWS_SESSION_CREDENTIALS.sessionToken,
      }),
    });
    const wrong = await startTestGateway({
      upstreamUrl: mock.url,
      env: awsEnv(mock.url, { AWS_SECRET_ACCESS_KEY: "not-the-secret" }),
    });
    try {
      for (const gw of [withKey, withSession]) {
        const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
        const out = await client.chat.completions.create({ model: NOVA, messages: [{ role: "user", content: "hi" }] });
        assert.equal(out.choices[0]?.message.content, "Hello from the mock upstream.");
      }
      assert.equal(mock.requests[0]?.headers.authorization, `Bearer ${MOCK_BEDROCK_API_KEY}`);
      assert.equal(mock.requests[1]?.headers["x-amz-security-token"], MOCK_AWS_SESSION_CREDENTIALS.sessionToken);
      const client = new OpenAI({ apiKey: "x", baseURL: `${wrong.url}/v1`, maxRetries: 0 });
      await assert.rejects(
        client.chat.completions.create({ model: NOVA, messages: [{ role: "user", content: "hi" }] }),
        (err: InstanceType<typeof OpenAI.APIError>) =>
          err.status === 403 && /signature we calculated/.test(err.message),
      );
    } finally {
      await Promise.all([withKey.close(), withSession.close(), wrong.close()]);
      await mock.close();
    }
  });
});
