import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import AnthropicBedrock from "@anthropic-ai/bedrock-sdk";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseStreamOutput,
  InvokeModelWithResponseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { chunkBytes, EventStreamDecoder } from "../../src/providers/bedrock/event-stream.ts";
import { MOCK_AWS_CREDENTIALS, MOCK_AWS_REGION } from "../fixtures/mock-upstream/bedrock/index.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway } from "../helpers/gateway.ts";

const CLAUDE_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA = "us.amazon.nova-pro-v1:0";
const ANTHROPIC_USAGE = { input_tokens: 1000, output_tokens: 200 };
// Served by the anthropic provider as claude-sonnet-4-5-20250929: 1000×3 + 200×15 = 6000 USD per million.
const ANTHROPIC_COST_NANO = 6_000_000;

/** The official AWS SDK, pointed at the gateway. It always signs (any credentials do: the gateway ignores SigV4). */
function awsClient(gatewayUrl: string): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: MOCK_AWS_REGION,
    endpoint: `${gatewayUrl}/bedrock`,
    credentials: { accessKeyId: "AKIACLIENT", secretAccessKey: "client-secret" },
    maxAttempts: 1,
    // The SDK defaults to HTTP/2 for Bedrock streams; the gateway speaks HTTP/1.1.
    requestHandler: new NodeHttpHandler(),
  });
}

async function collect(stream: AsyncIterable<ConverseStreamOutput> | undefined): Promise<ConverseStreamOutput[]> {
  const events: ConverseStreamOutput[] = [];
  for await (const event of stream ?? []) events.push(event);
  return events;
}

describe("/bedrock ingress with only an Anthropic provider (Claude Code's Bedrock mode)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let bedrockSdk: AnthropicBedrock;
  let seen = 0;
  const newRows = async (n: number) => {
    const all = await gw.waitForLogs(seen + n);
    const out = all.slice(seen);
    seen = all.length;
    return out;
  };

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    bedrockSdk = new AnthropicBedrock({
      baseURL: `${gw.url}/bedrock`,
      awsRegion: MOCK_AWS_REGION,
      skipAuth: true,
      maxRetries: 0,
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("InvokeModel: the Bedrock Claude id is served as the Anthropic model; the body becomes a Messages request", async () => {
    mock.enqueue({ scenario: "text", text: "hi from anthropic", usage: ANTHROPIC_USAGE });
    const message = await bedrockSdk.messages.create(
      { model: CLAUDE_US, max_tokens: 100, messages: [{ role: "user", content: "hello" }] },
      { headers: { "anthropic-beta": "interleaved-thinking-2025-05-14" } },
    );
    assert.deepEqual(message.content, [{ type: "text", text: "hi from anthropic" }]);
    const sent = mock.requests[0];
    assert.equal(sent?.route, "anthropic-messages");
    assert.deepEqual(sent?.json, {
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 100,
      messages: [{ role: "user", content: "hello" }],
    });
    assert.equal(sent?.headers["anthropic-beta"], "interleaved-thinking-2025-05-14");
    assert.equal(sent?.headers["anthropic-version"], "2023-06-01");
    const [row] = await newRows(1);
    assert.equal(row?.provider, "anthropic");
    assert.equal(row?.requestedModel, "claude-sonnet-4-5-20250929");
    assert.equal(row?.costNanoUsd, ANTHROPIC_COST_NANO);
  });

  it("InvokeModelWithResponseStream: answered as an AWS event stream the Bedrock SDK decodes; metered", async () => {
    mock.enqueue({
      scenario: "tool-call",
      text: "Running",
      toolName: "Bash",
      toolArgs: { command: "ls" },
      usage: ANTHROPIC_USAGE,
    });
    const stream = bedrockSdk.messages.stream({
      model: CLAUDE_US,
      max_tokens: 100,
      messages: [{ role: "user", content: "list" }],
      tools: [{ name: "Bash", input_schema: { type: "object", properties: { command: { type: "string" } } } }],
    });
    const final = await stream.finalMessage();
    assert.deepEqual(
      final.content.map((b) => (b.type === "tool_use" ? [b.name, b.input] : b.type)),
      ["text", ["Bash", { command: "ls" }]],
    );
    assert.equal(final.usage.output_tokens, 200);
    assert.equal((mock.requests[0]?.json as { stream?: boolean } | undefined)?.stream, true);
    const [row] = await newRows(1);
    assert.equal(row?.stream, true);
    assert.equal(row?.usageEstimated, false);
    assert.equal(row?.costNanoUsd, ANTHROPIC_COST_NANO);
  });

  it("the stream on the wire: application/vnd.amazon.eventstream, each Anthropic event base64 in a chunk", async () => {
    mock.enqueue({ scenario: "text", text: "abc def" });
    const res = await fetch(`${gw.url}/bedrock/model/${encodeURIComponent(CLAUDE_US)}/invoke-with-response-stream`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/vnd.amazon.eventstream" },
      body: JSON.stringify({
        anthropic_version: "bedrock-2023-05-31",
        anthropic_beta: ["context-1m-2025-08-07"],
        max_tokens: 50,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/vnd.amazon.eventstream");
    assert.ok(res.headers.get("x-tollgate-request-id"));
    const messages = new EventStreamDecoder().push(new Uint8Array(await res.arrayBuffer()));
    assert.ok(messages.every((m) => m.messageType === "event" && m.type === "chunk"));
    const events = messages.map((m) => JSON.parse(chunkBytes(m.payload) ?? "null") as { type: string });
    assert.equal(events[0]?.type, "message_start");
    assert.equal(events.at(-1)?.type, "message_stop");
    assert.equal(mock.requests[0]?.headers["anthropic-beta"], "context-1m-2025-08-07");
    assert.equal((mock.requests[0]?.json as Record<string, unknown> | undefined)?.anthropic_version, undefined);
    await newRows(1);
  });

  it("an upstream stream error reaches the Bedrock client as an exception", async () => {
    mock.enqueue({ scenario: "stream-error" });
    const stream = bedrockSdk.messages.stream({
      model: CLAUDE_US,
      max_tokens: 10,
      messages: [{ role: "user", content: "x" }],
    });
    await assert.rejects(stream.finalMessage(), /Overloaded/);
    const [row] = await newRows(1);
    assert.equal(row?.errorCode, "overloaded_error");
  });

  it("ConverseStream from the AWS SDK: translated to the Anthropic provider, events and usage back as Converse", async () => {
    mock.enqueue({ scenario: "text", text: "converse via anthropic", usage: ANTHROPIC_USAGE });
    const out = await awsClient(gw.url).send(
      new ConverseStreamCommand({
        modelId: CLAUDE_US,
        system: [{ text: "Be brief." }],
        messages: [{ role: "user", content: [{ text: "hello" }] }],
        inferenceConfig: { maxTokens: 100 },
      }),
    );
    const events = await collect(out.stream);
    assert.equal(events.map((e) => e.contentBlockDelta?.delta?.text ?? "").join(""), "converse via anthropic");
    assert.equal(events.find((e) => e.messageStop)?.messageStop?.stopReason, "end_turn");
    assert.deepEqual(events.find((e) => e.metadata)?.metadata?.usage, {
      inputTokens: 1000,
      outputTokens: 200,
      totalTokens: 1200,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
    const sent = mock.requests[0]?.json as Record<string, unknown>;
    assert.equal(sent.model, "claude-sonnet-4-5-20250929");
    assert.deepEqual(sent.system, [{ type: "text", text: "Be brief." }]);
    const [row] = await newRows(1);
    assert.equal(row?.dialect, "bedrock-converse");
    assert.equal(row?.upstreamDialect, "anthropic");
    assert.equal(row?.costNanoUsd, ANTHROPIC_COST_NANO);
  });

  it("Converse errors are Bedrock's: {message} with x-amzn-errortype, thrown by the AWS SDK as their class", async () => {
    await assert.rejects(
      awsClient(gw.url).send(
        new ConverseCommand({ modelId: "no-such-model", messages: [{ role: "user", content: [{ text: "x" }] }] }),
      ),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        err.name === "ValidationException" &&
        /Unknown model "no-such-model"/.test(err.message) &&
        err.$metadata?.httpStatusCode === 400,
    );
    await newRows(1);
  });
});

describe("/bedrock ingress to a Bedrock provider (both sides AWS)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: {
        AWS_ACCESS_KEY_ID: MOCK_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOCK_AWS_CREDENTIALS.secretAccessKey,
        AWS_REGION: MOCK_AWS_REGION,
        TOLLGATE_BEDROCK_BASE_URL: mock.url,
      },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("InvokeModelWithResponseStream passes through, re-signed with the provider's credentials", async () => {
    mock.enqueue({ scenario: "text", text: "straight through" });
    const out = await awsClient(gw.url).send(
      new InvokeModelWithResponseStreamCommand({
        modelId: CLAUDE_US,
        body: JSON.stringify({
          anthropic_version: "bedrock-2023-05-31",
          max_tokens: 20,
          messages: [{ role: "user", content: "x" }],
        }),
      }),
    );
    let text = "";
    for await (const event of out.body ?? []) {
      const parsed = JSON.parse(Buffer.from(event.chunk?.bytes ?? []).toString("utf8")) as {
        type: string;
        delta?: { text?: string };
      };
      if (parsed.type === "content_block_delta") text += parsed.delta?.text ?? "";
    }
    assert.equal(text, "straight through");
    const sent = mock.requests[0];
    assert.equal(sent?.route, "bedrock-invoke-stream");
    assert.match(String(sent?.headers.authorization), /Credential=AKIAMOCKTOLLGATE0001\//);
    assert.deepEqual(Object.keys(sent?.json as object).sort(), ["anthropic_version", "max_tokens", "messages"]);
    const [row] = await gw.waitForLogs(1);
    assert.equal(row?.provider, "bedrock");
    assert.ok((row?.costNanoUsd ?? 0) > 0);
  });

  it("ConverseStream passes through to Converse; usage metered from the metadata event", async () => {
    mock.enqueue({ scenario: "text", text: "nova says hi", usage: { inputTokens: 1000, outputTokens: 200 } });
    const out = await awsClient(gw.url).send(
      new ConverseStreamCommand({ modelId: NOVA, messages: [{ role: "user", content: [{ text: "hi" }] }] }),
    );
    const events = await collect(out.stream);
    assert.equal(events.map((e) => e.contentBlockDelta?.delta?.text ?? "").join(""), "nova says hi");
    assert.equal(mock.requests[0]?.route, "bedrock-converse-stream");
    const rows = await gw.waitForLogs(2);
    const row = rows.at(-1);
    assert.equal(row?.dialect, "bedrock-converse");
    assert.equal(row?.upstreamDialect, null);
    // Nova Pro: 1000×0.80 + 200×3.20 = 1440 USD per million.
    assert.equal(row?.costNanoUsd, 1_440_000);
  });
});

describe("/bedrock ingress with a virtual key", () => {
  it("the key rides as the Bedrock API key (Authorization: Bearer), is attributed, and never reaches the provider", async () => {
    const mock = await startMockUpstream();
    const gw = await startTestGateway({ upstreamUrl: mock.url });
    try {
      const created = await fetch(`${gw.url}/api/virtual-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "bedrock-mode" }),
      });
      const key = (await created.json()) as { id: string; secret: string };
      const withKey = new AnthropicBedrock({
        baseURL: `${gw.url}/bedrock`,
        awsRegion: MOCK_AWS_REGION,
        apiKey: key.secret,
        maxRetries: 0,
      });
      const message = await withKey.messages.create({
        model: CLAUDE_US,
        max_tokens: 10,
        messages: [{ role: "user", content: "x" }],
      });
      assert.equal(message.type, "message");
      const without = new AnthropicBedrock({
        baseURL: `${gw.url}/bedrock`,
        awsRegion: MOCK_AWS_REGION,
        skipAuth: true,
        maxRetries: 0,
      });
      await assert.rejects(
        without.messages.create({ model: CLAUDE_US, max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
        (err: { status?: number }) => err.status === 401,
      );
      const rows = await gw.waitForLogs(2);
      assert.equal(rows[0]?.virtualKeyId, key.id);
      assert.ok(!JSON.stringify(mock.requests.map((r) => r.headers)).includes("sk-tg-"));
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});

describe("budgets over AWS event streams", () => {
  // A long answer in long words (≈ 22,500 output tokens, ≈ $0.34 at Sonnet 4.5 prices): more than the budgets allow.
  const LONG_TEXT = Array.from({ length: 1500 }, (_, i) => `w${i}`.padEnd(60, "x")).join(" ");
  const CENT = 10_000_000;

  it("Bedrock client → Bedrock provider: a stream the budget cannot pay for is cut with an exception, spend within a step", async () => {
    const mock = await startMockUpstream();
    const gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: {
        AWS_ACCESS_KEY_ID: MOCK_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOCK_AWS_CREDENTIALS.secretAccessKey,
        AWS_REGION: MOCK_AWS_REGION,
      },
    });
    try {
      const created = await fetch(`${gw.url}/api/virtual-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "cut-bedrock", budgets: [{ name: "daily", limitUsd: "0.05", period: "1d" }] }),
      });
      const key = (await created.json()) as { id: string; secret: string };
      const client = new AnthropicBedrock({
        baseURL: `${gw.url}/bedrock`,
        awsRegion: MOCK_AWS_REGION,
        apiKey: key.secret,
        maxRetries: 0,
      });
      mock.enqueue({ scenario: "text", text: LONG_TEXT });
      let text = "";
      const stream = client.messages.stream({
        model: CLAUDE_US,
        max_tokens: 64_000,
        messages: [{ role: "user", content: "write a lot" }],
      });
      await assert.rejects(
        (async () => {
          for await (const event of stream) {
            if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
          }
        })(),
        // The SDK reports the exception's class and its message (quotes JSON-escaped in its text).
        /"modelStreamErrorException","message":"Budget \\"daily\\" of key \\"cut-bedrock\\" is exhausted/,
      );
      assert.ok(
        text.length > 1000 && text.length < LONG_TEXT.length,
        `got ${text.length} of ${LONG_TEXT.length} chars`,
      );
      // Served by the Bedrock provider through InvokeModelWithResponseStream, its max_tokens lowered to what remains.
      const sent = mock.requests.at(-1);
      assert.equal(sent?.route, "bedrock-invoke-stream");
      assert.ok(Number((sent?.json as { max_tokens?: number } | undefined)?.max_tokens) < 64_000);
      const rows = await gw.waitForLogs(1);
      const row = rows.at(-1);
      assert.equal(row?.errorCode, "TG_BUDGET_EXHAUSTED");
      assert.ok((row?.costNanoUsd ?? 0) <= 6 * CENT && (row?.costNanoUsd ?? 0) >= 4 * CENT, String(row?.costNanoUsd));
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});
