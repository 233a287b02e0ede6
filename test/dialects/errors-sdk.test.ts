import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { type RenderableError, renderError, renderStreamError } from "../../src/dialects/errors.ts";

/**
 * The official SDKs read what the renderers write: each test serves a rendered error (as an HTTP error, or inside a
 * 200 stream) from a local server and checks the error the SDK throws.
 */
let reply: { status: number; headers: Record<string, string>; body: string } = { status: 200, headers: {}, body: "" };
let server: Server;
let base = "";

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
});

const rateLimited: RenderableError = {
  code: "TG_RATE_LIMITED",
  kind: "rate_limited",
  status: 429,
  message: "slow down",
  headers: { "retry-after": "7" },
};
const budget: RenderableError = {
  code: "TG_BUDGET_EXHAUSTED",
  kind: "budget_exhausted",
  status: 402,
  message: "team budget exhausted",
  headers: {},
};
const overloaded: RenderableError = {
  code: "TG_NO_PROVIDER_KEY",
  kind: "upstream_unavailable",
  status: 503,
  message: "no capacity",
  headers: {},
};
const sse = { "content-type": "text/event-stream" };

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  assert.fail("expected the SDK to throw");
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // consume
  }
}

describe("SDKs read the rendered errors", () => {
  it("@anthropic-ai/sdk: HTTP error → RateLimitError with the rendered type", async () => {
    reply = renderError("anthropic", rateLimited, { requestId: "req_9" });
    const client = new Anthropic({ apiKey: "k", baseURL: base, maxRetries: 0 });
    const err = await rejection(
      client.messages.create({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "hi" }] }),
    );
    assert.ok(err instanceof Anthropic.RateLimitError);
    assert.equal(err.type, "rate_limit_error");
    assert.equal(err.apiMessage, "slow down");
  });

  it("@anthropic-ai/sdk: in-stream error event → APIError with the rendered type", async () => {
    const start = {
      type: "message_start",
      message: {
        id: "m1",
        type: "message",
        role: "assistant",
        model: "m",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 1, output_tokens: 1 },
      },
    };
    reply = {
      status: 200,
      headers: sse,
      body: `event: message_start\ndata: ${JSON.stringify(start)}\n\n${renderStreamError("anthropic", overloaded)}`,
    };
    const client = new Anthropic({ apiKey: "k", baseURL: base, maxRetries: 0 });
    const stream = await client.messages.create({
      model: "m",
      max_tokens: 1,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const err = await rejection(drain(stream));
    assert.ok(err instanceof Anthropic.APIError);
    assert.equal(err.type, "overloaded_error");
  });

  it("openai: HTTP 402 budget error → APIError with insufficient_quota", async () => {
    reply = renderError("openai", budget);
    const client = new OpenAI({ apiKey: "k", baseURL: base, maxRetries: 0 });
    const err = await rejection(
      client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    );
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 402);
    assert.equal(err.code, "insufficient_quota");
    assert.equal(err.type, "insufficient_quota");
  });

  it("openai: chat stream error chunk → APIError", async () => {
    reply = { status: 200, headers: sse, body: renderStreamError("openai-chat", rateLimited) };
    const client = new OpenAI({ apiKey: "k", baseURL: base, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const err = await rejection(drain(stream));
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.code, "rate_limit_exceeded");
  });

  it("openai: Responses stream error event → APIError", async () => {
    reply = { status: 200, headers: sse, body: renderStreamError("openai-responses", budget) };
    const client = new OpenAI({ apiKey: "k", baseURL: base, maxRetries: 0 });
    const stream = await client.responses.create({ model: "m", input: "hi", stream: true });
    const err = await rejection(drain(stream));
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.code, "insufficient_quota");
  });

  it("@google/genai: HTTP error → ApiError with the status", async () => {
    reply = renderError("gemini", rateLimited);
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: base, retryOptions: { attempts: 1 } } });
    const err = await rejection(ai.models.generateContent({ model: "gemini-x", contents: "hi" }));
    assert.equal(err.status, 429);
    assert.match(String(err.message), /RESOURCE_EXHAUSTED/);
  });

  it("@google/genai: stream error chunk → the stream throws", async () => {
    const chunk = {
      candidates: [{ content: { role: "model", parts: [{ text: "partial" }] } }],
      modelVersion: "gemini-x",
    };
    reply = {
      status: 200,
      headers: sse,
      body: `data: ${JSON.stringify(chunk)}\r\n\r\n${renderStreamError("gemini", overloaded)}`,
    };
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: base, retryOptions: { attempts: 1 } } });
    const stream = await ai.models.generateContentStream({ model: "gemini-x", contents: "hi" });
    const err = await rejection(drain(stream));
    assert.match(String(err.message), /no capacity/);
  });
});
