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

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } } },
  strict: false,
};

async function rawEvents(body: unknown): Promise<{ event?: string; json: Record<string, unknown> }[]> {
  const raw = await rawRequest(`${mock.url}/v1/responses`, { headers: OPENAI_HEADERS, body: JSON.stringify(body) });
  return parseSse(raw.body.toString()).map((event) => ({ event: event.event, json: JSON.parse(event.data) }));
}

describe("mock upstream: OpenAI Responses", () => {
  it("answers a non-streaming request with a completed response and usage including total_tokens", async () => {
    const response = await client.responses.create({ model: "gpt-5", input: "hi" });
    assert.equal(response.status, "completed");
    assert.equal(response.model, "gpt-5");
    assert.equal(response.output_text, DEFAULT_TEXT);
    const input = Math.ceil((mock.requests[0]?.body.length ?? 0) / 4);
    assert.deepEqual(response.usage, {
      input_tokens: input,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + 5,
    });
    assert.equal(mock.requests[0]?.dialect, "openai-responses");
  });

  it("streams the full event sequence with increasing sequence numbers", async () => {
    mock.enqueue({ scenario: "text", text: "Hi there" });
    const events = await rawEvents({ model: "gpt-5", input: "hi", stream: true });
    assert.deepEqual(
      events.map((event) => event.json.type),
      [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ],
    );
    events.forEach((event, index) => {
      assert.equal(event.json.sequence_number, index);
      assert.equal(event.event, event.json.type);
    });

    mock.enqueue({ scenario: "text", text: "Hi there" });
    const stream = client.responses.stream({ model: "gpt-5", input: "hi" });
    const final = await stream.finalResponse();
    assert.equal(final.output_text, "Hi there");
    assert.equal(final.usage?.total_tokens, (final.usage?.input_tokens ?? 0) + 2);
  });

  it("streams a function call whose output_item.done carries the full arguments", async () => {
    mock.enqueue({ scenario: "tool-call", toolArgs: { city: "Quito" } });
    const events = await rawEvents({ model: "gpt-5", input: "hi", tools: [weatherTool], stream: true });
    const deltas = events.filter((event) => event.json.type === "response.function_call_arguments.delta");
    assert.ok(deltas.length >= 2);
    const done = events.find((event) => event.json.type === "response.output_item.done")?.json.item as Record<
      string,
      unknown
    >;
    assert.equal(done.type, "function_call");
    assert.equal(done.name, "get_weather");
    assert.deepEqual(JSON.parse(String(done.arguments)), { city: "Quito" });
    assert.match(String(done.call_id), /^call_/);
    const completed = events.at(-1)?.json.response as { output: unknown[] };
    assert.deepEqual(completed.output, [done]);

    mock.enqueue({ scenario: "tool-call", toolArgs: { city: "Quito" } });
    const final = await client.responses.stream({ model: "gpt-5", input: "hi", tools: [weatherTool] }).finalResponse();
    const call = final.output[0];
    assert.ok(call?.type === "function_call");
    assert.equal(call.arguments, '{"city":"Quito"}');
  });

  it("adds a reasoning item with summary events, and encrypted content when asked", async () => {
    mock.enqueue({ scenario: "thinking" });
    const events = await rawEvents({
      model: "gpt-5",
      input: "hi",
      stream: true,
      include: ["reasoning.encrypted_content"],
    });
    const types = events.map((event) => String(event.json.type));
    assert.ok(types.includes("response.reasoning_summary_text.delta"));
    const completed = events.at(-1)?.json.response as {
      output: Record<string, unknown>[];
      usage: { output_tokens_details: { reasoning_tokens: number } };
    };
    const items = completed.output;
    assert.deepEqual(
      items.map((item) => item.type),
      ["reasoning", "message"],
    );
    assert.equal(typeof items[0]?.encrypted_content, "string");
    assert.ok(completed.usage.output_tokens_details.reasoning_tokens > 0);
  });

  it("echoes request settings on the response object", async () => {
    const response = await client.responses.create({
      model: "gpt-5",
      input: [{ role: "user", content: "hi" }],
      instructions: "be brief",
      store: false,
      prompt_cache_key: "session-1",
    });
    assert.equal(response.instructions, "be brief");
    assert.equal((response as unknown as { store: unknown }).store, false);
    assert.equal(response.prompt_cache_key, "session-1");
  });
});
