import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

type Json = Record<string, unknown>;

/**
 * What Claude Code sends for its small "background" model (titles, summaries): `?beta=true`, the beta header, a
 * session id, the attribution block first in `system`, streaming (CLIENTS.md §1.2).
 */
function claudeCodeClient(baseURL: string, secret: string | null): Anthropic {
  return new Anthropic({
    ...(secret ? { authToken: secret } : { authToken: "anything" }),
    apiKey: null,
    baseURL,
    maxRetries: 0,
    defaultHeaders: {
      "x-claude-code-session-id": randomUUID(),
      "user-agent": "claude-cli/2.1.197 (external, cli)",
      "x-app": "cli",
    },
  });
}

async function haikuCall(client: Anthropic, model = "claude-haiku-4-5-20251001") {
  const stream = client.beta.messages.stream({
    model,
    max_tokens: 512,
    betas: ["claude-code-20250219", "interleaved-thinking-2025-05-14"],
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197.abc; cc_entrypoint=cli;" },
      {
        type: "text",
        text: "Summarize this coding conversation in under 50 characters.",
        cache_control: { type: "ephemeral" },
      },
    ],
    messages: [{ role: "user", content: [{ type: "text", text: "Please fix the failing login test" }] }],
    metadata: { user_id: "user_abc_account__session_123" },
  });
  return stream.finalMessage();
}

describe("model aliases (config file, key, team) on the data plane", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;
  let api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Json }>;

  before(async () => {
    mock = await startMockUpstream();
    dir = await mkdtemp(join(tmpdir(), "tollgate-aliases-"));
    const configPath = join(dir, "tollgate.yaml");
    await writeFile(
      configPath,
      [
        "aliases:",
        '  - { match: "claude-haiku-*", to: "openai/gpt-4.1" }',
        '  - { match: "claude-3-5-haiku*", to: "groq/llama-3.1-8b-instant" }',
        "",
      ].join("\n"),
    );
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: {
        TOLLGATE_CONFIG: configPath,
        GROQ_API_KEY: "test-groq-key",
        TOLLGATE_GROQ_BASE_URL: `${mock.url}/groq/v1`,
      },
    });
    api = async (method, path, body) => {
      const res = await fetch(`${gw.url}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${gw.adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => mock.reset());

  it("serves Claude Code's haiku calls from the config alias's target, translated, answered in Anthropic shape", async () => {
    const client = claudeCodeClient(`${gw.url}/anthropic`, null);
    const message = await haikuCall(client);
    assert.equal(message.type, "message");
    assert.equal(message.role, "assistant");
    assert.equal(message.model, "claude-haiku-4-5-20251001", "the client sees the model it asked for");
    assert.equal(message.content[0]?.type, "text");
    assert.ok(message.usage.output_tokens > 0);

    assert.equal(mock.requests.length, 1);
    const upstream = mock.requests[0];
    assert.equal(upstream?.route, "openai-chat", "an OpenAI Chat Completions call, not Anthropic Messages");
    assert.match(upstream?.path ?? "", /^\/v1\/chat\/completions/);
    const body = upstream?.json as Json;
    assert.equal(body.model, "gpt-4.1");
    assert.equal(body.stream, true);
    const messages = body.messages as Json[];
    assert.equal(messages[0]?.role, "system");
    assert.doesNotMatch(JSON.stringify(messages[0]), /x-anthropic-billing-header/, "Anthropic-only block dropped");

    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.requestedModel, "claude-haiku-4-5-20251001", "the log keeps what the client sent");
    assert.equal(row?.servedModel, "gpt-4.1");
    assert.equal(row?.provider, "openai");
    assert.equal(row?.dialect, "anthropic");
    assert.equal(row?.status, 200);
  });

  it("takes the first matching alias, and leaves unmatched models alone", async () => {
    const client = claudeCodeClient(`${gw.url}/anthropic`, null);
    await haikuCall(client, "claude-3-5-haiku-20241022");
    assert.match(mock.requests[0]?.path ?? "", /^\/groq\/v1\/chat\/completions/);
    assert.equal(((mock.requests[0]?.json ?? {}) as Json).model, "llama-3.1-8b-instant");

    mock.reset();
    await haikuCall(client, "claude-sonnet-4-6");
    assert.equal(mock.requests[0]?.route, "anthropic-messages", "no alias: the Anthropic passthrough");
    assert.equal(((mock.requests[0]?.json ?? {}) as Json).model, "claude-sonnet-4-6");
  });

  it("works with ANTHROPIC_DEFAULT_HAIKU_MODEL=openai/gpt-4.1 (provider/model sent by the client itself)", async () => {
    const client = claudeCodeClient(`${gw.url}/anthropic`, null);
    const message = await haikuCall(client, "openai/gpt-4.1");
    assert.equal(message.content[0]?.type, "text");
    assert.equal(mock.requests[0]?.route, "openai-chat");
    assert.equal(((mock.requests[0]?.json ?? {}) as Json).model, "gpt-4.1");
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.requestedModel, "openai/gpt-4.1");
    assert.equal(row?.provider, "openai");
  });

  it("lets a key's aliases override the config file's, and a team's apply to its keys", async () => {
    const team = await api("POST", "/teams", {
      name: "Platform",
      modelAliases: [
        { match: "claude-haiku-*", to: "gemini/gemini-2.5-flash" },
        { match: "claude-sonnet-*", to: "openai/gpt-4.1-mini" },
      ],
    });
    assert.equal(team.status, 201, JSON.stringify(team.body));
    assert.deepEqual(team.body.modelAliases, [
      { match: "claude-haiku-*", to: "gemini/gemini-2.5-flash" },
      { match: "claude-sonnet-*", to: "openai/gpt-4.1-mini" },
    ]);
    const own = await api("POST", "/virtual-keys", {
      name: "ada",
      teamId: team.body.id,
      modelAliases: [{ match: "claude-haiku-*", to: "openai/gpt-4.1-nano" }],
    });
    const plain = await api("POST", "/virtual-keys", { name: "bob", teamId: team.body.id });
    const loner = await api("POST", "/virtual-keys", { name: "carol" });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    assert.deepEqual(own.body.modelAliases, [{ match: "claude-haiku-*", to: "openai/gpt-4.1-nano" }]);
    assert.deepEqual(plain.body.modelAliases, []);

    const served = async (secret: unknown, model: string) => {
      mock.reset();
      await haikuCall(claudeCodeClient(`${gw.url}/anthropic`, String(secret)), model);
      const req = mock.requests[0];
      return `${req?.route} ${req?.route === "gemini-stream" ? req.path : ((req?.json ?? {}) as Json).model}`;
    };
    // The key's own alias beats its team's and the config file's.
    assert.equal(await served(own.body.secret, "claude-haiku-4-5"), "openai-chat gpt-4.1-nano");
    // The team's alias applies to a key without one of its own (and beats the config file's)…
    assert.match(
      await served(plain.body.secret, "claude-haiku-4-5"),
      /^gemini-stream \/v1beta\/models\/gemini-2\.5-flash:/,
    );
    // …and to the key with its own list, for models that list does not match.
    assert.equal(await served(own.body.secret, "claude-sonnet-4-6"), "openai-chat gpt-4.1-mini");
    // A key outside the team falls back to the config file's alias.
    assert.equal(await served(loner.body.secret, "claude-haiku-4-5"), "openai-chat gpt-4.1");

    // Changed through the API: effective on the next request (the snapshot reloads before the reply).
    const patched = await api("PATCH", `/virtual-keys/${own.body.id}`, { modelAliases: [] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.match(await served(own.body.secret, "claude-haiku-4-5"), /^gemini-stream /);

    const rows = await gw.logs();
    assert.ok(rows.slice(-5).every((r) => r.requestedModel?.startsWith("claude-")));
  });

  it("checks the key's allowed models against the alias's target", async () => {
    const onlyGpt = await api("POST", "/virtual-keys", {
      name: "restricted",
      allowedModels: ["gpt-4.1"],
      modelAliases: [{ match: "claude-opus-*", to: "anthropic/claude-opus-4-1" }],
    });
    assert.equal(onlyGpt.status, 201, JSON.stringify(onlyGpt.body));
    const client = claudeCodeClient(`${gw.url}/anthropic`, String(onlyGpt.body.secret));
    // claude-haiku-* is not in the allow-list, but its target (openai/gpt-4.1) is.
    const ok = await haikuCall(client, "claude-haiku-4-5");
    assert.equal(ok.content[0]?.type, "text");

    mock.reset();
    await assert.rejects(haikuCall(client, "claude-opus-4-6"), (err: unknown) => {
      assert.ok(err instanceof Anthropic.PermissionDeniedError);
      assert.match(err.message, /may not use model \\"claude-opus-4-1\\" \(allowed: gpt-4\.1\)/);
      return true;
    });
    assert.equal(mock.requests.length, 0);
    const row = (await gw.waitForLogs(1)).at(-1);
    assert.equal(row?.status, 403);
    assert.equal(row?.requestedModel, "claude-opus-4-6");
  });
});

describe("model aliases declared in the config file's governance section", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;
  const secret = `sk-tg-${randomBytes(32).toString("base64url")}`;

  before(async () => {
    mock = await startMockUpstream();
    dir = await mkdtemp(join(tmpdir(), "tollgate-aliases-seed-"));
    const configPath = join(dir, "tollgate.json");
    await writeFile(
      configPath,
      JSON.stringify({
        aliases: [{ match: "claude-*", to: "anthropic/claude-sonnet-4-6" }],
        governance: {
          teams: [{ name: "mobile", modelAliases: [{ match: "claude-haiku-*", to: "openai/gpt-4.1-mini" }] }],
          virtualKeys: [{ name: "ci", team: "mobile", keyEnv: "TEST_CI_KEY" }],
        },
      }),
    );
    gw = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_CONFIG: configPath, TEST_CI_KEY: secret } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies a declared team's aliases to its declared key", async () => {
    await haikuCall(claudeCodeClient(`${gw.url}/anthropic`, secret), "claude-haiku-4-5");
    assert.equal(mock.requests[0]?.route, "openai-chat");
    assert.equal(((mock.requests[0]?.json ?? {}) as Json).model, "gpt-4.1-mini");
    mock.reset();
    await haikuCall(claudeCodeClient(`${gw.url}/anthropic`, secret), "claude-opus-4-6");
    assert.equal(((mock.requests[0]?.json ?? {}) as Json).model, "claude-sonnet-4-6", "then the config file's");
  });
});
