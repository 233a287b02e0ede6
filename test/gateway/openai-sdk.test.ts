import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// gpt-4o list prices (USD per million tokens): input 2.50, cached input 1.25, output 10.
// prompt_tokens 2000 of which 1500 cached, completion 300:
// 500×2.50 + 1500×1.25 + 300×10 = 1250 + 1875 + 3000 = 6125 USD/M = $0.006125.
const CACHED_USAGE = {
  prompt_tokens: 2000,
  completion_tokens: 300,
  total_tokens: 2300,
  prompt_tokens_details: { cached_tokens: 1500 },
};
const CACHED_COST_NANO = 6_125_000;

describe("OpenAI SDK through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    client = new OpenAI({ apiKey: "client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("meters cached prompt tokens on a non-streaming chat completion", async () => {
    mock.enqueue({ scenario: "text", usage: CACHED_USAGE });
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    assert.ok(data.choices[0]?.message.content);
    assert.equal(response.headers.get("x-tollgate-cost-usd"), "0.006125000");
    const row = (await gw.logs()).at(-1);
    assert.ok(row);
    assert.deepEqual([row.inputTokens, row.cacheReadTokens, row.outputTokens], [500, 1500, 300]);
    assert.equal(row.costNanoUsd, CACHED_COST_NANO);
    assert.equal(row.agent, "openai-sdk");
    assert.equal(mock.requests[0]?.headers.authorization, "Bearer test-openai-key");
  });

  it("adds include_usage upstream for a stream that did not ask, and hides the extra chunk from the client", async () => {
    mock.enqueue({ scenario: "text", text: "one two three", usage: CACHED_USAGE });
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    let text = "";
    let sawUsageChunk = false;
    for await (const chunk of stream) {
      if (chunk.choices.length === 0 && chunk.usage) sawUsageChunk = true;
      text += chunk.choices[0]?.delta.content ?? "";
    }
    assert.ok(text.length > 0);
    assert.equal(sawUsageChunk, false, "the client did not ask for usage, so it gets none");
    const sent = mock.requests[0]?.json as { stream_options?: { include_usage?: boolean } };
    assert.equal(sent.stream_options?.include_usage, true, "usage requested upstream");
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.costNanoUsd, CACHED_COST_NANO);
    assert.equal(row?.usageEstimated, false);
  });

  it("passes the usage chunk through when the client asked for it", async () => {
    mock.enqueue({ scenario: "text", usage: CACHED_USAGE });
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    assert.equal(usage?.prompt_tokens, 2000);
    const raw = mock.requests[0]?.body.toString("utf8") ?? "";
    assert.equal(raw.match(/include_usage/g)?.length, 1, "request left as the client wrote it");
  });

  it("meters the Responses API, streaming and not", async () => {
    mock.enqueue({
      scenario: "text",
      usage: {
        input_tokens: 2000,
        input_tokens_details: { cached_tokens: 1500 },
        output_tokens: 300,
        total_tokens: 2300,
      },
    });
    const response = await client.responses.create({ model: "gpt-4o", input: "hello" });
    assert.ok(response.output_text.length > 0);
    let row = (await gw.logs()).at(-1);
    assert.equal(row?.dialect, "openai-responses");
    assert.equal(row?.costNanoUsd, CACHED_COST_NANO);

    mock.enqueue({
      scenario: "text",
      usage: {
        input_tokens: 2000,
        input_tokens_details: { cached_tokens: 1500 },
        output_tokens: 300,
        total_tokens: 2300,
      },
    });
    const stream = await client.responses.create({ model: "gpt-4o", input: "hello", stream: true });
    let completed = false;
    for await (const event of stream) if (event.type === "response.completed") completed = true;
    assert.ok(completed);
    row = (await gw.waitForLogs(2)).at(-1);
    assert.equal(row?.stream, true);
    assert.equal(row?.costNanoUsd, CACHED_COST_NANO);
  });

  it("meters embeddings", async () => {
    mock.enqueue({ scenario: "text", usage: { prompt_tokens: 1000, total_tokens: 1000 } });
    const res = await client.embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"] });
    assert.equal(res.data.length, 2);
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.dialect, "openai-embeddings");
    assert.equal(row?.inputTokens, 1000);
    // text-embedding-3-small: $0.02 per million → 1000 × 0.02 / 1e6 = $0.00002 = 20_000 nano.
    assert.equal(row?.costNanoUsd, 20_000);
  });

  it("selects a provider explicitly with provider/model and rewrites the model upstream", async () => {
    await client.chat.completions.create({ model: "openai/gpt-4o", messages: [{ role: "user", content: "hi" }] });
    const sent = mock.requests[0]?.json as { model: string } | undefined;
    assert.equal(sent?.model, "gpt-4o");
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.requestedModel, "openai/gpt-4o");
    assert.equal(row?.provider, "openai");
  });

  it("records an unknown price as null with a warning, never $0", async () => {
    await client.chat.completions.create({ model: "gpt-nonexistent-9", messages: [{ role: "user", content: "hi" }] });
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.costNanoUsd, null);
    assert.ok(row && row.outputTokens > 0);
    assert.ok(
      gw.warnings.some((w) => w.includes("gpt-nonexistent-9")),
      `warnings: ${gw.warnings.join(" | ")}`,
    );
  });
});
