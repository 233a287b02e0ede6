import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import { MOCK_AWS_CREDENTIALS, MOCK_AWS_REGION } from "../fixtures/mock-upstream/bedrock/index.ts";
import { startMockUpstream, VERTEX_ANTHROPIC_VERSION } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import {
  validateAnthropicCountTokens,
  validateGeminiGenerateContent,
} from "../fixtures/mock-upstream/validate/index.ts";
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { testServiceAccount } from "../helpers/google-credentials.ts";

const bodyOf = (r: RecordedRequest | undefined) => (r?.json ?? {}) as Record<string, unknown>;
/** The mock's count: one token per four bytes of the body it received. */
const mockCount = (r: RecordedRequest | undefined) => Math.ceil((r?.body.length ?? 0) / 4);

const WEATHER_TOOL = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] },
};

/** POSTs a JSON body to the gateway; answers status, headers and JSON. */
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown>; bytes: number }> {
  const text = JSON.stringify(body);
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
    body: text,
  });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, unknown>,
    bytes: Buffer.byteLength(text),
  };
}

describe("count_tokens / countTokens for a provider of another dialect", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let anthropic: Anthropic;
  let genai: GoogleGenAI;
  let seen = 0;
  const newRows = async (n: number) => {
    const all = await gw.waitForLogs(seen + n);
    const out = all.slice(seen);
    seen = all.length;
    return out;
  };

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: {
        // A Chat-only provider and a Bedrock one: neither has a counting API the gateway speaks.
        GROQ_API_KEY: "test-groq-key",
        TOLLGATE_GROQ_BASE_URL: `${mock.url}/v1`,
        AWS_ACCESS_KEY_ID: MOCK_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOCK_AWS_CREDENTIALS.secretAccessKey,
        AWS_REGION: MOCK_AWS_REGION,
      },
    });
    anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    genai = new GoogleGenAI({ apiKey: "client-key", httpOptions: { baseUrl: `${gw.url}/genai` } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("Anthropic client, Gemini model: the whole request goes to countTokens as a generateContentRequest", async () => {
    const { data, response } = await anthropic.messages
      .countTokens({
        model: "gemini-2.5-flash",
        system: "Be brief.",
        messages: [{ role: "user", content: "count me" }],
        tools: [WEATHER_TOOL],
      })
      .withResponse();
    const sent = mock.requests[0];
    assert.equal(sent?.route, "gemini-count-tokens");
    assert.equal(sent?.path, "/v1beta/models/gemini-2.5-flash:countTokens");
    assert.equal(sent?.headers["x-goog-api-key"], "test-gemini-key");
    const body = bodyOf(sent);
    assert.deepEqual(Object.keys(body), ["generateContentRequest"]);
    const { model, ...inner } = body.generateContentRequest as Record<string, unknown>;
    assert.equal(model, "models/gemini-2.5-flash");
    assert.equal(validateGeminiGenerateContent(inner, "gemini-2.5-flash"), null);
    assert.deepEqual(inner.contents, [{ role: "user", parts: [{ text: "count me" }] }]);
    assert.deepEqual(inner.systemInstruction, { parts: [{ text: "Be brief." }] });
    assert.equal(
      (inner.tools as { functionDeclarations: { name: string }[] }[])[0]?.functionDeclarations[0]?.name,
      "get_weather",
    );
    assert.equal(inner.generationConfig, undefined);
    assert.deepEqual(data, { input_tokens: mockCount(sent) });
    assert.equal(response.headers.get("x-tollgate-token-count"), null);
    assert.equal(response.headers.get("x-tollgate-cost-usd"), "0.000000000");
    const [row] = await newRows(1);
    assert.deepEqual(
      [row?.status, row?.provider, row?.upstreamDialect, row?.inputTokens, row?.outputTokens, row?.costNanoUsd],
      [200, "gemini", "gemini", 0, 0, 0],
    );
  });

  it("Gemini client, Claude model: countTokens becomes Anthropic's count_tokens (no max_tokens), totalTokens back", async () => {
    const result = await genai.models.countTokens({ model: "claude-sonnet-4-5", contents: "count me" });
    const sent = mock.requests[0];
    assert.equal(sent?.route, "anthropic-count-tokens");
    assert.equal(sent?.path, "/v1/messages/count_tokens");
    assert.equal(sent?.headers["x-api-key"], "test-anthropic-key");
    assert.equal(sent?.headers["anthropic-version"], "2023-06-01");
    assert.deepEqual(bodyOf(sent), {
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: [{ type: "text", text: "count me" }] }],
    });
    assert.equal(validateAnthropicCountTokens(bodyOf(sent), sent?.headers ?? {}), null);
    assert.equal(result.totalTokens, mockCount(sent));
    const [row] = await newRows(1);
    assert.deepEqual(
      [row?.status, row?.dialect, row?.upstreamDialect, row?.costNanoUsd],
      [200, "gemini", "anthropic", 0],
    );
  });

  it("a Gemini generateContentRequest counts its system instruction and tools on the Anthropic side too", async () => {
    const res = await post(`${gw.url}/genai/v1beta/models/claude-sonnet-4-5:countTokens`, {
      generateContentRequest: {
        model: "models/claude-sonnet-4-5",
        systemInstruction: { parts: [{ text: "Be brief." }] },
        contents: [{ role: "user", parts: [{ text: "weather in Oslo?" }] }],
        tools: [{ functionDeclarations: [{ name: "get_weather", parameters: { type: "OBJECT" } }] }],
      },
    });
    assert.equal(res.status, 200);
    const body = bodyOf(mock.requests[0]);
    assert.deepEqual(body.system, [{ type: "text", text: "Be brief." }]);
    assert.equal((body.tools as { name: string }[])[0]?.name, "get_weather");
    assert.deepEqual(res.json, { totalTokens: mockCount(mock.requests[0]) });
    await newRows(1);
  });

  it("OpenAI model: /responses/input_tokens is tried; a server without it (404) gets an estimate, labelled", async () => {
    const request = { model: "gpt-4.1", messages: [{ role: "user", content: "count me, please" }] };
    const res = await post(`${gw.url}/anthropic/v1/messages/count_tokens`, request);
    assert.equal(res.status, 200);
    assert.equal(mock.requests[0]?.path, "/v1/responses/input_tokens");
    assert.deepEqual(res.json, { input_tokens: Math.ceil(res.bytes / 4) });
    assert.equal(res.headers.get("x-tollgate-token-count"), "estimated");
    const [row] = await newRows(1);
    assert.equal(row?.status, 200);
    assert.equal(row?.costNanoUsd, 0);
    assert.ok(
      row?.warnings.some((w) => /token count estimated .*HTTP 404 .*input_tokens/.test(w)),
      JSON.stringify(row?.warnings),
    );
  });

  it("a provider with no counting API (Chat only, Bedrock) is estimated without an upstream call", async () => {
    const gemini = await post(`${gw.url}/genai/v1beta/models/groq%2Fllama-3.3-70b-versatile:countTokens`, {
      contents: [{ role: "user", parts: [{ text: "count me" }] }],
    });
    const claude = await post(`${gw.url}/anthropic/v1/messages/count_tokens`, {
      model: "us.amazon.nova-pro-v1:0",
      messages: [{ role: "user", content: "count me" }],
    });
    assert.deepEqual(
      [gemini.status, gemini.json, gemini.headers.get("x-tollgate-token-count")],
      [200, { totalTokens: Math.ceil(gemini.bytes / 4) }, "estimated"],
    );
    assert.deepEqual(
      [claude.status, claude.json, claude.headers.get("x-tollgate-token-count")],
      [200, { input_tokens: Math.ceil(claude.bytes / 4) }, "estimated"],
    );
    assert.equal(mock.requests.length, 0);
    const rows = await newRows(2);
    assert.deepEqual(
      rows.map((r) => [r.provider, r.upstreamDialect, r.costNanoUsd]),
      [
        ["groq", null, 0],
        ["bedrock", null, 0],
      ],
    );
    assert.ok(rows.every((r) => r.warnings.some((w) => /has no token counting API/.test(w))));
  });

  it("an upstream error is answered in the client's error shape, with its status", async () => {
    mock.enqueue({ scenario: "error", status: 429 });
    await assert.rejects(
      anthropic.messages.countTokens({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }] }),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.RateLimitError, String(err));
        assert.equal((err.error as { type?: string }).type, "error");
        return true;
      },
    );
    const [row] = await newRows(1);
    assert.equal(row?.status, 429);
    assert.equal(row?.costNanoUsd, null);
  });

  it("a request that cannot be translated is a 400 in the client's shape, without an upstream call", async () => {
    const res = await post(`${gw.url}/genai/v1beta/models/claude-sonnet-4-5:countTokens`, {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      cachedContent: "cachedContents/abc",
    });
    assert.equal(res.status, 400);
    assert.match(String((res.json.error as { message?: string }).message), /cachedContent/);
    assert.equal(mock.requests.length, 0);
    await newRows(1);
  });

  it("counts are free: translated and estimated counts leave a budget untouched, like passthrough ones", async () => {
    const created = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "counter", budgets: [{ name: "daily", limitUsd: "1", period: "1d" }] }),
    });
    const key = (await created.json()) as { secret: string };
    const withKey = new Anthropic({ apiKey: key.secret, baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    const messages = [{ role: "user" as const, content: "count me" }];
    await withKey.messages.countTokens({ model: "claude-sonnet-4-5", messages });
    await withKey.messages.countTokens({ model: "gemini-2.5-flash", messages });
    await withKey.messages.countTokens({ model: "groq/llama-3.3-70b-versatile", messages });
    const rows = await newRows(3);
    assert.deepEqual(
      rows.map((r) => [r.status, r.costNanoUsd]),
      [
        [200, 0],
        [200, 0],
        [200, 0],
      ],
    );
    const usage = await fetch(`${gw.url}/tollgate/usage`, { headers: { authorization: `Bearer ${key.secret}` } });
    const body = (await usage.json()) as { budgets: { spentUsd: string; heldUsd: string }[] };
    assert.deepEqual(
      body.budgets.map((b) => [b.spentUsd, b.heldUsd]),
      [["0.000000000", "0.000000000"]],
    );
  });
});

describe("count tokens through OpenAI's /responses/input_tokens", () => {
  let server: Server;
  let gw: TestGateway;
  const seen: { path: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];

  before(async () => {
    // The mock upstream has no input_tokens endpoint: a stand-in that answers as OpenAI does.
    server = createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => {
        text += c.toString("utf8");
      });
      req.on("end", () => {
        seen.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "response.input_tokens", input_tokens: 42 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    gw = await startTestGateway({
      upstreamUrl: `http://127.0.0.1:${port}`,
    });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("an Anthropic count for a GPT model is translated to the Responses input and answered with its count", async () => {
    const anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    const { data, response } = await anthropic.messages
      .countTokens({
        model: "gpt-4.1",
        system: "Be brief.",
        messages: [{ role: "user", content: "count me" }],
        tools: [WEATHER_TOOL],
      })
      .withResponse();
    assert.deepEqual(data, { input_tokens: 42 });
    assert.equal(response.headers.get("x-tollgate-token-count"), null);
    const [call] = seen;
    assert.equal(call?.path, "/v1/responses/input_tokens");
    assert.equal(call?.headers.authorization, "Bearer test-openai-key");
    const body = call?.body ?? {};
    assert.deepEqual(Object.keys(body).sort(), ["input", "instructions", "model", "tools"]);
    assert.equal(body.model, "gpt-4.1");
    assert.equal(body.instructions, "Be brief.");
    assert.equal((body.tools as { name: string }[])[0]?.name, "get_weather");
    const [row] = await gw.waitForLogs(1);
    assert.deepEqual([row?.status, row?.upstreamDialect, row?.costNanoUsd], [200, "openai-responses", 0]);
  });
});

describe("count tokens on a Vertex provider", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;
  const account = testServiceAccount("vertex-count");
  const publishers = "/v1/projects/tollgate-test/locations/us-east5/publishers";
  const calls = () => mock.requests.filter((r) => r.route !== "google-token");

  before(async () => {
    mock = await startMockUpstream({
      google: { serviceAccounts: [{ clientEmail: account.clientEmail, publicKey: account.publicKeyPem }] },
      cloud: { vertexProject: "tollgate-test" },
    });
    dir = await mkdtemp(join(tmpdir(), "tollgate-vertex-count-"));
    const keyFile = await account.writeKeyFile(dir, `${mock.url}/token`);
    const config = join(dir, "tollgate.json");
    await writeFile(
      config,
      JSON.stringify({
        providers: { vertex: { region: "us-east5", credentialsFile: keyFile, baseUrl: `${mock.url}/v1` } },
      }),
    );
    gw = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_CONFIG: config } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => mock.reset());

  it("Anthropic client, Gemini on Vertex: Vertex's countTokens takes the request's fields at the top level", async () => {
    const anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    const counted = await anthropic.messages.countTokens({
      model: "vertex/gemini-2.5-flash",
      system: "Be brief.",
      messages: [{ role: "user", content: "count me" }],
    });
    const [call] = calls();
    assert.equal(call?.path, `${publishers}/google/models/gemini-2.5-flash:countTokens`);
    assert.match(String(call?.headers.authorization), /^Bearer ya29\.mock-/);
    assert.deepEqual(bodyOf(call), {
      contents: [{ role: "user", parts: [{ text: "count me" }] }],
      systemInstruction: { parts: [{ text: "Be brief." }] },
    });
    assert.equal(counted.input_tokens, mockCount(call));
  });

  it("Gemini client, Claude on Vertex: count-tokens:rawPredict with the model and anthropic_version in the body", async () => {
    const genai = new GoogleGenAI({ apiKey: "client-key", httpOptions: { baseUrl: `${gw.url}/genai` } });
    const result = await genai.models.countTokens({ model: "vertex/claude-sonnet-4-5@20250929", contents: "x" });
    const [call] = calls();
    assert.equal(call?.path, `${publishers}/anthropic/models/count-tokens:rawPredict`);
    const body = bodyOf(call);
    assert.equal(body.model, "claude-sonnet-4-5@20250929");
    assert.equal(body.anthropic_version, VERTEX_ANTHROPIC_VERSION);
    assert.equal(result.totalTokens, mockCount(call));
  });
});
