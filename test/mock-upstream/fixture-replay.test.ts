import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { DEFAULT_FIXTURES_DIR, type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { GEMINI_HEADERS, OPENAI_HEADERS, parseSse, rawRequest } from "./helpers.ts";

let mock: MockUpstream;

before(async () => {
  mock = await startMockUpstream();
});
after(() => mock.close());
beforeEach(() => mock.reset());

function fixtureLines(file: string): string[] {
  return readFileSync(join(DEFAULT_FIXTURES_DIR, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
}

const chatBody = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], stream: true });

describe("mock upstream: fixture replay", () => {
  it("rebuilds an Anthropic stream with event names that the SDK parses", async () => {
    mock.enqueue({ scenario: "fixture", fixture: "anthropic/anthropic-text.chunks.txt" });
    const client = new Anthropic({ apiKey: "k", baseURL: mock.url, maxRetries: 0 });
    const final = await client.messages
      .stream({ model: "x", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .finalMessage();
    assert.equal(final.model, "claude-sonnet-4-5-20250929");
    const block = final.content[0];
    assert.ok(block?.type === "text");
    assert.equal(
      block.text,
      "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?",
    );
    assert.equal(final.usage.output_tokens, 30);
  });

  it("rebuilds an OpenAI chat stream line by line and appends [DONE]", async () => {
    mock.enqueue({ scenario: "fixture", fixture: "openai-chat/issue-15789-step-1.chunks.txt" });
    const raw = await rawRequest(`${mock.url}/v1/chat/completions`, { headers: OPENAI_HEADERS, body: chatBody });
    const events = parseSse(raw.body.toString());
    assert.deepEqual(
      events.map((event) => event.data),
      [...fixtureLines("openai-chat/issue-15789-step-1.chunks.txt"), "[DONE]"],
    );

    mock.enqueue({ scenario: "fixture", fixture: "openai-chat/issue-15789-step-1.chunks.txt" });
    const client = new OpenAI({ apiKey: "k", baseURL: `${mock.url}/v1`, maxRetries: 0 });
    const chunks = [];
    for await (const chunk of await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    })) {
      chunks.push(chunk);
    }
    assert.equal(chunks.at(-1)?.usage?.total_tokens, 70);
  });

  it("picks the n-th response of a multi-response Responses file", async () => {
    mock.enqueue({
      scenario: "fixture",
      fixture: "openai-responses/openai-reasoning-encrypted-content.1.chunks.txt#2",
    });
    const raw = await rawRequest(`${mock.url}/v1/responses`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify({ model: "gpt-5", input: "hi", stream: true }),
    });
    const events = parseSse(raw.body.toString());
    const first = JSON.parse(events[0]?.data ?? "{}");
    assert.equal(first.type, "response.created");
    assert.equal(first.sequence_number, 0);
    assert.equal(events.at(-1)?.event, "response.completed");
    assert.equal(events.filter((event) => event.event === "response.created").length, 1);
    for (const event of events) assert.equal(JSON.parse(event.data).type, event.event);
  });

  it("replays Gemini chunks as SSE, or as a JSON array without alt=sse", async () => {
    mock.enqueue({ scenario: "fixture", fixture: "google/google-text.chunks.txt" });
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: mock.url } });
    let text = "";
    for await (const chunk of await ai.models.generateContentStream({ model: "g", contents: "hi" }))
      text += chunk.text ?? "";
    assert.equal(text, 'There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y');

    mock.enqueue({ scenario: "fixture", fixture: "google/google-text.chunks.txt" });
    const raw = await rawRequest(`${mock.url}/v1beta/models/g:streamGenerateContent`, {
      headers: GEMINI_HEADERS,
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
    const array = JSON.parse(raw.body.toString());
    assert.deepEqual(
      array,
      fixtureLines("google/google-text.chunks.txt").map((line) => JSON.parse(line)),
    );
  });

  it("sends a JSON file byte for byte, with the status an error body implies", async () => {
    mock.enqueue({ scenario: "fixture", fixture: "openai-responses/openai-error.1.json" });
    const raw = await rawRequest(`${mock.url}/v1/responses`, {
      headers: OPENAI_HEADERS,
      body: JSON.stringify({ model: "gpt-5", input: "hi" }),
    });
    assert.equal(raw.status, 429);
    assert.equal(
      raw.body.toString(),
      readFileSync(join(DEFAULT_FIXTURES_DIR, "openai-responses/openai-error.1.json"), "utf8"),
    );

    mock.enqueue({ scenario: "fixture", fixture: "anthropic/anthropic-issue-17366-error.json" });
    const anthropicError = await rawRequest(`${mock.url}/v1/chat/completions`, {
      headers: OPENAI_HEADERS,
      body: chatBody,
    });
    assert.equal(anthropicError.status, 400);

    mock.enqueue({ scenario: "fixture", fixture: "anthropic/anthropic-text.json", status: 201 });
    const forced = await rawRequest(`${mock.url}/v1/chat/completions`, { headers: OPENAI_HEADERS, body: chatBody });
    assert.equal(forced.status, 201);
  });

  it("unwraps wrapper files, with #key choosing an entry", async () => {
    mock.enqueue({ scenario: "fixture", fixture: "google/google-gemini-3.7-flash-thinking-levels.json#minimal" });
    const minimal = await rawRequest(`${mock.url}/v1beta/models/g:generateContent`, {
      headers: GEMINI_HEADERS,
      body: JSON.stringify({ contents: [{ parts: [{ text: "hi" }] }] }),
    });
    assert.equal(minimal.status, 400);
    assert.equal(JSON.parse(minimal.body.toString()).error.status, "INVALID_ARGUMENT");

    mock.enqueue({ scenario: "fixture", fixture: "google/google-gemini-3.7-flash-thinking-levels.json#low" });
    const low = await rawRequest(`${mock.url}/v1beta/models/g:generateContent`, {
      headers: GEMINI_HEADERS,
      body: JSON.stringify({ contents: [{ parts: [{ text: "hi" }] }] }),
    });
    assert.equal(low.status, 200);
    assert.equal(JSON.parse(low.body.toString()).modelVersion, "gemini-3.7-flash");

    mock.enqueue({ scenario: "fixture", fixture: "anthropic/issue-14707-claude-opus-4-7-temperature-live.json" });
    const client = new Anthropic({ apiKey: "k", baseURL: mock.url, maxRetries: 0 });
    const message = await client.messages.create({
      model: "x",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(message.stop_reason, "max_tokens");
  });
});
