import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

describe("translated requests on the request log", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const anthropic = (model: string, extra: Record<string, unknown> = {}) =>
    fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "k" },
      body: JSON.stringify({ model, max_tokens: 100, messages: [{ role: "user", content: "hi" }], ...extra }),
    });

  it("records the provider's dialect and what could not be carried across", async () => {
    const res = await anthropic("gpt-4.1", {
      tools: [
        { type: "web_search_20250305", name: "web_search" },
        { name: "get_weather", description: "w", input_schema: { type: "object", properties: {} } },
      ],
    });
    assert.equal(res.status, 200, await res.text());
    // The upstream got Chat Completions with the function tool only.
    const sent = mock.requests.at(-1)?.json as { tools?: Array<{ function?: { name: string } }> } | undefined;
    assert.deepEqual(
      sent?.tools?.map((t) => t.function?.name),
      ["get_weather"],
    );
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.dialect, "anthropic");
    assert.equal(row?.upstreamDialect, "openai-chat");
    assert.ok(
      row?.warnings.some((w) => /web_search/.test(w)),
      `warnings: ${JSON.stringify(row?.warnings)}`,
    );
  });

  it("a passthrough request has neither", async () => {
    assert.equal((await anthropic("claude-sonnet-4-5")).status, 200);
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.upstreamDialect, null);
    assert.deepEqual(row?.warnings, []);
  });
});

describe("translation keeps text exact, whatever its characters", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const send = (content: string) =>
    fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "k" },
      body: `{"model":"gpt-4.1","max_tokens":50,"messages":[{"role":"user","content":${content}}]}`,
    });

  it("non-ASCII text reaches the provider unchanged (fast one-byte path)", async () => {
    const text = "héllo — ✓ 日本語 🙂 \u001b[0m";
    assert.equal((await send(JSON.stringify(text))).status, 200);
    const sent = mock.requests.at(-1)?.json as { messages: Array<{ content: unknown }> };
    assert.deepEqual(sent.messages.at(-1)?.content, text);
  });

  it("a \\u00e9 escape in the body takes the UTF-8 path and arrives as é", async () => {
    assert.equal((await send('"caf\\u00e9 \\u2026"')).status, 200);
    const sent = mock.requests.at(-1)?.json as { messages: Array<{ content: unknown }> };
    assert.deepEqual(sent.messages.at(-1)?.content, "café …");
  });
});
