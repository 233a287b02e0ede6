import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { startMockUpstream, VERTEX_ANTHROPIC_VERSION } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { testServiceAccount } from "../helpers/google-credentials.ts";

/** A recorded request's JSON body (empty when it had none). */
const bodyOf = (r: RecordedRequest | undefined) => (r?.json ?? {}) as Record<string, unknown>;

// Vertex AI prices (the catalog's Google entry), USD per million tokens:
// claude-sonnet-4-5 input 3, cache read 0.30, cache write (5 min) 3.75, output 15; gemini-2.5-flash 0.30 / 2.50.
const CLAUDE = "claude-sonnet-4-5@20250929";
const PUBLISHERS = "/v1/projects/tollgate-test/locations/us-east5/publishers";

describe("Vertex AI through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;
  let anthropic: Anthropic;
  let openai: OpenAI;
  let genai: GoogleGenAI;
  const account = testServiceAccount("vertex-gw");
  // A key the token endpoint does not know: its grants are refused.
  const stranger = testServiceAccount("vertex-stranger");

  before(async () => {
    mock = await startMockUpstream({
      google: { serviceAccounts: [{ clientEmail: account.clientEmail, publicKey: account.publicKeyPem }] },
      cloud: { vertexProject: "tollgate-test" },
    });
    dir = await mkdtemp(join(tmpdir(), "tollgate-vertex-"));
    const good = await account.writeKeyFile(dir, `${mock.url}/token`);
    const bad = await stranger.writeKeyFile(dir, `${mock.url}/token`);
    const config = join(dir, "tollgate.json");
    await writeFile(
      config,
      JSON.stringify({
        providers: {
          // The project comes from the key file.
          vertex: { region: "us-east5", credentialsFile: good, baseUrl: `${mock.url}/v1` },
          "vertex-stranger": { kind: "vertex", region: "us-east5", credentialsFile: bad, baseUrl: `${mock.url}/v1` },
        },
      }),
    );
    gw = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_CONFIG: config } });
    anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    openai = new OpenAI({ apiKey: "client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    genai = new GoogleGenAI({ apiKey: "client-key", httpOptions: { baseUrl: `${gw.url}/genai` } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => mock.reset());

  /** The model calls the mock answered (token grants left out). */
  const calls = (): RecordedRequest[] => mock.requests.filter((r) => r.route !== "google-token");

  it("sends Claude Messages to rawPredict with a minted token, the Vertex body, and meters the reply", async () => {
    mock.enqueue({
      scenario: "text",
      usage: {
        input_tokens: 1000,
        cache_read_input_tokens: 2000,
        cache_creation_input_tokens: 100,
        output_tokens: 200,
      },
    });
    const msg = await anthropic.messages.create({
      model: `vertex/${CLAUDE}`,
      max_tokens: 300,
      messages: [{ role: "user", content: "hello" }],
    });
    assert.equal(msg.type, "message");
    const [call] = calls();
    assert.equal(call?.path, `${PUBLISHERS}/anthropic/models/${CLAUDE}:rawPredict`);
    assert.equal(call?.headers.authorization, `Bearer ${mock.google.issued.at(-1)}`);
    assert.equal(call?.headers["x-api-key"], undefined);
    // The whole body rawPredict received: the client's, minus `model` (it is in the path), plus Vertex's version.
    assert.deepEqual(bodyOf(call), {
      anthropic_version: VERTEX_ANTHROPIC_VERSION,
      max_tokens: 300,
      messages: [{ role: "user", content: "hello" }],
    });
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.provider, "vertex");
    assert.deepEqual(
      [row?.inputTokens, row?.cacheReadTokens, row?.cacheWrite5mTokens, row?.outputTokens],
      [1000, 2000, 100, 200],
    );
    // 1000×3 + 2000×0.30 + 100×3.75 + 200×15 = 3000 + 600 + 375 + 3000 = 6975 USD per million.
    assert.equal(row?.costNanoUsd, 6_975_000);
    assert.match(row?.providerKeyId ?? "", /^sa-[0-9a-f]{10}$/);
  });

  it("streams through streamRawPredict and meters the stream as the mock reported it", async () => {
    const stream = anthropic.messages.stream({
      model: `vertex/${CLAUDE}`,
      max_tokens: 300,
      messages: [{ role: "user", content: "stream please" }],
    });
    const final = await stream.finalMessage();
    const [call] = calls();
    assert.equal(call?.path, `${PUBLISHERS}/anthropic/models/${CLAUDE}:streamRawPredict`);
    assert.deepEqual(bodyOf(call), {
      anthropic_version: VERTEX_ANTHROPIC_VERSION,
      max_tokens: 300,
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
    });
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.stream, true);
    // The mock's own rule: input = ceil(body bytes / 4) of the body it received.
    assert.equal(row?.inputTokens, Math.ceil((call?.body.length ?? 0) / 4));
    assert.equal(row?.inputTokens, final.usage.input_tokens);
    assert.equal(row?.outputTokens, final.usage.output_tokens);
    assert.equal(row?.usageEstimated, false);
    assert.equal(row?.costNanoUsd, final.usage.input_tokens * 3000 + final.usage.output_tokens * 15_000);
  });

  it("mints one token and reuses it across requests", async () => {
    const before = mock.google.grants;
    for (let i = 0; i < 3; i++) {
      await anthropic.messages.create({
        model: `vertex/${CLAUDE}`,
        max_tokens: 50,
        messages: [{ role: "user", content: "x" }],
      });
    }
    assert.equal(mock.google.grants, before);
    assert.equal(new Set(calls().map((r) => r.headers.authorization)).size, 1);
  });

  it("sends count_tokens to count-tokens:rawPredict with the model kept in the body", async () => {
    const counted = await anthropic.messages.countTokens({
      model: `vertex/${CLAUDE}`,
      messages: [{ role: "user", content: "count me" }],
    });
    assert.ok(counted.input_tokens > 0);
    const [call] = calls();
    assert.equal(call?.path, `${PUBLISHERS}/anthropic/models/count-tokens:rawPredict`);
    const body = bodyOf(call);
    assert.equal(body.model, CLAUDE);
    assert.equal(body.anthropic_version, VERTEX_ANTHROPIC_VERSION);
  });

  it("sends Gemini models to the Google publisher, streamed as SSE, metered", async () => {
    mock.enqueue({
      scenario: "text",
      usage: { promptTokenCount: 1000, candidatesTokenCount: 100, thoughtsTokenCount: 50, totalTokenCount: 1150 },
    });
    const res = await genai.models.generateContent({ model: "vertex/gemini-2.5-flash", contents: "hello" });
    assert.ok(res.text);
    mock.enqueue({
      scenario: "text",
      usage: { promptTokenCount: 400, candidatesTokenCount: 40, totalTokenCount: 440 },
    });
    let text = "";
    for await (const chunk of await genai.models.generateContentStream({
      model: "vertex/gemini-2.5-flash",
      contents: "stream",
    })) {
      text += chunk.text ?? "";
    }
    assert.ok(text.length > 0);
    const [plain, streamed] = calls();
    assert.equal(plain?.path, `${PUBLISHERS}/google/models/gemini-2.5-flash:generateContent`);
    assert.equal(streamed?.path, `${PUBLISHERS}/google/models/gemini-2.5-flash:streamGenerateContent`);
    assert.equal(streamed?.query.get("alt"), "sse");
    assert.match(String(plain?.headers.authorization), /^Bearer ya29\.mock-/);
    assert.equal(plain?.headers["x-goog-api-key"], undefined);
    const rows = await gw.waitForLogs(2);
    const [a, b] = rows.slice(-2);
    // 1000×0.30 + (100 + 50)×2.50 = 675 USD per million; 400×0.30 + 40×2.50 = 220.
    assert.deepEqual([a?.inputTokens, a?.outputTokens, a?.costNanoUsd], [1000, 150, 675_000]);
    assert.deepEqual([b?.inputTokens, b?.outputTokens, b?.costNanoUsd, b?.stream], [400, 40, 220_000, true]);
  });

  it("translates an OpenAI Chat client to Claude on Vertex, streamed and not, metered from the upstream", async () => {
    mock.enqueue(
      { scenario: "text", text: "translated", usage: { input_tokens: 500, output_tokens: 20 } },
      { scenario: "text", text: "streamed reply", usage: { input_tokens: 600, output_tokens: 30 } },
    );
    const done = await openai.chat.completions.create({
      model: `vertex/${CLAUDE}`,
      max_tokens: 100,
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hi" },
      ],
    });
    assert.equal(done.choices[0]?.message.content, "translated");
    assert.equal(done.usage?.prompt_tokens, 500);
    const stream = await openai.chat.completions.create({
      model: `vertex/${CLAUDE}`,
      max_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, "streamed reply");
    assert.equal(usage?.prompt_tokens, 600);
    const [plain, streamed] = calls();
    assert.equal(plain?.path, `${PUBLISHERS}/anthropic/models/${CLAUDE}:rawPredict`);
    assert.equal(streamed?.path, `${PUBLISHERS}/anthropic/models/${CLAUDE}:streamRawPredict`);
    for (const call of [plain, streamed]) {
      const body = bodyOf(call);
      assert.equal("model" in body, false);
      assert.equal(body.anthropic_version, VERTEX_ANTHROPIC_VERSION);
    }
    assert.deepEqual(bodyOf(plain), {
      anthropic_version: VERTEX_ANTHROPIC_VERSION,
      max_tokens: 100,
      system: [{ type: "text", text: "be brief" }],
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    });
    const [a, b] = (await gw.waitForLogs(2)).slice(-2);
    assert.deepEqual([a?.inputTokens, a?.outputTokens, a?.costNanoUsd], [500, 20, 1_800_000]);
    assert.deepEqual([b?.inputTokens, b?.outputTokens, b?.costNanoUsd], [600, 30, 2_250_000]);
    assert.equal(b?.upstreamDialect, "anthropic");
  });

  it("translates an OpenAI Chat client to Gemini on Vertex", async () => {
    mock.enqueue({ scenario: "text", text: "from gemini", usage: { promptTokenCount: 200, candidatesTokenCount: 10 } });
    const done = await openai.chat.completions.create({
      model: "vertex/gemini-2.5-flash",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(done.choices[0]?.message.content, "from gemini");
    const [call] = calls();
    assert.equal(call?.path, `${PUBLISHERS}/google/models/gemini-2.5-flash:generateContent`);
    const row = (await gw.logs()).at(-1);
    // 200×0.30 + 10×2.50 = 85 USD per million.
    assert.deepEqual([row?.inputTokens, row?.outputTokens, row?.costNanoUsd], [200, 10, 85_000]);
  });

  it("answers a refused token grant as a clear error in the client's dialect, without calling Vertex", async () => {
    await assert.rejects(
      anthropic.messages.create({
        model: `vertex-stranger/${CLAUDE}`,
        max_tokens: 10,
        messages: [{ role: "user", content: "x" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.APIError);
        assert.equal(err.status, 502);
        assert.equal((err.error as { type?: string }).type, "error");
        assert.match(err.message, /vertex-stranger.*access token.*invalid_grant/);
        return true;
      },
    );
    await assert.rejects(
      openai.chat.completions.create({
        model: "vertex-stranger/gemini-2.5-flash",
        messages: [{ role: "user", content: "x" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.status, 502);
        assert.match(err.message, /invalid_grant/);
        return true;
      },
    );
    assert.deepEqual(
      mock.requests.map((r) => r.route),
      ["google-token", "google-token"],
    );
    const row = (await gw.logs()).at(-1);
    assert.equal(row?.errorCode, "TG_PROVIDER_AUTH");
  });

  it("passes Vertex's 401 for a revoked token through, then mints a new token off the request path", async () => {
    const grants = mock.google.grants;
    mock.google.revoke();
    await assert.rejects(
      anthropic.messages.create({
        model: `vertex/${CLAUDE}`,
        max_tokens: 10,
        messages: [{ role: "user", content: "x" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.AuthenticationError);
        assert.match(err.message, /invalid authentication credentials/);
        return true;
      },
    );
    // The 401 started a refresh in the background; wait for the grant (bounded), then requests succeed again.
    const deadline = Date.now() + 5000;
    while (mock.google.grants === grants && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(mock.google.grants, grants + 1);
    const msg = await anthropic.messages.create({
      model: `vertex/${CLAUDE}`,
      max_tokens: 10,
      messages: [{ role: "user", content: "again" }],
    });
    assert.equal(msg.type, "message");
    assert.equal(calls().at(-1)?.headers.authorization, `Bearer ${mock.google.issued.at(-1)}`);
  });
});
