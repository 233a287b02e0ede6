import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { GoogleGenAI } from "@google/genai";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

describe("Google GenAI SDK through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: GoogleGenAI;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    client = new GoogleGenAI({ apiKey: "client-key", httpOptions: { baseUrl: `${gw.url}/genai` } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("meters generateContent, counting thoughts as output", async () => {
    // gemini-2.5-flash: input 0.30, output 2.50 USD per million.
    // 1000×0.30 + (100 candidates + 50 thoughts)×2.50 = 300 + 375 = 675 USD/M = $0.000675.
    mock.enqueue({
      scenario: "text",
      usage: { promptTokenCount: 1000, candidatesTokenCount: 100, thoughtsTokenCount: 50, totalTokenCount: 1150 },
    });
    const res = await client.models.generateContent({ model: "gemini-2.5-flash", contents: "hello" });
    assert.ok(res.text);
    const row = (await gw.logs()).at(-1);
    assert.ok(row);
    assert.deepEqual([row.inputTokens, row.outputTokens, row.reasoningTokens], [1000, 150, 50]);
    assert.equal(row.costNanoUsd, 675_000);
    assert.equal(row.dialect, "gemini");
    assert.equal(row.agent, "google-genai-sdk");
    assert.equal(mock.requests[0]?.headers["x-goog-api-key"], "test-gemini-key");
  });

  it("meters a stream above the 200k long-context tier", async () => {
    // gemini-2.5-pro above 200k input: input 2.50, cache read 0.25, output 15 USD per million.
    // prompt 250000 of which 50000 cached; candidates 1000 + thoughts 500:
    // 200000×2.50 + 50000×0.25 + 1500×15 = 500000 + 12500 + 22500 = 535000 USD/M = $0.535.
    mock.enqueue({
      scenario: "text",
      usage: {
        promptTokenCount: 250_000,
        cachedContentTokenCount: 50_000,
        candidatesTokenCount: 1000,
        thoughtsTokenCount: 500,
        totalTokenCount: 251_500,
      },
    });
    const stream = await client.models.generateContentStream({ model: "gemini-2.5-pro", contents: "hello" });
    let text = "";
    for await (const chunk of stream) text += chunk.text ?? "";
    assert.ok(text.length > 0);
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.stream, true);
    assert.deepEqual([row?.inputTokens, row?.cacheReadTokens, row?.outputTokens], [200_000, 50_000, 1500]);
    assert.equal(row?.costNanoUsd, 535_000_000);
    assert.equal(mock.requests[0]?.query.get("alt"), "sse");
  });

  it("answers an unknown model with a Gemini-shaped 400", async () => {
    await assert.rejects(client.models.generateContent({ model: "no-such-model", contents: "x" }), (err: Error) => {
      assert.match(err.message, /INVALID_ARGUMENT|Unknown model/);
      return true;
    });
    assert.equal(mock.requests.length, 0);
  });
});
