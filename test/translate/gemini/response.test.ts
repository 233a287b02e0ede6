import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GoogleGenAI } from "@google/genai";
import { convertGeminiUsage, meterGeminiBody } from "../../../src/dialects/gemini/index.ts";
import type { CanonicalResponse } from "../../../src/translate/canonical.ts";
import { canonicalToGeminiResponse } from "../../../src/translate/gemini/canonical-to-response.ts";
import { geminiResponseToCanonical } from "../../../src/translate/gemini/response-to-canonical.ts";
import { fixtureJson, startSseServer } from "./helpers.ts";

describe("gemini response → canonical: recorded bodies", () => {
  it("google-text: signature before the text, STOP → end, usage as dialects/gemini/usage.ts", () => {
    const body = fixtureJson("google/google-text.json");
    const res = geminiResponseToCanonical(body);
    assert.equal(res.id, "Un6LacrVMcjUxs0PmJfWoQc");
    assert.equal(res.model, "gemini-3-pro-preview");
    assert.deepEqual(
      res.content.map((p) => p.type),
      ["reasoning", "text"],
    );
    assert.equal(res.content[1]?.type === "text" && res.content[1].text.startsWith("There are **3** r's"), true);
    assert.deepEqual(res.stop, { unified: "end", raw: "STOP" });
    assert.deepEqual(res.usage, meterGeminiBody(body).usage);
    assert.deepEqual(res.usage, {
      input: 9,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      output: 272,
      reasoning: 244,
    });
  });

  it("google-tool-call: call_0 for the id-less call, tool-calls stop", () => {
    const res = geminiResponseToCanonical(fixtureJson("google/google-tool-call.json"));
    assert.deepEqual(res.content[1], {
      type: "tool-call",
      id: "call_0",
      name: "weather",
      arguments: '{"location":"San Francisco"}',
    });
    assert.deepEqual(res.stop, { unified: "tool-calls", raw: "STOP" });
  });

  it("usage with cache and tool-use prompt tokens (issue-19822, google-tool-use-usage)", () => {
    for (const name of ["google/issue-19822-complete-usage.json", "google/google-tool-use-usage.json"]) {
      const body = fixtureJson(name) as { usageMetadata: unknown };
      assert.deepEqual(geminiResponseToCanonical(body).usage, convertGeminiUsage(body.usageMetadata), name);
    }
    const usage = geminiResponseToCanonical(fixtureJson("google/issue-19822-complete-usage.json")).usage;
    assert.deepEqual(usage, {
      input: 19 - 3 + 63,
      cacheRead: 3,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      output: 60,
      reasoning: 56,
    });
  });

  it("a blocked prompt: no content, content-filter with the block reason", () => {
    const res = geminiResponseToCanonical(fixtureJson("google/issue-19758-prompt-block.json"));
    assert.deepEqual(res.content, []);
    assert.deepEqual(res.stop, { unified: "content-filter", raw: "PROHIBITED_CONTENT" });
    assert.equal(res.usage.input, 9);
  });

  it("an error body reads as an error stop, never as a normal end", () => {
    const res = geminiResponseToCanonical(fixtureJson("google/google-429-retry-info.json"));
    assert.deepEqual(res.stop, { unified: "error", raw: "RESOURCE_EXHAUSTED" });
    assert.deepEqual(res.content, []);
  });

  it("a candidate without a finish reason is `other`", () => {
    const res = geminiResponseToCanonical({ candidates: [{ content: { role: "model", parts: [{ text: "x" }] } }] });
    assert.deepEqual(res.stop, { unified: "other", raw: null });
  });
});

const FOREIGN: CanonicalResponse = {
  id: "msg_01",
  model: "claude-x",
  content: [
    {
      type: "reasoning",
      text: "Let me think.",
      opaque: { dialect: "anthropic", kind: "signature", value: "ANTHROPIC" },
    },
    { type: "text", text: "Checking." },
    { type: "tool-call", id: "toolu_01", name: "get_weather", arguments: '{"city":"Paris"}' },
  ],
  stop: { unified: "tool-calls", raw: "tool_use" },
  usage: { input: 3, cacheRead: 100, cacheWrite5m: 20, cacheWrite1h: 0, output: 50, reasoning: 0 },
};

describe("canonical → gemini response", () => {
  it("one candidate: thoughts, text, the call with its id; usageMetadata with all input in promptTokenCount", () => {
    const body = canonicalToGeminiResponse(FOREIGN, "claude-x");
    assert.deepEqual(body, {
      candidates: [
        {
          content: {
            role: "model",
            parts: [
              { text: "Let me think.", thought: true },
              { text: "Checking." },
              { functionCall: { id: "toolu_01", name: "get_weather", args: { city: "Paris" } } },
            ],
          },
          finishReason: "STOP",
          index: 0,
        },
      ],
      usageMetadata: {
        promptTokenCount: 123,
        cachedContentTokenCount: 100,
        candidatesTokenCount: 50,
        totalTokenCount: 173,
      },
      modelVersion: "claude-x",
      responseId: "msg_01",
    });
  });

  it("a filtered answer with no output has a candidate without content", () => {
    const body = canonicalToGeminiResponse(
      { ...FOREIGN, content: [], stop: { unified: "content-filter", raw: "refusal" } },
      "m",
    );
    assert.deepEqual(body.candidates, [{ finishReason: "SAFETY", index: 0 }]);
  });

  it("round trip: every recorded body → canonical → Gemini → canonical is unchanged", () => {
    for (const name of [
      "google/google-text.json",
      "google/google-tool-call.json",
      "google/google-tool-use-usage.json",
      "google/issue-19822-complete-usage.json",
    ]) {
      const first = geminiResponseToCanonical(fixtureJson(name));
      const second = geminiResponseToCanonical(canonicalToGeminiResponse(first, first.model));
      assert.deepEqual(second, first, name);
    }
  });
});

describe("canonical → gemini response: read by @google/genai", () => {
  let body = "";
  let server: Awaited<ReturnType<typeof startSseServer>>;
  before(async () => {
    server = await startSseServer(() => body, "application/json");
  });
  after(async () => {
    await server.close();
  });

  it("generateContent gives the text, the function call and the usage", async () => {
    body = JSON.stringify(canonicalToGeminiResponse(FOREIGN, "claude-x"));
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url, retryOptions: { attempts: 1 } } });
    const res = await ai.models.generateContent({ model: "claude-x", contents: "hi" });
    assert.deepEqual(res.functionCalls, [{ id: "toolu_01", name: "get_weather", args: { city: "Paris" } }]);
    const text = (res.candidates?.[0]?.content?.parts ?? [])
      .filter((p) => p.text !== undefined && p.thought !== true)
      .map((p) => p.text)
      .join("");
    assert.equal(text, "Checking.");
    assert.equal(res.usageMetadata?.promptTokenCount, 123);
    assert.equal(res.candidates?.[0]?.finishReason, "STOP");
  });
});
