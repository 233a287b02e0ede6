import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { DEFAULT_TEXT, type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { ANTHROPIC_HEADERS, parseSse, rawRequest } from "./helpers.ts";

let mock: MockUpstream;
let client: Anthropic;

before(async () => {
  mock = await startMockUpstream();
  client = new Anthropic({ apiKey: "test-key", baseURL: mock.url, maxRetries: 0 });
});
after(() => mock.close());
beforeEach(() => mock.reset());

const request = { model: "claude-mock-1", max_tokens: 1024, messages: [{ role: "user" as const, content: "hi" }] };
const weatherTool = {
  name: "get_weather",
  description: "Weather",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } } },
};

describe("mock upstream: Anthropic Messages", () => {
  it("answers a non-streaming request with the default text, the requested model and computed usage", async () => {
    const message = await client.messages.create(request);
    assert.equal(message.model, "claude-mock-1");
    assert.equal(message.stop_reason, "end_turn");
    assert.deepEqual(message.content, [{ type: "text", text: DEFAULT_TEXT }]);
    const bodyBytes = mock.requests[0]?.body.length ?? 0;
    assert.equal(message.usage.input_tokens, Math.ceil(bodyBytes / 4));
    assert.equal(message.usage.output_tokens, 5);
    assert.equal(message.usage.cache_read_input_tokens, 0);
    assert.deepEqual(message.usage.cache_creation, { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 });
    assert.equal(mock.requests[0]?.dialect, "anthropic");
    assert.equal(mock.requests[0]?.path, "/v1/messages");
  });

  it("streams text that the SDK reassembles, with event names on every event", async () => {
    mock.enqueue({ scenario: "text", text: "one two three four" });
    const stream = client.messages.stream(request);
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, [{ type: "text", text: "one two three four" }]);
    assert.equal(final.usage.output_tokens, 4);

    mock.enqueue({ scenario: "text", text: "one two" });
    const raw = await rawRequest(`${mock.url}/v1/messages?beta=true`, {
      headers: ANTHROPIC_HEADERS,
      body: JSON.stringify({ ...request, stream: true }),
    });
    const events = parseSse(raw.body.toString());
    assert.deepEqual(
      events.map((event) => event.event),
      [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
      ],
    );
    for (const event of events) assert.equal(JSON.parse(event.data).type, event.event);
    assert.match(String(raw.headers["content-type"]), /^text\/event-stream/);
  });

  it("streams a tool_use block with input_json_delta fragments that parse to the scripted arguments", async () => {
    mock.enqueue({ scenario: "tool-call", toolArgs: { city: "Oslo", days: 3 } });
    const stream = client.messages.stream({ ...request, tools: [weatherTool] });
    const deltas: string[] = [];
    stream.on("inputJson", (partial) => deltas.push(partial));
    const final = await stream.finalMessage();
    assert.equal(final.stop_reason, "tool_use");
    const block = final.content[0];
    assert.equal(block?.type, "tool_use");
    if (block?.type !== "tool_use") return;
    assert.equal(block.name, "get_weather");
    assert.deepEqual(block.input, { city: "Oslo", days: 3 });
    assert.ok(deltas.length >= 2, "arguments arrive in several fragments");
  });

  it("puts a thinking block with a signature before the text", async () => {
    mock.enqueue({ scenario: "thinking", text: "The answer." });
    const final = await client.messages.stream(request).finalMessage();
    assert.deepEqual(
      final.content.map((block) => block.type),
      ["thinking", "text"],
    );
    const thinking = final.content[0];
    assert.ok(thinking?.type === "thinking" && thinking.thinking.length > 0 && thinking.signature.length > 0);
    assert.ok(final.usage.output_tokens > 2, "thinking words count as output");
  });

  it("merges a scripted usage over message_start and message_delta", async () => {
    const usage = {
      input_tokens: 1200,
      cache_read_input_tokens: 3000,
      cache_creation_input_tokens: 150,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 50 },
      output_tokens: 77,
    };
    mock.enqueue({ scenario: "text", usage, model: "claude-served-1" });
    const raw = await rawRequest(`${mock.url}/v1/messages`, {
      headers: ANTHROPIC_HEADERS,
      body: JSON.stringify({ ...request, stream: true }),
    });
    const events = parseSse(raw.body.toString()).map((event) => JSON.parse(event.data));
    const start = events.find((event) => event.type === "message_start");
    assert.equal(start.message.model, "claude-served-1");
    assert.equal(start.message.usage.input_tokens, 1200);
    assert.equal(start.message.usage.cache_read_input_tokens, 3000);
    assert.deepEqual(start.message.usage.cache_creation, {
      ephemeral_5m_input_tokens: 100,
      ephemeral_1h_input_tokens: 50,
    });
    assert.equal(start.message.usage.output_tokens, 1);
    const delta = events.find((event) => event.type === "message_delta");
    assert.deepEqual(delta.usage, {
      input_tokens: 1200,
      cache_creation_input_tokens: 150,
      cache_read_input_tokens: 3000,
      output_tokens: 77,
    });
  });

  it("counts tokens and lists models in the Anthropic shapes", async () => {
    const count = await client.messages.countTokens({ model: "claude-mock-1", messages: request.messages });
    assert.equal(count.input_tokens, Math.ceil((mock.requests[0]?.body.length ?? 0) / 4));
    const page = await client.models.list();
    assert.ok(page.data.length > 0);
    assert.equal(page.data[0]?.type, "model");
    assert.equal(mock.requests[1]?.route, "anthropic-models");
  });

  it("accepts Authorization: Bearer and rejects missing or bad keys with the real 401 bodies", async () => {
    const bearer = new Anthropic({ authToken: "token", apiKey: null, baseURL: mock.url, maxRetries: 0 });
    assert.equal((await bearer.messages.create(request)).type, "message");

    const noKey = await rawRequest(`${mock.url}/v1/messages`, {
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify(request),
    });
    assert.equal(noKey.status, 401);
    const body = JSON.parse(noKey.body.toString());
    assert.equal(body.type, "error");
    assert.deepEqual(body.error, { type: "authentication_error", message: "x-api-key header is required" });

    // This SDK sends the API key as a bearer token.
    const bad = new Anthropic({ apiKey: "bad-key", baseURL: mock.url, maxRetries: 0 });
    await assert.rejects(bad.messages.create(request), (error: unknown) => {
      assert.ok(error instanceof Anthropic.AuthenticationError);
      assert.match(error.message, /Invalid bearer token/);
      return true;
    });
    const badHeader = await rawRequest(`${mock.url}/v1/messages`, {
      headers: { ...ANTHROPIC_HEADERS, "x-api-key": "bad-key" },
      body: JSON.stringify(request),
    });
    assert.equal(badHeader.status, 401);
    assert.equal(JSON.parse(badHeader.body.toString()).error.message, "invalid x-api-key");

    const noVersion = await rawRequest(`${mock.url}/v1/messages`, {
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: JSON.stringify(request),
    });
    assert.equal(noVersion.status, 400);
    assert.equal(JSON.parse(noVersion.body.toString()).error.message, "anthropic-version: header is required");
  });

  it("answers HEAD / with 200 and works under any base path", async () => {
    const probe = await rawRequest(`${mock.url}/`, { method: "HEAD" });
    assert.equal(probe.status, 200);
    const prefixed = new Anthropic({ apiKey: "k", baseURL: `${mock.url}/gw/anthropic`, maxRetries: 0 });
    assert.equal((await prefixed.messages.create(request)).type, "message");
    assert.equal(mock.requests.at(-1)?.path, "/gw/anthropic/v1/messages");
  });
});
