import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

describe("providers through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: {
        OPENAI_API_KEY: "key-one,key-two",
        GROQ_API_KEY: "groq-key",
        TOLLGATE_GROQ_BASE_URL: `${mock.url}/openai/v1`,
        // Anthropic registered without a key: the client's own credential is forwarded (bring your own key).
        ANTHROPIC_API_KEY: "",
        TOLLGATE_VLLM_BASE_URL: `${mock.url}/vllm/v1`,
      },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("serves an OpenAI-compatible preset (Groq) selected with provider/model, priced from the catalog", async () => {
    const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    mock.enqueue({
      scenario: "text",
      usage: { prompt_tokens: 1_000_000, completion_tokens: 1_000_000, total_tokens: 2_000_000 },
    });
    await client.chat.completions.create({
      model: "groq/llama-3.3-70b-versatile",
      messages: [{ role: "user", content: "hi" }],
    });
    const seen = mock.requests[0];
    assert.equal(seen?.path, "/openai/v1/chat/completions");
    assert.equal(seen?.headers.authorization, "Bearer groq-key");
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.provider, "groq");
    // Groq llama-3.3-70b-versatile: $0.59 input, $0.79 output per million → 1M × 0.59 + 1M × 0.79 = $1.38.
    assert.equal(row?.costNanoUsd, 1_380_000_000);
  });

  it("shares the load across several keys of one provider", async () => {
    const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 40; i++)
      await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    const used = mock.requests.map((r) => r.headers.authorization);
    const one = used.filter((a) => a === "Bearer key-one").length;
    const two = used.filter((a) => a === "Bearer key-two").length;
    assert.equal(one + two, 40);
    // Equal weights: power-of-two-choices keeps both in use. Latency noise may favour one (the slower one still
    // wins whenever it is drawn twice, ~25 %): P(≤ 2 of 40) ≈ 5e-4.
    assert.ok(one > 2 && two > 2, `key-one ${one}, key-two ${two}`);
    const rows = (await gw.logs()).slice(-40);
    assert.equal(new Set(rows.map((r) => r.providerKeyId)).size, 2);
    assert.ok(
      rows.every((r) => !r.providerKeyId?.includes("key-")),
      "key ids never contain the secret",
    );
  });

  it("registers a keyless local server from its base URL, priced unknown (null) unless overridden", async () => {
    const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: "vllm/qwen3-coder", messages: [{ role: "user", content: "hi" }] });
    assert.equal(mock.requests[0]?.path, "/vllm/v1/chat/completions");
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.provider, "vllm");
    assert.equal(row?.costNanoUsd, null);
  });

  it("lists models across providers on /v1/models", async () => {
    const res = await fetch(`${gw.url}/v1/models`);
    const body = (await res.json()) as { data: { id: string }[] };
    const ids = body.data.map((m) => m.id);
    assert.ok(
      ids.some((id) => id.startsWith("groq/")),
      ids.join(","),
    );
    assert.ok(
      ids.some((id) => !id.includes("/")),
      "the home provider's models are listed bare",
    );
  });

  it("forwards the client's own credential to a provider configured without a key (bring your own key)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-byok-"));
    const config = join(dir, "tollgate.yaml");
    await writeFile(config, `providers:\n  anthropic:\n    baseUrl: ${mock.url}\n`);
    const byok = await startTestGateway({
      upstreamUrl: mock.url,
      env: { ANTHROPIC_API_KEY: "", TOLLGATE_CONFIG: config },
    });
    try {
      const res = await fetch(`${byok.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          authorization: "Bearer sk-ant-oat-user-token",
        },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 10,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(res.status, 200);
      assert.equal(mock.requests[0]?.headers.authorization, "Bearer sk-ant-oat-user-token");
      const row = (await byok.logs()).at(-1);
      assert.equal(row?.providerKeyId, "client");
      assert.ok(row?.costNanoUsd !== null && (row?.costNanoUsd ?? 0) > 0, "still metered");
    } finally {
      await byok.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("accepts a 30 MB body (Claude Code sends several MB late in a session)", async () => {
    const filler = "x".repeat(30 * 1024 * 1024);
    const body = JSON.stringify({
      model: "gpt-4o",
      messages: [{ role: "user", content: filler }],
    });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body,
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(mock.requests[0]?.body.length, Buffer.byteLength(body));
  });
});
