import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { ManualClock } from "../../src/clock.ts";
import { MOCK_AWS_CREDENTIALS, MOCK_AWS_REGION } from "../fixtures/mock-upstream/bedrock/index.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

type Json = Record<string, unknown>;
interface AnthropicMessage {
  role: string;
  content: string | Json[];
}

const DAY_MS = 86_400_000;
const MODEL = "claude-sonnet-4-5";
const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

/** The Anthropic messages the mock received on request `i`, content as block lists. */
function upstreamMessages(mock: MockUpstream, i: number): AnthropicMessage[] {
  const req = mock.requests[i];
  assert.equal(req?.route, "anthropic-messages", "translated to Anthropic");
  const messages = (req?.json as { messages?: AnthropicMessage[] } | undefined)?.messages ?? [];
  return messages.map((m) => ({
    role: m.role,
    content: typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content,
  }));
}

function blocks(message: AnthropicMessage | undefined): Json[] {
  return (message?.content ?? []) as Json[];
}

function texts(message: AnthropicMessage | undefined): string[] {
  return blocks(message).flatMap((b) => (b.type === "text" ? [String(b.text)] : []));
}

describe("Responses API state for translated calls (gateway response store)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let clock: ManualClock;
  let alice: OpenAI;
  let bob: OpenAI;
  let aliceSecret: string;

  before(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1));
    mock = await startMockUpstream();
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      clock,
      configure: (config) => {
        config.responses = { storeTtlDays: 2 };
      },
    });
    const keys: string[] = [];
    for (const name of ["alice", "bob"]) {
      const created = await fetch(`${gw.url}/api/virtual-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      assert.equal(created.status, 201);
      keys.push(((await created.json()) as { secret: string }).secret);
    }
    aliceSecret = keys[0] as string;
    alice = new OpenAI({ apiKey: aliceSecret, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    bob = new OpenAI({ apiKey: keys[1] as string, baseURL: `${gw.url}/openai/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  /** Waits until the call's log row is written and every save it started has finished. */
  const settled = async (rows: number) => {
    await gw.waitForLogs(rows);
    await gw.gateway.runtime.responses?.idle();
  };
  let rowCount = 0;
  const nextRow = () => {
    rowCount += 1;
    return rowCount;
  };

  it("stores a tool-call turn and continues it with previous_response_id (non-streaming)", async () => {
    mock.enqueue({ scenario: "tool-call", toolName: "get_weather", toolArgs: { city: "Oslo" } });
    const first = await alice.responses.create({
      model: MODEL,
      instructions: "Be brief.",
      input: "What is the weather in Oslo?",
      store: true,
      tools: [WEATHER_TOOL],
    });
    await settled(nextRow());
    assert.match(first.id, /^resp_[0-9a-f]{48}$/);
    const call = first.output.find((item) => item.type === "function_call");
    assert.ok(call && call.type === "function_call", JSON.stringify(first.output));
    assert.equal(call.name, "get_weather");
    assert.deepEqual(JSON.parse(call.arguments), { city: "Oslo" });
    const firstRow = (await gw.logs()).at(-1);
    assert.ok(
      !firstRow?.warnings.some((w) => /store/.test(w)),
      `no store warning: ${JSON.stringify(firstRow?.warnings)}`,
    );

    mock.enqueue({ scenario: "text", text: "It is 12 degrees in Oslo." });
    const second = await alice.responses.create({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: '{"celsius":12}' }],
      tools: [WEATHER_TOOL],
    });
    await settled(nextRow());
    assert.equal(second.output_text, "It is 12 degrees in Oslo.");
    assert.notEqual(second.id, first.id);

    // The upstream saw the whole conversation: the prior user turn, the prior assistant tool call, and its result.
    const messages = upstreamMessages(mock, 1);
    assert.deepEqual(
      messages.map((m) => m.role),
      ["user", "assistant", "user"],
    );
    assert.deepEqual(texts(messages[0]), ["What is the weather in Oslo?"]);
    const toolUse = blocks(messages[1]).find((b) => b.type === "tool_use");
    assert.deepEqual(
      { id: toolUse?.id, name: toolUse?.name, input: toolUse?.input },
      { id: call.call_id, name: "get_weather", input: { city: "Oslo" } },
    );
    const toolResult = blocks(messages[2]).find((b) => b.type === "tool_result");
    assert.equal(toolResult?.tool_use_id, call.call_id);
    assert.match(JSON.stringify(toolResult?.content), /celsius/);
    assert.ok(!("previous_response_id" in ((mock.requests[1]?.json ?? {}) as Json)));

    // A third turn chains through both: the whole history is resolved from the second response alone.
    mock.enqueue({ scenario: "text", text: "You're welcome." });
    await alice.responses.create({ model: MODEL, previous_response_id: second.id, input: "Thanks!" });
    await settled(nextRow());
    const third = upstreamMessages(mock, 2);
    assert.deepEqual(
      third.map((m) => m.role),
      ["user", "assistant", "user", "assistant", "user"],
    );
    assert.deepEqual(texts(third[3]), ["It is 12 degrees in Oslo."]);
    assert.deepEqual(texts(third[4]), ["Thanks!"]);

    // GET serves the stored response (the SDK's retrieve), with its output as the client received it.
    const retrieved = await alice.responses.retrieve(second.id);
    assert.equal(retrieved.id, second.id);
    assert.equal(retrieved.status, "completed");
    assert.deepEqual(retrieved.output, second.output);
    assert.equal(retrieved.previous_response_id, first.id);
    assert.equal((retrieved as unknown as { store: boolean }).store, true);
    const firstBack = await alice.responses.retrieve(first.id);
    assert.equal(firstBack.instructions, "Be brief.");
    assert.deepEqual(firstBack.output, first.output);
    // The effective input, previous chain resolved (input_items lists newest first).
    const items = await alice.responses.inputItems.list(second.id);
    assert.equal(items.data.length, 3);
    assert.equal(items.data[0]?.type, "function_call_output");
  });

  it("stores and continues a streamed turn; the stored id is the stream's", async () => {
    mock.enqueue({ scenario: "tool-call", toolName: "get_weather", toolArgs: { city: "Rome" } });
    const stream = await alice.responses.create({
      model: MODEL,
      input: "Weather in Rome?",
      tools: [WEATHER_TOOL],
      stream: true,
    });
    let createdId = "";
    let completed: OpenAI.Responses.Response | null = null;
    for await (const event of stream) {
      if (event.type === "response.created") createdId = event.response.id;
      if (event.type === "response.completed") completed = event.response;
    }
    await settled(nextRow());
    assert.ok(completed);
    assert.match(createdId, /^resp_[0-9a-f]{48}$/);
    assert.equal(completed.id, createdId);
    const call = completed.output.find((item) => item.type === "function_call");
    assert.ok(call && call.type === "function_call");

    mock.enqueue({ scenario: "text", text: "Sunny in Rome." });
    const next = await alice.responses.create({
      model: MODEL,
      previous_response_id: createdId,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny" }],
      tools: [WEATHER_TOOL],
      stream: true,
    });
    let text = "";
    for await (const event of next) if (event.type === "response.output_text.delta") text += event.delta;
    await settled(nextRow());
    assert.equal(text, "Sunny in Rome.");
    const messages = upstreamMessages(mock, 1);
    assert.deepEqual(
      messages.map((m) => m.role),
      ["user", "assistant", "user"],
    );
    assert.deepEqual(texts(messages[0]), ["Weather in Rome?"]);
    assert.equal(blocks(messages[1]).find((b) => b.type === "tool_use")?.id, call.call_id);
    assert.equal(blocks(messages[2]).find((b) => b.type === "tool_result")?.tool_use_id, call.call_id);
    assert.deepEqual((await alice.responses.retrieve(createdId)).output, completed.output);
  });

  it("another key cannot use or read the id: 400 previous_response_not_found, 404 on GET", async () => {
    mock.enqueue({ scenario: "text", text: "mine" });
    const mine = await alice.responses.create({ model: MODEL, input: "hello" });
    await settled(nextRow());

    await assert.rejects(
      bob.responses.create({ model: MODEL, previous_response_id: mine.id, input: "and?" }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.code, "previous_response_not_found");
        assert.equal(err.param, "previous_response_id");
        assert.equal(err.type, "invalid_request_error");
        assert.equal(err.message, `400 Previous response with id '${mine.id}' not found.`);
        return true;
      },
    );
    nextRow();
    assert.equal(mock.requests.length, 1, "the refused call never reached the upstream");
    await assert.rejects(bob.responses.retrieve(mine.id), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      return true;
    });
    // Bob cannot delete it either; Alice can, after which it is gone.
    const bobDelete = await fetch(`${gw.url}/v1/responses/${mine.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${(bob as unknown as { apiKey: string }).apiKey}` },
    });
    assert.equal(bobDelete.status, 404);
    const deleted = await fetch(`${gw.url}/openai/v1/responses/${mine.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${aliceSecret}` },
    });
    assert.deepEqual(await deleted.json(), { id: mine.id, object: "response.deleted", deleted: true });
    await assert.rejects(alice.responses.retrieve(mine.id), OpenAI.NotFoundError);
  });

  it("store: false stores nothing, and says nothing about it", async () => {
    mock.enqueue({ scenario: "text", text: "ephemeral" });
    const reply = await alice.responses.create({ model: MODEL, input: "hello", store: false });
    await settled(nextRow());
    const row = (await gw.logs()).at(-1);
    assert.ok(!row?.warnings.some((w) => /store/.test(w)), JSON.stringify(row?.warnings));
    await assert.rejects(alice.responses.retrieve(reply.id), OpenAI.NotFoundError);
    await assert.rejects(
      alice.responses.create({ model: MODEL, previous_response_id: reply.id, input: "and?" }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === "previous_response_not_found",
    );
    nextRow();
  });

  it("a stored response expires after responses.storeTtlDays", async () => {
    mock.enqueue({ scenario: "text", text: "short-lived" });
    const reply = await alice.responses.create({ model: MODEL, input: "hello" });
    await settled(nextRow());
    clock.advance(DAY_MS);
    assert.equal((await alice.responses.retrieve(reply.id)).id, reply.id, "still there after a day");
    clock.advance(DAY_MS + 1);
    await assert.rejects(alice.responses.retrieve(reply.id), OpenAI.NotFoundError);
    await assert.rejects(
      alice.responses.create({ model: MODEL, previous_response_id: reply.id, input: "and?" }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === "previous_response_not_found",
    );
    nextRow();
    // Expired rows are purged.
    const purged = await gw.gateway.runtime.responses?.purgeExpired();
    assert.ok((purged ?? 0) >= 1);
  });

  it("an unknown id on GET is an OpenAI-shaped 404", async () => {
    const res = await fetch(`${gw.url}/v1/responses/resp_unknown`, {
      headers: { authorization: `Bearer ${aliceSecret}` },
    });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), {
      error: {
        message: "Response with id 'resp_unknown' not found.",
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
  });
});

describe("Responses API state for calls translated to Bedrock Converse", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  const NOVA = "us.amazon.nova-pro-v1:0";

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
    client = new OpenAI({ apiKey: "client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("gives each stored reply its own id (Converse has none) and continues the conversation", async () => {
    const ids: string[] = [];
    for (const [i, text] of ["first answer", "second answer"].entries()) {
      mock.enqueue({ scenario: "text", text });
      const stream = await client.responses.create({ model: NOVA, input: `question ${i}`, stream: true });
      for await (const event of stream) if (event.type === "response.completed") ids.push(event.response.id);
      await gw.waitForLogs(i + 1);
    }
    await gw.gateway.runtime.responses?.idle();
    assert.equal(ids.length, 2);
    assert.notEqual(ids[0], ids[1]);
    assert.equal((await client.responses.retrieve(ids[0] as string)).output_text, "first answer");

    mock.enqueue({ scenario: "text", text: "third answer" });
    const next = await client.responses.create({ model: NOVA, previous_response_id: ids[0], input: "and then?" });
    assert.equal(next.output_text, "third answer");
    const sent = mock.requests.at(-1);
    assert.equal(sent?.route, "bedrock-converse");
    const messages =
      (sent?.json as { messages?: { role: string; content: { text?: string }[] }[] } | undefined)?.messages ?? [];
    assert.deepEqual(
      messages.map((m) => [m.role, m.content.map((c) => c.text ?? "").join("")]),
      [
        ["user", "question 0"],
        ["assistant", "first answer"],
        ["user", "and then?"],
      ],
    );
  });
});
