import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { AnthropicVertex } from "@anthropic-ai/vertex-sdk";
import { anthropicNameOfVertexModel } from "../../src/http/vertex-routes.ts";
import { startMockUpstream, VERTEX_ANTHROPIC_VERSION } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { testServiceAccount } from "../helpers/google-credentials.ts";

const CLAUDE_ON_VERTEX = "claude-sonnet-4-5@20250929";
const PROJECT = "tollgate-test";
const REGION = "us-east5";
const ANTHROPIC_USAGE = { input_tokens: 1000, output_tokens: 200 };
// claude-sonnet-4-5-20250929 (Anthropic and Vertex prices alike): 1000×3 + 200×15 = 6000 USD per million.
const COST_NANO = 6_000_000;

/**
 * What Claude Code does with CLAUDE_CODE_SKIP_VERTEX_AUTH=1: a Google auth that adds no header
 * (its `buildVertexGoogleAuth({kind: "skip"})`).
 */
const SKIP_AUTH = { getClient: async () => ({ getRequestHeaders: async () => new Headers() }) };

function vertexClient(baseURL: string, headers: Record<string, string> = {}): AnthropicVertex {
  return new AnthropicVertex({
    baseURL,
    region: REGION,
    projectId: PROJECT,
    // The SDK's type is google-auth-library's GoogleAuth; this stand-in has the one method it calls.
    googleAuth: SKIP_AUTH as never,
    maxRetries: 0,
    defaultHeaders: headers,
  });
}

const bodyOf = (r: RecordedRequest | undefined) => (r?.json ?? {}) as Record<string, unknown>;

describe("Vertex model ids as the Anthropic API names them", () => {
  it("drops the @ date separator and Vertex's -v2 marker; undated ids and other models", () => {
    assert.equal(anthropicNameOfVertexModel("claude-sonnet-4-5@20250929"), "claude-sonnet-4-5-20250929");
    assert.equal(anthropicNameOfVertexModel("claude-3-5-sonnet-v2@20241022"), "claude-3-5-sonnet-20241022");
    assert.equal(anthropicNameOfVertexModel("claude-opus-4-6"), "claude-opus-4-6");
    assert.equal(anthropicNameOfVertexModel("claude-haiku-4-5@default"), "claude-haiku-4-5");
    assert.equal(anthropicNameOfVertexModel("gemini-2.5-flash"), null);
  });
});

describe("/vertex ingress with the default providers (Claude Code's Vertex mode, no Vertex provider)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let vertex: AnthropicVertex;
  let seen = 0;
  const newRows = async (n: number) => {
    const all = await gw.waitForLogs(seen + n);
    const out = all.slice(seen);
    seen = all.length;
    return out;
  };

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    vertex = vertexClient(`${gw.url}/vertex/v1`);
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("rawPredict: the Vertex Claude id is served as the Anthropic model; the body becomes a Messages request", async () => {
    mock.enqueue({ scenario: "text", text: "hi from anthropic", usage: ANTHROPIC_USAGE });
    const message = await vertex.messages.create(
      { model: CLAUDE_ON_VERTEX, max_tokens: 100, messages: [{ role: "user", content: "hello" }] },
      { headers: { "anthropic-beta": "interleaved-thinking-2025-05-14" } },
    );
    assert.deepEqual(message.content, [{ type: "text", text: "hi from anthropic" }]);
    const sent = mock.requests[0];
    assert.equal(sent?.route, "anthropic-messages");
    assert.deepEqual(sent?.json, {
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 100,
      messages: [{ role: "user", content: "hello" }],
    });
    assert.equal(sent?.headers["anthropic-beta"], "interleaved-thinking-2025-05-14");
    // This SDK moves the API version from the header into the body; it comes back out as the header.
    assert.match(String(sent?.headers["anthropic-version"]), /^\d{4}-\d{2}-\d{2}$/);
    const [row] = await newRows(1);
    assert.equal(row?.provider, "anthropic");
    assert.equal(row?.dialect, "anthropic");
    assert.equal(row?.requestedModel, "claude-sonnet-4-5-20250929");
    assert.equal(
      row?.endpoint,
      `/vertex/v1/projects/${PROJECT}/locations/${REGION}/publishers/anthropic/models/${CLAUDE_ON_VERTEX}:rawPredict`,
    );
    assert.equal(row?.costNanoUsd, COST_NANO);
  });

  it("streamRawPredict: answered as Anthropic SSE the SDK's MessageStream reads; tool call and usage intact", async () => {
    mock.enqueue({
      scenario: "tool-call",
      text: "Running",
      toolName: "Bash",
      toolArgs: { command: "ls" },
      usage: ANTHROPIC_USAGE,
    });
    const stream = vertex.messages.stream({
      model: CLAUDE_ON_VERTEX,
      max_tokens: 100,
      messages: [{ role: "user", content: "list" }],
      tools: [{ name: "Bash", input_schema: { type: "object", properties: { command: { type: "string" } } } }],
    });
    const final = await stream.finalMessage();
    assert.deepEqual(
      final.content.map((b) => (b.type === "tool_use" ? [b.name, b.input] : b.type)),
      ["text", ["Bash", { command: "ls" }]],
    );
    assert.equal(final.stop_reason, "tool_use");
    assert.equal(final.usage.output_tokens, 200);
    assert.equal(bodyOf(mock.requests[0]).stream, true);
    const [row] = await newRows(1);
    assert.equal(row?.stream, true);
    assert.equal(row?.usageEstimated, false);
    assert.equal(row?.costNanoUsd, COST_NANO);
  });

  it("Claude Code's wire shape: vertex-2023-10-16 in the body, betas in the body too, SSE with event lines", async () => {
    mock.enqueue({ scenario: "text", text: "abc def" });
    const path = `/vertex/v1/projects/${PROJECT}/locations/${REGION}/publishers/anthropic/models/${CLAUDE_ON_VERTEX}:streamRawPredict`;
    const res = await fetch(`${gw.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219",
      },
      body: JSON.stringify({
        anthropic_version: VERTEX_ANTHROPIC_VERSION,
        anthropic_beta: ["context-1m-2025-08-07"],
        max_tokens: 50,
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      }),
    });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get("content-type")), /^text\/event-stream/);
    const text = await res.text();
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.equal(events[0], "message_start");
    assert.equal(events.at(-1), "message_stop");
    const sent = mock.requests[0];
    assert.equal(sent?.headers["anthropic-version"], "2023-06-01");
    assert.equal(sent?.headers["anthropic-beta"], "claude-code-20250219,context-1m-2025-08-07");
    const body = bodyOf(sent);
    assert.equal(body.anthropic_version, undefined);
    assert.equal(body.anthropic_beta, undefined);
    assert.equal(body.model, "claude-sonnet-4-5-20250929");
    await newRows(1);
  });

  it("count-tokens:rawPredict: the body's Vertex model is mapped; the count comes back as Anthropic's", async () => {
    const counted = await vertex.messages.countTokens({
      model: CLAUDE_ON_VERTEX,
      messages: [{ role: "user", content: "count me" }],
    });
    const sent = mock.requests[0];
    assert.equal(sent?.route, "anthropic-count-tokens");
    assert.equal(bodyOf(sent).model, "claude-sonnet-4-5-20250929");
    assert.equal(bodyOf(sent).anthropic_version, undefined);
    assert.equal(counted.input_tokens, Math.ceil((sent?.body.length ?? 0) / 4));
    const [row] = await newRows(1);
    assert.equal(row?.costNanoUsd, 0);
  });

  it("a model of another dialect is translated, and answered in Anthropic's shape", async () => {
    mock.enqueue({ scenario: "text", text: "from gemini", usage: { promptTokenCount: 200, candidatesTokenCount: 10 } });
    const message = await vertex.messages.create({
      model: "gemini-2.5-flash",
      max_tokens: 100,
      system: "be brief",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.deepEqual(message.content, [{ type: "text", text: "from gemini" }]);
    assert.equal(message.usage.input_tokens, 200);
    assert.equal(mock.requests[0]?.route, "gemini-generate");
    const [row] = await newRows(1);
    assert.equal(row?.provider, "gemini");
    assert.equal(row?.upstreamDialect, "gemini");
  });

  it("the gateway root works as the base URL too (…/v1/projects/…)", async () => {
    mock.enqueue({ scenario: "text", text: "root" });
    const message = await vertexClient(`${gw.url}/v1`).messages.create({
      model: CLAUDE_ON_VERTEX,
      max_tokens: 10,
      messages: [{ role: "user", content: "x" }],
    });
    assert.deepEqual(message.content, [{ type: "text", text: "root" }]);
    await newRows(1);
  });

  it("an unsupported Vertex path or publisher is a 404 in Anthropic's error shape", async () => {
    const res = await fetch(
      `${gw.url}/vertex/v1/projects/${PROJECT}/locations/${REGION}/publishers/meta/models/llama:rawPredict`,
      { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
    );
    assert.equal(res.status, 404);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, "error");
    assert.equal(body.error.type, "not_found_error");
    assert.match(body.error.message, /publishers\/meta\/models\/llama:rawPredict/);
    assert.equal(mock.requests.length, 0);
    await newRows(1);
  });

  it("a body that is not a JSON object is a 400 before any upstream call", async () => {
    const res = await fetch(
      `${gw.url}/vertex/v1/projects/${PROJECT}/locations/${REGION}/publishers/anthropic/models/${CLAUDE_ON_VERTEX}:rawPredict`,
      { method: "POST", headers: { "content-type": "application/json" }, body: "[1]" },
    );
    assert.equal(res.status, 400);
    assert.equal(mock.requests.length, 0);
    await newRows(1);
  });
});

describe("/vertex ingress to a Vertex provider (both sides Vertex)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;
  const account = testServiceAccount("vertex-ingress");
  const publishers = `/v1/projects/${PROJECT}/locations/us-east5/publishers`;
  const calls = () => mock.requests.filter((r) => r.route !== "google-token");

  before(async () => {
    mock = await startMockUpstream({
      google: { serviceAccounts: [{ clientEmail: account.clientEmail, publicKey: account.publicKeyPem }] },
      cloud: { vertexProject: PROJECT },
    });
    dir = await mkdtemp(join(tmpdir(), "tollgate-vertex-ingress-"));
    const keyFile = await account.writeKeyFile(dir, `${mock.url}/token`);
    const config = join(dir, "tollgate.json");
    await writeFile(
      config,
      JSON.stringify({
        providers: { vertex: { region: "us-east5", credentialsFile: keyFile, baseUrl: `${mock.url}/v1` } },
      }),
    );
    // No Anthropic key: a Claude id can only go to the Vertex provider, which needs no declared models for it.
    gw = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_CONFIG: config, ANTHROPIC_API_KEY: "" } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => mock.reset());

  it("the client's project and region are its own; the provider's are used upstream, with a minted token", async () => {
    mock.enqueue({ scenario: "text", usage: ANTHROPIC_USAGE });
    const client = new AnthropicVertex({
      baseURL: `${gw.url}/vertex/v1`,
      region: "europe-west1",
      projectId: "someone-elses-project",
      googleAuth: SKIP_AUTH as never,
      maxRetries: 0,
    });
    const message = await client.messages.create({
      model: CLAUDE_ON_VERTEX,
      max_tokens: 100,
      messages: [{ role: "user", content: "hello" }],
    });
    assert.equal(message.type, "message");
    const [call] = calls();
    assert.equal(call?.path, `${publishers}/anthropic/models/${CLAUDE_ON_VERTEX}:rawPredict`);
    assert.match(String(call?.headers.authorization), /^Bearer ya29\.mock-/);
    const body = bodyOf(call);
    assert.equal(body.anthropic_version, VERTEX_ANTHROPIC_VERSION);
    assert.equal("model" in body, false);
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.provider, "vertex");
    assert.equal(row?.requestedModel, `vertex/${CLAUDE_ON_VERTEX}`);
    assert.equal(row?.costNanoUsd, COST_NANO);
  });

  it("streams through streamRawPredict and counts tokens through count-tokens:rawPredict", async () => {
    const client = vertexClient(`${gw.url}/vertex/v1`);
    const final = await client.messages
      .stream({ model: CLAUDE_ON_VERTEX, max_tokens: 50, messages: [{ role: "user", content: "stream" }] })
      .finalMessage();
    assert.ok(final.usage.output_tokens > 0);
    const counted = await client.messages.countTokens({
      model: CLAUDE_ON_VERTEX,
      messages: [{ role: "user", content: "count me" }],
    });
    const [streamed, count] = calls();
    assert.equal(streamed?.path, `${publishers}/anthropic/models/${CLAUDE_ON_VERTEX}:streamRawPredict`);
    assert.equal(count?.path, `${publishers}/anthropic/models/count-tokens:rawPredict`);
    assert.equal(bodyOf(count).model, CLAUDE_ON_VERTEX);
    assert.equal(counted.input_tokens, Math.ceil((count?.body.length ?? 0) / 4));
  });
});

describe("/vertex ingress with a virtual key", () => {
  it("the key rides in x-tollgate-key (or as the bearer token), is attributed, and never reaches the provider", async () => {
    const mock = await startMockUpstream();
    const gw = await startTestGateway({ upstreamUrl: mock.url });
    try {
      const created = await fetch(`${gw.url}/api/virtual-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "vertex-mode" }),
      });
      const key = (await created.json()) as { id: string; secret: string };
      const request = {
        model: CLAUDE_ON_VERTEX,
        max_tokens: 10,
        messages: [{ role: "user" as const, content: "x" }],
      };
      const viaHeader = await vertexClient(`${gw.url}/vertex/v1`, { "x-tollgate-key": key.secret }).messages.create(
        request,
      );
      assert.equal(viaHeader.type, "message");
      const viaBearer = await vertexClient(`${gw.url}/vertex/v1`, {
        authorization: `Bearer ${key.secret}`,
      }).messages.create(request);
      assert.equal(viaBearer.type, "message");
      await assert.rejects(vertexClient(`${gw.url}/vertex/v1`).messages.create(request), (err: unknown) => {
        const e = err as { status?: number; error?: { type?: string } };
        return e.status === 401 && e.error?.type === "error";
      });
      const rows = await gw.waitForLogs(3);
      assert.deepEqual(
        rows.map((r) => [r.virtualKeyId, r.status]),
        [
          [key.id, 200],
          [key.id, 200],
          [null, 401],
        ],
      );
      assert.equal(mock.requests.length, 2);
      assert.ok(!JSON.stringify(mock.requests.map((r) => r.headers)).includes("sk-tg-"));
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});
