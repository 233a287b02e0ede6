import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { DEFAULT_TEXT, type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { OPENAI_HEADERS, parseSse, rawRequest } from "./helpers.ts";

let mock: MockUpstream;
let client: OpenAI;

before(async () => {
  mock = await startMockUpstream();
  client = new OpenAI({ apiKey: "test-key", baseURL: `${mock.url}/v1`, maxRetries: 0 });
});
after(() => mock.close());
beforeEach(() => mock.reset());

const messages = [{ role: "user" as const, content: "hi" }];
const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

describe("mock upstream: OpenAI Chat Completions", () => {
  it("answers a non-streaming request with text, the requested model and usage", async () => {
    const completion = await client.chat.completions.create({ model: "gpt-4o", messages });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.model, "gpt-4o");
    assert.equal(completion.choices[0]?.message.content, DEFAULT_TEXT);
    assert.equal(completion.choices[0]?.finish_reason, "stop");
    const prompt = Math.ceil((mock.requests[0]?.body.length ?? 0) / 4);
    assert.equal(completion.usage?.prompt_tokens, prompt);
    assert.equal(completion.usage?.completion_tokens, 5);
    assert.equal(completion.usage?.total_tokens, prompt + 5);
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 0);
    assert.equal(mock.requests[0]?.dialect, "openai-chat");
  });

  it("streams with a final choices:[] usage chunk and usage:null elsewhere only when include_usage is set", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.completion_tokens, 5);
    for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage, null);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, DEFAULT_TEXT);
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, "stop");

    const raw = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify({ model: "gpt-4o", messages, stream: true }),
    });
    const events = parseSse(raw.body.toString());
    assert.equal(events.at(-1)?.data, "[DONE]");
    for (const event of events.slice(0, -1)) {
      assert.equal(event.event, undefined, "no event: lines");
      const chunk = JSON.parse(event.data);
      assert.equal("usage" in chunk, false);
      assert.equal(chunk.choices.length, 1);
    }
  });

  it("streams a tool call keyed by index with arguments in several fragments", async () => {
    mock.enqueue({ scenario: "tool-call", toolArgs: { city: "Lima", unit: "celsius" } });
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      messages,
      tools: [weatherTool],
      stream: true,
    });
    let name = "";
    let id = "";
    const fragments: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const call of choice?.delta.tool_calls ?? []) {
        assert.equal(call.index, 0);
        if (call.id) id = call.id;
        if (call.function?.name) name = call.function.name;
        if (call.function?.arguments) fragments.push(call.function.arguments);
      }
      finish = choice?.finish_reason ?? finish;
    }
    assert.equal(name, "get_weather");
    assert.match(id, /^call_/);
    assert.ok(fragments.length >= 2);
    assert.deepEqual(JSON.parse(fragments.join("")), { city: "Lima", unit: "celsius" });
    assert.equal(finish, "tool_calls");
  });

  it("returns a non-streaming tool call with null content", async () => {
    mock.enqueue({ scenario: "tool-call" });
    const completion = await client.chat.completions.create({ model: "gpt-4o", messages, tools: [weatherTool] });
    const message = completion.choices[0]?.message;
    assert.equal(message?.content, null);
    const call = message?.tool_calls?.[0];
    assert.ok(call?.type === "function");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });
  });

  it("reports reasoning tokens for the thinking scenario and merges a scripted usage", async () => {
    mock.enqueue({
      scenario: "thinking",
      text: "ok",
      usage: { prompt_tokens: 900, prompt_tokens_details: { cached_tokens: 512 } },
    });
    const completion = await client.chat.completions.create({ model: "o4-mini", messages });
    const usage = completion.usage;
    assert.ok((usage?.completion_tokens_details?.reasoning_tokens ?? 0) > 0);
    assert.equal(usage?.prompt_tokens, 900);
    assert.equal(usage?.prompt_tokens_details?.cached_tokens, 512);
    assert.equal(usage?.total_tokens, 900 + (usage?.completion_tokens ?? 0));
  });

  it("serves embeddings (float and base64) and the model list", async () => {
    const embeddings = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["a", "b"],
      dimensions: 8,
    });
    assert.equal(embeddings.data.length, 2);
    assert.equal(embeddings.data[0]?.embedding.length, 8);
    assert.notDeepEqual(embeddings.data[0]?.embedding, embeddings.data[1]?.embedding);
    assert.equal(embeddings.model, "text-embedding-3-small");
    assert.equal(embeddings.usage.prompt_tokens, Math.ceil((mock.requests[0]?.body.length ?? 0) / 4));
    const floats = await client.embeddings.create({ model: "m", input: "a", encoding_format: "float" });
    assert.equal(floats.data[0]?.embedding.length, 1536);
    assert.equal(mock.requests[0]?.dialect, "openai-embeddings");

    const models = await client.models.list();
    assert.ok(models.data.some((model) => model.id === "gpt-4o"));
    assert.equal(mock.requests.at(-1)?.route, "openai-models");
  });

  it("serves OpenAI-compatible base paths", async () => {
    const groq = new OpenAI({ apiKey: "k", baseURL: `${mock.url}/openai/v1`, maxRetries: 0 });
    assert.equal((await groq.chat.completions.create({ model: "llama", messages })).object, "chat.completion");
    const openrouter = new OpenAI({ apiKey: "k", baseURL: `${mock.url}/api/v1`, maxRetries: 0 });
    assert.equal((await openrouter.chat.completions.create({ model: "x", messages })).object, "chat.completion");
    assert.deepEqual(
      mock.requests.map((request) => request.path),
      ["/openai/v1/chat/completions", "/api/v1/chat/completions"],
    );
  });

  it("rejects missing and bad keys with the real 401 bodies", async () => {
    const missing = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages }),
    });
    assert.equal(missing.status, 401);
    assert.match(JSON.parse(missing.body.toString()).error.message, /^You didn't provide an API key/);

    const bad = new OpenAI({ apiKey: "bad-key", baseURL: `${mock.url}/v1`, maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: "gpt-4o", messages }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.AuthenticationError);
      assert.equal(error.code, "invalid_api_key");
      return true;
    });
  });
});
