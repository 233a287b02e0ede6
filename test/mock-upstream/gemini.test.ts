import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { ApiError, GoogleGenAI } from "@google/genai";
import { DEFAULT_TEXT, type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { GEMINI_HEADERS, parseSse, rawRequest } from "./helpers.ts";

let mock: MockUpstream;
let ai: GoogleGenAI;

before(async () => {
  mock = await startMockUpstream();
  ai = new GoogleGenAI({ apiKey: "test-key", httpOptions: { baseUrl: mock.url } });
});
after(() => mock.close());
beforeEach(() => mock.reset());

const weatherTools = [
  {
    functionDeclarations: [
      { name: "get_weather", parametersJsonSchema: { type: "object", properties: { city: { type: "string" } } } },
    ],
  },
];
const body = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };

describe("mock upstream: Gemini", () => {
  it("answers generateContent with text, the path's model and usageMetadata", async () => {
    const response = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" });
    assert.equal(response.text, DEFAULT_TEXT);
    assert.equal(response.modelVersion, "gemini-2.5-flash");
    assert.equal(response.candidates?.[0]?.finishReason, "STOP");
    const prompt = Math.ceil((mock.requests[0]?.body.length ?? 0) / 4);
    assert.equal(response.usageMetadata?.promptTokenCount, prompt);
    assert.equal(response.usageMetadata?.candidatesTokenCount, 5);
    assert.equal(response.usageMetadata?.totalTokenCount, prompt + 5);
    assert.match(mock.requests[0]?.path ?? "", /^\/v1(beta)?\/models\/gemini-2\.5-flash:generateContent$/);
    assert.equal(mock.requests[0]?.dialect, "gemini");
  });

  it("streams SSE chunks with running usage, CRLF framing, no event names and no [DONE]", async () => {
    mock.enqueue({ scenario: "text", text: "a b c d" });
    const chunks = [];
    for await (const chunk of await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "hi" })) {
      chunks.push(chunk);
    }
    assert.equal(chunks.map((chunk) => chunk.text).join(""), "a b c d");
    const counts = chunks.map((chunk) => chunk.usageMetadata?.candidatesTokenCount ?? 0);
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      "running totals never go down",
    );
    assert.equal(counts.at(-1), 4);
    assert.equal(chunks.at(-1)?.candidates?.[0]?.finishReason, "STOP");

    const raw = await rawRequest(`${mock.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
      headers: GEMINI_HEADERS,
      body: JSON.stringify(body),
    });
    const text = raw.body.toString();
    assert.ok(text.includes("\r\n\r\n"));
    assert.equal(text.includes("event:"), false);
    assert.equal(text.includes("[DONE]"), false);
    assert.ok(parseSse(text).length >= 1);
  });

  it("streams a JSON array when alt=sse is absent", async () => {
    const raw = await rawRequest(`${mock.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, {
      headers: GEMINI_HEADERS,
      body: JSON.stringify(body),
    });
    assert.match(String(raw.headers["content-type"]), /^application\/json/);
    const array = JSON.parse(raw.body.toString()) as { candidates: { content: { parts: { text: string }[] } }[] }[];
    assert.equal(array.map((chunk) => chunk.candidates[0]?.content.parts[0]?.text).join(""), DEFAULT_TEXT);
  });

  it("returns a functionCall part for the tool-call scenario", async () => {
    mock.enqueue({ scenario: "tool-call", toolArgs: { city: "Rome" } });
    const response = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "weather?",
      config: { tools: weatherTools },
    });
    assert.deepEqual(
      response.functionCalls?.map((call) => [call.name, call.args]),
      [["get_weather", { city: "Rome" }]],
    );
  });

  it("emits thought parts and thoughtsTokenCount for the thinking scenario", async () => {
    mock.enqueue({ scenario: "thinking", text: "done", usage: { cachedContentTokenCount: 4 } });
    const chunks = [];
    for await (const chunk of await ai.models.generateContentStream({ model: "gemini-2.5-pro", contents: "hi" })) {
      chunks.push(chunk);
    }
    const parts = chunks.flatMap((chunk) => chunk.candidates?.[0]?.content?.parts ?? []);
    assert.ok(parts.some((part) => part.thought === true));
    assert.equal(
      parts
        .filter((part) => !part.thought)
        .map((part) => part.text)
        .join(""),
      "done",
    );
    const usage = chunks.at(-1)?.usageMetadata;
    assert.ok((usage?.thoughtsTokenCount ?? 0) > 0);
    assert.equal(usage?.cachedContentTokenCount, 4);
    assert.equal(
      usage?.totalTokenCount,
      (usage?.promptTokenCount ?? 0) + (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
    );
  });

  it("counts tokens and lists models", async () => {
    const count = await ai.models.countTokens({ model: "gemini-2.5-flash", contents: "hello" });
    assert.equal(count.totalTokens, Math.ceil((mock.requests[0]?.body.length ?? 0) / 4));
    const list = await rawRequest(`${mock.url}/v1beta/models`, { method: "GET", headers: GEMINI_HEADERS });
    const models = JSON.parse(list.body.toString()) as { models: { name: string }[] };
    assert.ok(models.models.some((model) => model.name === "models/gemini-2.5-flash"));
    const pager = await ai.models.list();
    assert.ok(pager.page.some((model) => model.name === "models/gemini-2.5-pro"));
    assert.equal(mock.requests.at(-1)?.route, "gemini-models");
  });

  it("takes the key from ?key= and rejects missing or bad keys", async () => {
    const viaQuery = await rawRequest(`${mock.url}/v1beta/models/gemini-2.5-flash:generateContent?key=k`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(viaQuery.status, 200);

    const missing = await rawRequest(`${mock.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(missing.status, 401);
    assert.equal(JSON.parse(missing.body.toString()).error.code, 401);

    const bad = new GoogleGenAI({ apiKey: "bad-key", httpOptions: { baseUrl: mock.url } });
    await assert.rejects(
      bad.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }),
      (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 401);
        assert.match(error.message, /API key not valid/);
        return true;
      },
    );
  });
});
