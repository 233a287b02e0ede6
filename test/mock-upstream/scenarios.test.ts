import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { createGunzip, gunzipSync, gzipSync } from "node:zlib";
import Anthropic from "@anthropic-ai/sdk";
import { ApiError, GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { DEFAULT_TEXT, type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { ANTHROPIC_HEADERS, OPENAI_HEADERS, parseSse, rawRequest } from "./helpers.ts";

let mock: MockUpstream;
let anthropic: Anthropic;
let openai: OpenAI;
let gemini: GoogleGenAI;

before(async () => {
  mock = await startMockUpstream();
  anthropic = new Anthropic({ apiKey: "k", baseURL: mock.url, maxRetries: 0 });
  openai = new OpenAI({ apiKey: "k", baseURL: `${mock.url}/v1`, maxRetries: 0 });
  gemini = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: mock.url } });
});
after(() => mock.close());
beforeEach(() => mock.reset());

const anthropicRequest = {
  model: "claude-mock",
  max_tokens: 100,
  messages: [{ role: "user" as const, content: "hi" }],
};
const chatRequest = { model: "gpt-4o", messages: [{ role: "user" as const, content: "hi" }] };
const anthropicStreamBody = JSON.stringify({ ...anthropicRequest, stream: true });

describe("mock upstream: error scenario", () => {
  it("answers with the provider's real error body for the status, 429 with retry-after", async () => {
    mock.enqueue({ scenario: "error", status: 429 });
    await assert.rejects(anthropic.messages.create(anthropicRequest), (error: unknown) => {
      assert.ok(error instanceof Anthropic.RateLimitError);
      assert.equal(error.headers?.get("retry-after"), "1");
      assert.equal((error.error as { error: { type: string } }).error.type, "rate_limit_error");
      return true;
    });
    mock.enqueue({ scenario: "error", status: 529 });
    const overloaded = await rawRequest(`${mock.url}/v1/messages`, {
      headers: ANTHROPIC_HEADERS,
      body: anthropicStreamBody,
    });
    assert.equal(overloaded.status, 529);
    assert.equal(JSON.parse(overloaded.body.toString()).error.type, "overloaded_error");

    mock.enqueue({ scenario: "error" });
    await assert.rejects(openai.chat.completions.create(chatRequest), (error: unknown) => {
      assert.ok(error instanceof OpenAI.InternalServerError);
      assert.equal(error.type, "server_error");
      return true;
    });

    mock.enqueue({ scenario: "error", status: 503 });
    await assert.rejects(
      gemini.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }),
      (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 503);
        assert.match(error.message, /UNAVAILABLE/);
        return true;
      },
    );
  });

  it("sends a scripted error body and headers verbatim", async () => {
    mock.enqueue({ scenario: "error", status: 418, errorBody: { custom: true }, headers: { "x-extra": "1" } });
    const raw = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify(chatRequest),
    });
    assert.equal(raw.status, 418);
    assert.deepEqual(JSON.parse(raw.body.toString()), { custom: true });
    assert.equal(raw.headers["x-extra"], "1");
  });
});

describe("mock upstream: stream-error scenario", () => {
  it("Anthropic: event: error overloaded_error after a start; the SDK throws", async () => {
    mock.enqueue({ scenario: "stream-error" });
    const raw = await rawRequest(`${mock.url}/v1/messages`, { headers: ANTHROPIC_HEADERS, body: anthropicStreamBody });
    assert.equal(raw.status, 200);
    const events = parseSse(raw.body.toString());
    assert.equal(events[0]?.event, "message_start");
    assert.equal(events.at(-1)?.event, "error");
    assert.deepEqual(JSON.parse(events.at(-1)?.data ?? "{}").error, {
      type: "overloaded_error",
      message: "Overloaded",
    });

    mock.enqueue({ scenario: "stream-error" });
    await assert.rejects(anthropic.messages.stream(anthropicRequest).finalMessage(), /Overloaded/);
  });

  it("OpenAI chat: an error data chunk and no [DONE]; the SDK throws", async () => {
    mock.enqueue({ scenario: "stream-error" });
    const stream = await openai.chat.completions.create({ ...chatRequest, stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })(),
      /The server had an error/,
    );
  });

  it("Responses: ends with response.failed and no response.completed", async () => {
    mock.enqueue({ scenario: "stream-error" });
    const raw = await rawRequest(`${mock.url}/v1/responses`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify({ model: "gpt-5", input: "hi", stream: true }),
    });
    const events = parseSse(raw.body.toString()).map((event) => JSON.parse(event.data));
    assert.equal(events.at(-1)?.type, "response.failed");
    assert.equal(events.at(-1)?.response.error.code, "server_error");
    assert.equal(
      events.some((event) => event.type === "response.completed"),
      false,
    );
  });

  it("Gemini: an error chunk that the SDK turns into an error", async () => {
    mock.enqueue({ scenario: "stream-error" });
    await assert.rejects(
      (async () => {
        for await (const _ of await gemini.models.generateContentStream({
          model: "gemini-2.5-flash",
          contents: "hi",
        })) {
          // drain
        }
      })(),
      /overloaded/,
    );
  });

  it("a non-streaming request gets the error as its status", async () => {
    mock.enqueue({ scenario: "stream-error" });
    await assert.rejects(anthropic.messages.create(anthropicRequest), (error: unknown) => {
      assert.ok(error instanceof Anthropic.APIError);
      assert.equal(error.status, 529);
      return true;
    });
  });
});

describe("mock upstream: cut, reset, hang", () => {
  it("cut: the stream stops after N events with no terminator, and SDKs fail", async () => {
    mock.enqueue({ scenario: "cut", cutAfterEvents: 2 });
    const raw = await rawRequest(`${mock.url}/v1/messages`, { headers: ANTHROPIC_HEADERS, body: anthropicStreamBody });
    assert.equal(raw.aborted, true);
    assert.deepEqual(
      parseSse(raw.body.toString()).map((event) => event.event),
      ["message_start", "content_block_start"],
    );

    mock.enqueue({ scenario: "cut" });
    const stream = await openai.chat.completions.create({
      ...chatRequest,
      stream: true,
      stream_options: { include_usage: true },
    });
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) seen.push(chunk);
    });
    assert.ok(seen.length > 0, "some chunks arrived before the cut");
    assert.equal(
      seen.some((chunk) => (chunk as { usage?: unknown }).usage),
      false,
      "no final usage",
    );
  });

  it("cut: a gzip stream still delivers exactly the events before the cut", async () => {
    mock.enqueue({ scenario: "cut", gzip: true, cutAfterEvents: 3 });
    const raw = await rawRequest(`${mock.url}/v1/messages`, { headers: ANTHROPIC_HEADERS, body: anthropicStreamBody });
    assert.equal(raw.aborted, true);
    const text = await new Promise<string>((resolve) => {
      const gunzip = createGunzip();
      let out = "";
      gunzip.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      // The gzip stream has no trailer: it ends with an error after the last complete event.
      gunzip.on("error", () => resolve(out));
      gunzip.on("end", () => resolve(out));
      gunzip.end(raw.body);
    });
    assert.deepEqual(
      parseSse(text).map((event) => event.event),
      ["message_start", "content_block_start", "ping"],
    );
  });

  it("cut: a non-streaming body stops half-way", async () => {
    mock.enqueue({ scenario: "cut" });
    const raw = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify(chatRequest),
    });
    assert.equal(raw.aborted, true);
    assert.ok(raw.body.length < Number(raw.headers["content-length"]));
  });

  it("reset: the connection is reset before any byte", async () => {
    mock.enqueue({ scenario: "reset" });
    await assert.rejects(
      rawRequest(`${mock.url}/v1/messages`, { headers: ANTHROPIC_HEADERS, body: anthropicStreamBody }),
      (error: NodeJS.ErrnoException) => error.code === "ECONNRESET",
    );
  });

  it("hang: never answers until the mock closes", async () => {
    const own = await startMockUpstream();
    own.enqueue({ scenario: "hang" });
    const pending = rawRequest(`${own.url}/v1/chat/completions`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify(chatRequest),
    });
    let settled = false;
    pending.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (own.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    await own.close();
    await assert.rejects(pending);
  });
});

describe("mock upstream: gzip and delays", () => {
  it("gzips streams event by event and bodies whole", async () => {
    mock.enqueue({ scenario: "text", gzip: true });
    const raw = await rawRequest(`${mock.url}/v1/messages`, { headers: ANTHROPIC_HEADERS, body: anthropicStreamBody });
    assert.equal(raw.headers["content-encoding"], "gzip");
    const events = parseSse(gunzipSync(raw.body).toString());
    assert.equal(events.at(-1)?.event, "message_stop");

    mock.enqueue({ scenario: "text", gzip: true });
    assert.equal((await anthropic.messages.stream(anthropicRequest).finalMessage()).content[0]?.type, "text");
    mock.enqueue({ scenario: "text", gzip: true, text: "zipped" });
    const completion = await openai.chat.completions.create(chatRequest);
    assert.equal(completion.choices[0]?.message.content, "zipped");
  });

  it("waits firstByteDelayMs before the headers and chunkDelayMs between events", async () => {
    const calls: number[] = [];
    let release: () => void = () => undefined;
    let sleeping: () => void = () => undefined;
    const asleep = new Promise<void>((resolve) => {
      sleeping = resolve;
    });
    const own = await startMockUpstream({
      sleep: (ms) => {
        calls.push(ms);
        if (ms !== 250) return Promise.resolve();
        sleeping();
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    try {
      own.enqueue({ scenario: "text", text: "a b c", firstByteDelayMs: 250, chunkDelayMs: 40 });
      let answered = false;
      const pending = rawRequest(`${own.url}/v1/messages`, { headers: ANTHROPIC_HEADERS, body: anthropicStreamBody });
      pending.then(() => {
        answered = true;
      });
      await asleep;
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(answered, false, "nothing is sent while the first-byte delay runs");
      release();
      const raw = await pending;
      const events = parseSse(raw.body.toString());
      assert.equal(events.at(-1)?.event, "message_stop");
      assert.deepEqual(calls, [250, ...Array<number>(events.length - 1).fill(40)]);
    } finally {
      await own.close();
    }
  });
});

describe("mock upstream: choosing scripts", () => {
  it("x-mock-script wins over the queue, which is FIFO and survives the header request", async () => {
    mock.enqueue({ scenario: "text", text: "first queued" }, { scenario: "text", text: "second queued" });
    const viaHeader = new OpenAI({
      apiKey: "k",
      baseURL: `${mock.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { "x-mock-script": JSON.stringify({ scenario: "text", text: "from header" }) },
    });
    assert.equal((await viaHeader.chat.completions.create(chatRequest)).choices[0]?.message.content, "from header");
    assert.equal((await openai.chat.completions.create(chatRequest)).choices[0]?.message.content, "first queued");
    assert.equal((await openai.chat.completions.create(chatRequest)).choices[0]?.message.content, "second queued");
    assert.equal((await openai.chat.completions.create(chatRequest)).choices[0]?.message.content, DEFAULT_TEXT);
    assert.deepEqual(mock.requests[0]?.script, { scenario: "text", text: "from header" });
  });

  it("a mock-<scenario> model selects the scenario; mock-error-<status> sets the status", async () => {
    const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }];
    const completion = await openai.chat.completions.create({ ...chatRequest, model: "mock-tool-call", tools });
    assert.equal(completion.choices[0]?.message.tool_calls?.[0]?.type, "function");
    assert.equal(completion.model, "mock-tool-call");
    await assert.rejects(
      openai.chat.completions.create({ ...chatRequest, model: "mock-error-429" }),
      OpenAI.RateLimitError,
    );
  });

  it("reset() clears the queue; probes, unknown paths and rejected requests do not take a script", async () => {
    mock.enqueue({ scenario: "text", text: "dropped" });
    mock.reset();
    assert.equal((await openai.chat.completions.create(chatRequest)).choices[0]?.message.content, DEFAULT_TEXT);
    assert.equal(mock.requests.length, 1);

    mock.enqueue({ scenario: "text", text: "kept" });
    await rawRequest(`${mock.url}/`, { method: "HEAD" });
    const unknown = await rawRequest(`${mock.url}/v1/unknown`, { headers: OPENAI_HEADERS, body: "{}" });
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body.toString()).error.message, "Invalid URL (POST /v1/unknown)");
    const invalid = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify({ model: "gpt-4o", messages: [] }),
    });
    assert.equal(invalid.status, 400);
    assert.equal((await openai.chat.completions.create(chatRequest)).choices[0]?.message.content, "kept");
  });

  it("rejects an x-mock-script header that is not a JSON object", async () => {
    const raw = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: { ...OPENAI_HEADERS, "x-mock-script": "{not json" },
      body: JSON.stringify(chatRequest),
    });
    assert.equal(raw.status, 400);
    assert.match(JSON.parse(raw.body.toString()).error.message, /x-mock-script/);
  });

  it("records a gzip-encoded request body decoded", async () => {
    const body = JSON.stringify(chatRequest);
    const raw = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: { ...OPENAI_HEADERS, "content-encoding": "gzip" },
      body: gzipSync(body),
    });
    assert.equal(raw.status, 200);
    assert.equal(mock.requests[0]?.body.toString(), body);
    assert.deepEqual(mock.requests[0]?.json, chatRequest);
  });
});

describe("mock upstream: parallel tool calls (toolCalls)", () => {
  const toolCalls = [
    { name: "get_weather", args: { city: "Oslo" } },
    { name: "get_time", args: { zone: "Europe/Oslo" } },
  ];
  const expected = toolCalls.map((call) => ({ name: call.name, args: call.args }));

  it("Anthropic: two tool_use blocks, streamed and not, stop_reason tool_use", async () => {
    mock.enqueue({ scenario: "tool-call", toolCalls }, { scenario: "tool-call", toolCalls });
    const whole = await anthropic.messages.create(anthropicRequest);
    const streamed = await anthropic.messages.stream(anthropicRequest).finalMessage();
    for (const message of [whole, streamed]) {
      const uses = message.content.flatMap((b) => (b.type === "tool_use" ? [{ name: b.name, args: b.input }] : []));
      assert.deepEqual(uses, expected);
      assert.equal(message.stop_reason, "tool_use");
    }
    // Output tokens count every call's argument words.
    assert.equal(whole.usage.output_tokens, 2);
  });

  it("Chat: two tool_calls keyed by index 0 and 1, streamed and not", async () => {
    mock.enqueue({ scenario: "tool-call", toolCalls }, { scenario: "tool-call", toolCalls });
    const whole = await openai.chat.completions.create(chatRequest);
    const stream = openai.chat.completions.stream({ ...chatRequest, stream: true });
    const streamed = await stream.finalChatCompletion();
    for (const completion of [whole, streamed]) {
      const calls = (completion.choices[0]?.message.tool_calls ?? []).map((c) =>
        c.type === "function" ? { name: c.function.name, args: JSON.parse(c.function.arguments) } : null,
      );
      assert.deepEqual(calls, expected);
      assert.equal(completion.choices[0]?.finish_reason, "tool_calls");
      const ids = (completion.choices[0]?.message.tool_calls ?? []).map((c) => c.id);
      assert.equal(new Set(ids).size, 2, "distinct call ids");
    }
  });

  it("Responses: two function_call items with distinct call_ids, streamed and not", async () => {
    mock.enqueue({ scenario: "tool-call", toolCalls }, { scenario: "tool-call", toolCalls });
    const whole = await openai.responses.create({ model: "gpt-4o", input: "hi" });
    const streamed = await openai.responses.stream({ model: "gpt-4o", input: "hi" }).finalResponse();
    for (const response of [whole, streamed]) {
      const calls = response.output.flatMap((item) =>
        item.type === "function_call" ? [{ name: item.name, args: JSON.parse(item.arguments), id: item.call_id }] : [],
      );
      assert.deepEqual(
        calls.map(({ name, args }) => ({ name, args })),
        expected,
      );
      assert.equal(new Set(calls.map((c) => c.id)).size, 2);
    }
  });

  it("Gemini: two functionCall parts in one chunk, streamed and not", async () => {
    mock.enqueue({ scenario: "tool-call", toolCalls }, { scenario: "tool-call", toolCalls });
    const whole = await gemini.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" });
    assert.deepEqual(
      whole.functionCalls?.map((c) => ({ name: c.name, args: c.args })),
      expected,
    );
    const chunks = [];
    for await (const chunk of await gemini.models.generateContentStream({ model: "gemini-2.5-flash", contents: "hi" }))
      chunks.push(chunk);
    const withCalls = chunks.filter((chunk) => (chunk.functionCalls?.length ?? 0) > 0);
    assert.equal(withCalls.length, 1);
    assert.deepEqual(
      withCalls[0]?.functionCalls?.map((c) => ({ name: c.name, args: c.args })),
      expected,
    );
  });
});
