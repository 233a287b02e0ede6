import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// Claude Sonnet 4.5 list prices (USD per million tokens): input 3, output 15, cache read 0.30,
// cache write 5 min 3.75, cache write 1 h 6. Above 200k input tokens: 6 / 22.50 / 0.60 / 7.50 / 12.
const CACHE_USAGE = {
  input_tokens: 1200,
  cache_read_input_tokens: 3000,
  cache_creation_input_tokens: 150,
  cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 50 },
  output_tokens: 400,
};
// 1200×3 + 3000×0.30 + 100×3.75 + 50×6 + 400×15 = 3600 + 900 + 375 + 300 + 6000 = 11175 USD per million
// = $0.011175 = 11_175_000 nano-dollars.
const CACHE_COST_NANO = 11_175_000;

describe("Anthropic SDK through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: Anthropic;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    client = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("meters a non-streaming reply with cache reads and both cache-write TTLs exactly", async () => {
    mock.enqueue({ scenario: "text", text: "hi there", usage: CACHE_USAGE });
    const { data, response } = await client.messages
      .create({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    assert.equal(data.content[0]?.type, "text");
    const id = response.headers.get("x-tollgate-request-id");
    assert.ok(id);
    assert.equal(response.headers.get("x-tollgate-cost-usd"), "0.011175000");
    const rows = await gw.logs();
    const row = rows.find((r) => r.id === id);
    assert.ok(row, "a log row for the request");
    assert.deepEqual(
      {
        input: row.inputTokens,
        cacheRead: row.cacheReadTokens,
        w5m: row.cacheWrite5mTokens,
        w1h: row.cacheWrite1hTokens,
        output: row.outputTokens,
      },
      { input: 1200, cacheRead: 3000, w5m: 100, w1h: 50, output: 400 },
    );
    assert.equal(row.costNanoUsd, CACHE_COST_NANO);
    assert.equal(row.provider, "anthropic");
    assert.equal(row.dialect, "anthropic");
    assert.equal(row.status, 200);
    assert.equal(row.stream, false);
    assert.equal(row.agent, "anthropic-sdk");
    assert.equal(row.usageEstimated, false);
    assert.match(row.priceVersion ?? "", /genai-prices/);
    // The client's key never reaches the provider; the configured provider key does.
    assert.equal(mock.requests[0]?.headers["x-api-key"], "test-anthropic-key");
  });

  it("meters a stream the same way (usage split across message_start and message_delta)", async () => {
    mock.enqueue({ scenario: "text", text: "streamed words here", usage: CACHE_USAGE });
    const stream = client.messages.stream({
      model: "claude-sonnet-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "hello" }],
    });
    const final = await stream.finalMessage();
    assert.equal(final.usage.output_tokens, 400);
    const rows = await gw.waitForLogs(1);
    const row = rows.at(-1);
    assert.ok(row);
    assert.equal(row.stream, true);
    assert.equal(row.costNanoUsd, CACHE_COST_NANO);
    assert.equal(row.cacheWrite1hTokens, 50);
    assert.equal(row.usageEstimated, false);
    assert.ok(row.ttftMs !== null && row.ttftMs >= 0, "time to first token recorded");
  });

  it("switches the whole request to the long-context tier above 200k input tokens", async () => {
    // 150k uncached + 60k cache read = 210k input tokens > 200k, so every bucket uses the higher tier:
    // 150000×6 + 60000×0.60 + 1000×22.50 = 900000 + 36000 + 22500 = 958500 USD/M = $0.9585.
    mock.enqueue({
      scenario: "text",
      usage: {
        input_tokens: 150_000,
        cache_read_input_tokens: 60_000,
        cache_creation_input_tokens: 0,
        output_tokens: 1000,
      },
    });
    await client.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "big" }],
    });
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.costNanoUsd, 958_500_000);
  });

  it("forwards body bytes and anthropic-* headers verbatim; replaces only auth", async () => {
    const body =
      '{ "model":"claude-sonnet-4-5",  "max_tokens": 50, "messages":[{"role":"user","content":"caf\\u00e9"}],' +
      ' "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}, "future_field": [1.0, 2e3] }';
    const res = await fetch(`${gw.url}/anthropic/v1/messages?beta=true`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": "client-own",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "context-management-2025-06-27,interleaved-thinking-2025-05-14",
        "x-claude-code-session-id": "11111111-2222-3333-4444-555555555555",
        "x-tollgate-label-team": "payments",
        "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
      },
      body,
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const seen = mock.requests[0];
    assert.ok(seen);
    assert.equal(seen.body.toString("utf8"), body, "body bytes unchanged");
    assert.equal(seen.path, "/v1/messages");
    assert.equal(seen.query.get("beta"), "true");
    assert.equal(seen.headers["anthropic-beta"], "context-management-2025-06-27,interleaved-thinking-2025-05-14");
    assert.equal(seen.headers["x-claude-code-session-id"], "11111111-2222-3333-4444-555555555555");
    assert.equal(seen.headers["x-api-key"], "test-anthropic-key");
    assert.equal(seen.headers["x-tollgate-label-team"], undefined, "Tollgate's own headers stay home");
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.agent, "claude-code");
    assert.equal(row?.agentVersion, "2.1.197");
    assert.equal(row?.sessionId, "11111111-2222-3333-4444-555555555555");
    assert.deepEqual(row?.labels, { team: "payments" });
  });

  it("takes the session from metadata.user_id when no session header is sent", async () => {
    await client.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 10,
      messages: [{ role: "user", content: "x" }],
      metadata: { user_id: JSON.stringify({ device_id: "ab", account_uuid: "", session_id: "sess-from-metadata" }) },
    });
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.sessionId, "sess-from-metadata");
  });

  it("counts tokens through /v1/messages/count_tokens without charging", async () => {
    const result = await client.messages.countTokens({
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "count me" }],
    });
    assert.ok(result.input_tokens > 0);
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.endpoint, "/anthropic/v1/messages/count_tokens");
    assert.equal(row?.costNanoUsd, 0);
  });
});
