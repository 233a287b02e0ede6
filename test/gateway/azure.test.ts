import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { BAD_KEY, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

/** A recorded request's JSON body (empty when it had none). */
const bodyOf = (r: RecordedRequest | undefined) => (r?.json ?? {}) as Record<string, unknown>;

// gpt-4.1 (the catalog's Azure entry falls back to OpenAI's prices), USD per million tokens: input 2, cached input
// 0.50, output 8 → 2000 / 500 / 8000 nano-dollars per token. text-embedding-3-small: 0.02 → 20 per token.
const cost = (input: number, cached: number, output: number) => input * 2000 + cached * 500 + output * 8000;

describe("Azure OpenAI through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;
  let openai: OpenAI;
  let anthropic: Anthropic;

  before(async () => {
    // The resource's deployments and the model each serves (what Azure reports as `model`).
    mock = await startMockUpstream({
      cloud: { azureDeployments: { "prod-gpt41": "gpt-4.1-2025-04-14", "prod-embed": "text-embedding-3-small" } },
    });
    dir = await mkdtemp(join(tmpdir(), "tollgate-azure-"));
    const config = join(dir, "tollgate.json");
    const deployments = { "gpt-4.1": "prod-gpt41", "text-embedding-3-small": "prod-embed" };
    await writeFile(
      config,
      JSON.stringify({
        providers: {
          // Deployment URLs with the default (GA) api-version; the SDK-style `/openai` suffix is accepted.
          azure: { baseUrl: `${mock.url}/openai`, apiKeys: ["azure-key"], deployments },
          "azure-v1": { kind: "azure", baseUrl: mock.url, apiKeys: ["azure-v1-key"], apiVersion: "v1", deployments },
          "azure-preview": {
            kind: "azure",
            baseUrl: mock.url,
            apiKeys: ["azure-preview-key"],
            apiVersion: "2025-04-01-preview",
            deployments,
          },
          "azure-badkey": { kind: "azure", baseUrl: mock.url, apiKeys: [BAD_KEY], deployments },
        },
      }),
    );
    gw = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_CONFIG: config } });
    openai = new OpenAI({ apiKey: "client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => mock.reset());

  it("calls the deployment URL with api-version and api-key, and meters the reply at the served model's price", async () => {
    mock.enqueue({
      scenario: "text",
      usage: { prompt_tokens: 1500, prompt_tokens_details: { cached_tokens: 1000 }, completion_tokens: 100 },
    });
    const body = '{"model":"azure/gpt-4.1","messages":[{"role":"user","content":"hello"}]}';
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer client-key" },
      body,
    });
    assert.equal(res.status, 200);
    const json = (await res.json()) as { model: string };
    assert.equal(json.model, "gpt-4.1-2025-04-14");
    const [call] = mock.requests;
    assert.equal(call?.path, "/openai/deployments/prod-gpt41/chat/completions");
    assert.equal(call?.query.get("api-version"), "2024-10-21");
    assert.equal(call?.headers["api-key"], "azure-key");
    assert.equal(call?.headers.authorization, undefined);
    // Deployment URLs: the body goes as the client sent it, the provider prefix aside.
    assert.equal(call?.body.toString(), body.replace("azure/gpt-4.1", "gpt-4.1"));
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.provider, "azure");
    assert.equal(row?.servedModel, "gpt-4.1-2025-04-14");
    assert.deepEqual([row?.inputTokens, row?.cacheReadTokens, row?.outputTokens], [500, 1000, 100]);
    assert.equal(row?.costNanoUsd, cost(500, 1000, 100));
    assert.equal(res.headers.get("x-tollgate-cost-usd"), "0.002300000");
  });

  it("streams chat (Azure's prompt-filter chunk first) and meters the usage chunk it asked for", async () => {
    mock.enqueue({ scenario: "text", text: "one two three", usage: { prompt_tokens: 700, completion_tokens: 3 } });
    const stream = await openai.chat.completions.create({
      model: "azure/gpt-4.1",
      stream: true,
      messages: [{ role: "user", content: "count" }],
    });
    let text = "";
    let sawUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) sawUsage = true;
    }
    assert.equal(text, "one two three");
    // The client did not ask for usage: the chunk the gateway asked for is not passed on.
    assert.equal(sawUsage, false);
    const [call] = mock.requests;
    assert.deepEqual(bodyOf(call).stream_options, { include_usage: true });
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.deepEqual([row?.inputTokens, row?.outputTokens, row?.usageEstimated], [700, 3, false]);
    assert.equal(row?.costNanoUsd, cost(700, 0, 3));
  });

  it("sends embeddings to the embedding deployment", async () => {
    mock.enqueue({ scenario: "text", usage: { prompt_tokens: 5000, total_tokens: 5000 } });
    const res = await openai.embeddings.create({ model: "azure/text-embedding-3-small", input: ["a", "b"] });
    assert.equal(res.data.length, 2);
    const [call] = mock.requests;
    assert.equal(call?.path, "/openai/deployments/prod-embed/embeddings");
    assert.equal(call?.query.get("api-version"), "2024-10-21");
    const row = (await gw.logs()).at(-1);
    assert.deepEqual([row?.inputTokens, row?.costNanoUsd], [5000, 100_000]);
  });

  it("resolves a bare model name served by a deployment", async () => {
    // gpt-4.1 is also an OpenAI model; both speak Chat, and a declared model wins over a name pattern.
    await openai.chat.completions.create({ model: "gpt-4.1", messages: [{ role: "user", content: "hi" }] });
    assert.equal(mock.requests[0]?.path, "/openai/deployments/prod-gpt41/chat/completions");
  });

  it("uses the v1 API: no api-version, the deployment as model, Responses served directly", async () => {
    mock.enqueue(
      { scenario: "text", usage: { prompt_tokens: 100, completion_tokens: 5 } },
      { scenario: "text", text: "responses reply", usage: { input_tokens: 300, output_tokens: 2 } },
    );
    await openai.chat.completions.create({ model: "azure-v1/gpt-4.1", messages: [{ role: "user", content: "hi" }] });
    const stream = await openai.responses.create({ model: "azure-v1/gpt-4.1", input: "hello", stream: true });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === "response.completed") completed = event.response;
    assert.equal(completed?.usage?.input_tokens, 300);
    const [chat, responses] = mock.requests;
    assert.equal(chat?.path, "/openai/v1/chat/completions");
    assert.equal(chat?.query.has("api-version"), false);
    assert.equal(chat?.headers["api-key"], "azure-v1-key");
    assert.equal(bodyOf(chat).model, "prod-gpt41");
    assert.equal(responses?.path, "/openai/v1/responses");
    assert.equal(bodyOf(responses).model, "prod-gpt41");
    const [a, b] = (await gw.waitForLogs(2)).slice(-2);
    assert.deepEqual([a?.servedModel, a?.costNanoUsd], ["gpt-4.1-2025-04-14", cost(100, 0, 5)]);
    assert.deepEqual(
      [b?.dialect, b?.upstreamDialect ?? null, b?.inputTokens, b?.outputTokens],
      ["openai-responses", null, 300, 2],
    );
    assert.equal(b?.costNanoUsd, cost(300, 0, 2));
  });

  it("sends Responses to /openai/responses?api-version on a preview version, and translates them to Chat on GA", async () => {
    mock.enqueue(
      { scenario: "text", usage: { input_tokens: 40, output_tokens: 4 } },
      { scenario: "text", usage: { prompt_tokens: 50, completion_tokens: 6 } },
    );
    await openai.responses.create({ model: "azure-preview/gpt-4.1", input: "hello" });
    const ga = await openai.responses.create({ model: "azure/gpt-4.1", input: "hello" });
    assert.equal(ga.usage?.input_tokens, 50);
    const [preview, translated] = mock.requests;
    assert.equal(preview?.path, "/openai/responses");
    assert.equal(preview?.query.get("api-version"), "2025-04-01-preview");
    assert.equal(bodyOf(preview).model, "prod-gpt41");
    assert.equal(translated?.path, "/openai/deployments/prod-gpt41/chat/completions");
    assert.equal(translated?.query.get("api-version"), "2024-10-21");
    const [a, b] = (await gw.waitForLogs(2)).slice(-2);
    assert.deepEqual([a?.inputTokens, a?.outputTokens, a?.costNanoUsd], [40, 4, cost(40, 0, 4)]);
    assert.deepEqual(
      [b?.upstreamDialect, b?.inputTokens, b?.outputTokens, b?.costNanoUsd],
      ["openai-chat", 50, 6, cost(50, 0, 6)],
    );
  });

  it("translates an Anthropic client to an Azure deployment, streamed and not, metered from Azure's usage", async () => {
    mock.enqueue(
      { scenario: "text", text: "plain", usage: { prompt_tokens: 800, completion_tokens: 1 } },
      {
        scenario: "text",
        text: "streamed words",
        usage: { prompt_tokens: 900, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens: 2 },
      },
    );
    const msg = await anthropic.messages.create({
      model: "azure/gpt-4.1",
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(msg.content[0]?.type === "text" ? msg.content[0].text : "", "plain");
    assert.equal(msg.usage.input_tokens, 800);
    const final = await anthropic.messages
      .stream({ model: "azure/gpt-4.1", max_tokens: 50, messages: [{ role: "user", content: "hi" }] })
      .finalMessage();
    assert.equal(final.content[0]?.type === "text" ? final.content[0].text : "", "streamed words");
    assert.equal(final.usage.input_tokens, 800);
    assert.equal(final.usage.cache_read_input_tokens, 100);
    const [plain, streamed] = mock.requests;
    for (const call of [plain, streamed]) {
      assert.equal(call?.path, "/openai/deployments/prod-gpt41/chat/completions");
      assert.equal(call?.headers["api-key"], "azure-key");
      assert.equal(call?.headers["x-api-key"], undefined);
    }
    const [a, b] = (await gw.waitForLogs(2)).slice(-2);
    assert.deepEqual([a?.inputTokens, a?.outputTokens, a?.costNanoUsd], [800, 1, cost(800, 0, 1)]);
    assert.deepEqual(
      [b?.inputTokens, b?.cacheReadTokens, b?.outputTokens, b?.costNanoUsd],
      [800, 100, 2, cost(800, 100, 2)],
    );
  });

  it("passes Azure's 401 through on passthrough, and renders it in the client's dialect when translating", async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: "azure-badkey/gpt-4.1", messages: [{ role: "user", content: "x" }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.AuthenticationError);
        assert.match(err.message, /Access denied due to invalid subscription key/);
        return true;
      },
    );
    await assert.rejects(
      anthropic.messages.create({
        model: "azure-badkey/gpt-4.1",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.AuthenticationError);
        assert.equal((err.error as { error?: { type?: string } }).error?.type, "authentication_error");
        assert.match(err.message, /azure-badkey: Access denied/);
        return true;
      },
    );
    assert.deepEqual(
      mock.requests.map((r) => r.headers["api-key"]),
      [BAD_KEY, BAD_KEY],
    );
  });

  it("passes a missing deployment's 404 through", async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: "azure/gpt-4o", messages: [{ role: "user", content: "x" }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.NotFoundError);
        assert.match(err.message, /deployment for this resource does not exist/);
        return true;
      },
    );
    assert.equal(mock.requests[0]?.path, "/openai/deployments/gpt-4o/chat/completions");
  });
});
