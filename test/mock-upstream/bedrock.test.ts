import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseStreamOutput,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import {
  MOCK_AWS_CREDENTIALS,
  MOCK_AWS_REGION,
  MOCK_AWS_SESSION_CREDENTIALS,
  MOCK_BEDROCK_API_KEY,
} from "../fixtures/mock-upstream/bedrock/index.ts";
import { type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { rawRequest } from "./helpers.ts";

let mock: MockUpstream;
before(async () => {
  mock = await startMockUpstream();
});
after(() => mock.close());

const CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA = "us.amazon.nova-pro-v1:0";

function client(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = MOCK_AWS_CREDENTIALS,
) {
  // HTTP/1.1: the mock is a node:http server (the SDK defaults to HTTP/2 for Bedrock's streams).
  return new BedrockRuntimeClient({
    region: MOCK_AWS_REGION,
    endpoint: mock.url,
    credentials,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
}

const converseInput = {
  modelId: NOVA,
  messages: [{ role: "user" as const, content: [{ text: "Say hello" }] }],
  inferenceConfig: { maxTokens: 100 },
};

async function collect(stream: AsyncIterable<ConverseStreamOutput> | undefined): Promise<ConverseStreamOutput[]> {
  const events: ConverseStreamOutput[] = [];
  for await (const event of stream ?? []) events.push(event);
  return events;
}

test("the official AWS SDK's SigV4 requests pass the mock's signature check (Converse)", async () => {
  mock.enqueue({ scenario: "text", text: "Hello there friend" });
  const out = await client().send(new ConverseCommand(converseInput));
  assert.equal(out.stopReason, "end_turn");
  assert.deepEqual(out.output?.message?.content, [{ text: "Hello there friend" }]);
  assert.equal(out.usage?.outputTokens, 3);
  const recorded = mock.requests.at(-1);
  assert.equal(recorded?.route, "bedrock-converse");
  assert.match(
    String(recorded?.headers.authorization),
    /^AWS4-HMAC-SHA256 Credential=AKIAMOCKTOLLGATE0001\/\d{8}\/us-east-1\/bedrock\/aws4_request/,
  );
});

test("temporary credentials need their session token; a wrong secret is InvalidSignatureException", async () => {
  mock.enqueue({ scenario: "text" });
  const ok = await client(MOCK_AWS_SESSION_CREDENTIALS).send(new ConverseCommand(converseInput));
  assert.equal(ok.stopReason, "end_turn");
  await assert.rejects(
    client({ ...MOCK_AWS_CREDENTIALS, secretAccessKey: "wrong" }).send(new ConverseCommand(converseInput)),
    (err: Error) =>
      err.name === "InvalidSignatureException" && /signature we calculated does not match/.test(err.message),
  );
  await assert.rejects(
    client({ accessKeyId: "AKIAUNKNOWN", secretAccessKey: "x" }).send(new ConverseCommand(converseInput)),
    (err: Error) => err.name === "UnrecognizedClientException",
  );
});

test("ConverseStream is an AWS event stream the SDK decodes: text, tool call, stop, usage", async () => {
  mock.enqueue({ scenario: "tool-call", text: "Checking", toolName: "get_weather", toolArgs: { city: "Oslo" } });
  const out = await client().send(
    new ConverseStreamCommand({
      ...converseInput,
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: "get_weather",
              inputSchema: { json: { type: "object", properties: { city: { type: "string" } } } },
            },
          },
        ],
      },
    }),
  );
  const events = await collect(out.stream);
  const text = events.map((e) => e.contentBlockDelta?.delta?.text ?? "").join("");
  const args = events.map((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? "").join("");
  assert.equal(text, "Checking");
  assert.deepEqual(JSON.parse(args), { city: "Oslo" });
  assert.equal(events.find((e) => e.contentBlockStart)?.contentBlockStart?.start?.toolUse?.name, "get_weather");
  assert.equal(events.find((e) => e.messageStop)?.messageStop?.stopReason, "tool_use");
  const usage = events.find((e) => e.metadata)?.metadata?.usage;
  assert.ok((usage?.inputTokens ?? 0) > 0 && (usage?.outputTokens ?? 0) > 0);
});

test("a stream error is a modeled exception the SDK throws mid-stream", async () => {
  mock.enqueue({ scenario: "stream-error" });
  const out = await client().send(new ConverseStreamCommand(converseInput));
  await assert.rejects(collect(out.stream), (err: Error) => err.name === "ModelStreamErrorException");
});

test("InvokeModel(WithResponseStream) takes an Anthropic body and answers Anthropic events in chunks", async () => {
  const body = { anthropic_version: "bedrock-2023-05-31", max_tokens: 50, messages: [{ role: "user", content: "Hi" }] };
  mock.enqueue({ scenario: "text", text: "Hi from Claude" });
  const whole = await client().send(new InvokeModelCommand({ modelId: CLAUDE, body: JSON.stringify(body) }));
  const message = JSON.parse(Buffer.from(whole.body).toString("utf8")) as { content: { text: string }[] };
  assert.equal(message.content[0]?.text, "Hi from Claude");

  mock.enqueue({ scenario: "text", text: "Hi again" });
  const streamed = await client().send(
    new InvokeModelWithResponseStreamCommand({ modelId: CLAUDE, body: JSON.stringify(body) }),
  );
  const types: string[] = [];
  let text = "";
  let metrics: unknown;
  for await (const event of streamed.body ?? []) {
    const parsed = JSON.parse(Buffer.from(event.chunk?.bytes ?? []).toString("utf8")) as Record<string, unknown>;
    types.push(String(parsed.type));
    const delta = parsed.delta as { text?: string } | undefined;
    if (parsed.type === "content_block_delta") text += delta?.text ?? "";
    if (parsed.type === "message_stop") metrics = parsed["amazon-bedrock-invocationMetrics"];
  }
  assert.equal(text, "Hi again");
  assert.equal(types[0], "message_start");
  assert.equal(types.at(-1), "message_stop");
  assert.ok(metrics, "Bedrock's invocation metrics ride on message_stop");
});

test("Bedrock's request shape is enforced with its ValidationException wording", async () => {
  const send = (path: string, body: unknown) =>
    rawRequest(`${mock.url}${path}`, {
      headers: { "content-type": "application/json", authorization: `Bearer ${MOCK_BEDROCK_API_KEY}` },
      body: JSON.stringify(body),
    });
  const withModel = await send(`/model/${encodeURIComponent(CLAUDE)}/invoke`, {
    anthropic_version: "bedrock-2023-05-31",
    model: CLAUDE,
    max_tokens: 5,
    messages: [{ role: "user", content: "x" }],
  });
  assert.equal(withModel.status, 400);
  assert.match(String(withModel.headers["x-amzn-errortype"]), /^ValidationException:/);
  assert.match(JSON.parse(withModel.body.toString()).message, /extraneous key \[model\] is not permitted/);
  const noVersion = await send(`/model/${encodeURIComponent(CLAUDE)}/invoke`, { max_tokens: 5, messages: [] });
  assert.match(JSON.parse(noVersion.body.toString()).message, /required key \[anthropic_version\] not found/);
  const assistantFirst = await send(`/model/${NOVA}/converse`, {
    messages: [{ role: "assistant", content: [{ text: "x" }] }],
  });
  assert.match(JSON.parse(assistantFirst.body.toString()).message, /must start with a user message/);
  const toolsWithoutConfig = await send(`/model/${NOVA}/converse`, {
    messages: [
      { role: "user", content: [{ text: "x" }] },
      { role: "assistant", content: [{ toolUse: { toolUseId: "t1", name: "f", input: {} } }] },
      { role: "user", content: [{ toolResult: { toolUseId: "t1", content: [{ text: "ok" }] } }] },
    ],
  });
  assert.match(JSON.parse(toolsWithoutConfig.body.toString()).message, /toolConfig field must be defined/);
  const noAuth = await rawRequest(`${mock.url}/model/${NOVA}/converse`, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify(converseInput),
  });
  assert.equal(noAuth.status, 403);
  assert.match(String(noAuth.headers["x-amzn-errortype"]), /^MissingAuthenticationTokenException/);
});

test("recorded ConverseStream fixtures replay as event streams", async () => {
  mock.enqueue({ scenario: "fixture", fixture: "bedrock/bedrock-tool-call.1.chunks.txt" });
  const out = await client().send(new ConverseStreamCommand(converseInput));
  const events = await collect(out.stream);
  assert.equal(events[0]?.contentBlockStart?.start?.toolUse?.toolUseId, "tool-use-id");
  assert.equal(events.at(-1)?.messageStop?.stopReason, "tool_use");
  assert.equal(events.find((e) => e.metadata)?.metadata?.usage?.inputTokens, 125);
});
