import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { Socket } from "node:net";
import { join } from "node:path";
import test from "node:test";
import { MOCK_AWS_CREDENTIALS, MOCK_AWS_REGION } from "../fixtures/mock-upstream/bedrock/index.ts";
import { AGENT_MARKER } from "../fixtures/mock-upstream/index.ts";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, diagnostics, PROMPT } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { type CliRun, runCli } from "./support/run-cli.ts";
import { type E2eStack, startStack } from "./support/stack.ts";

const clis = await cliAvailability();
const CLAUDE_ON_BEDROCK = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

/** What the CLI asked the gateway's /bedrock routes for, and the content type it got back. */
interface SeenExchange {
  path: string;
  status: number;
  contentType: string | null;
}

interface BedrockTap {
  /** Claude Code's ANTHROPIC_BEDROCK_BASE_URL: the gateway's /bedrock, through this tap. */
  baseUrl: string;
  seen: SeenExchange[];
  close(): Promise<void>;
}

/** A pass-through proxy between the CLI and the gateway that records each response's status and content type. */
async function startBedrockTap(stack: E2eStack): Promise<BedrockTap> {
  const target = new URL(stack.baseUrls.bedrock);
  const seen: SeenExchange[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const upstream = request(
      new URL(req.url ?? "/", target.origin),
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        const type = answer.headers["content-type"];
        seen.push({
          path: new URL(req.url ?? "/", target.origin).pathname,
          status: answer.statusCode ?? 0,
          contentType: type === undefined ? null : (type.split(";")[0]?.trim() ?? null),
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return {
    baseUrl: `http://127.0.0.1:${address.port}${target.pathname}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const BEDROCK_ENDPOINT = /^\/bedrock\/model\/[^/]+\/(invoke|invoke-with-response-stream)$/;
const EVENT_STREAM = "application/vnd.amazon.eventstream";

/**
 * Every model call went through the gateway's /bedrock routes (log row endpoints), Claude Code's turns streamed
 * through InvokeModelWithResponseStream, and each streamed reply reached the CLI as an AWS event stream.
 */
async function assertBedrockRoute(stack: E2eStack, tap: BedrockTap, run: CliRun): Promise<void> {
  const context = () => `${diagnostics(stack, run)}\n--- seen by the tap ---\n${JSON.stringify(tap.seen, null, 1)}`;
  const rows = await stack.logs(stack.mock.requests.length);
  assert.ok(rows.length > 0, context());
  for (const row of rows) {
    assert.match(row.endpoint, BEDROCK_ENDPOINT, `log row endpoint\n${context()}`);
    assert.equal(row.stream, row.endpoint.endsWith("/invoke-with-response-stream"), `log row stream\n${context()}`);
  }
  const turns = rows.filter((row) => row.agent === "claude-code");
  assert.ok(turns.length >= 2, `Claude Code's turns are logged\n${context()}`);
  for (const row of turns) {
    assert.match(row.endpoint, /\/invoke-with-response-stream$/, `turns use the streaming route\n${context()}`);
  }
  const streamed = tap.seen.filter((s) => s.path.endsWith("/invoke-with-response-stream"));
  assert.equal(
    streamed.length,
    rows.filter((r) => r.stream).length,
    `one streamed reply per streamed row\n${context()}`,
  );
  for (const s of streamed) {
    assert.deepEqual([s.status, s.contentType], [200, EVENT_STREAM], `the CLI got an AWS event stream\n${context()}`);
  }
  for (const s of tap.seen.filter((x) => x.path.endsWith("/invoke"))) {
    assert.deepEqual([s.status, s.contentType], [200, "application/json"], `InvokeModel answers JSON\n${context()}`);
  }
}

/**
 * `claude -p` in Bedrock mode: InvokeModel(-WithResponseStream) to the gateway's /bedrock routes. Without a virtual
 * key it skips AWS auth; with one, the key is its Bedrock API key (AWS_BEARER_TOKEN_BEDROCK → Authorization: Bearer).
 */
async function runClaudeOnBedrock(
  stack: E2eStack,
  binDir: string,
  tap: BedrockTap,
  virtualKey?: string,
): Promise<CliRun> {
  const { sandbox } = stack;
  await writeFile(join(sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  return runCli({
    command: join(binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      CLAUDE_CODE_USE_BEDROCK: "1",
      ANTHROPIC_BEDROCK_BASE_URL: tap.baseUrl,
      ...(virtualKey ? { AWS_BEARER_TOKEN_BEDROCK: virtualKey } : { CLAUDE_CODE_SKIP_BEDROCK_AUTH: "1" }),
      AWS_REGION: MOCK_AWS_REGION,
      ANTHROPIC_MODEL: CLAUDE_ON_BEDROCK,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: CLAUDE_ON_BEDROCK,
      ...CLAUDE_QUIET_ENV,
    }),
  });
}

test("Claude Code in Bedrock mode, served by the Anthropic provider: shell tool round trip over AWS event streams", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const tap = await startBedrockTap(stack);
  t.after(() => tap.close());
  const run = await runClaudeOnBedrock(stack, clis.binDir, tap);
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
  await assertBedrockRoute(stack, tap, run);
});

test("Claude Code in Bedrock mode, served by a Bedrock provider: the gateway re-signs with its AWS credentials", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack({
    gatewayEnv: {
      AWS_ACCESS_KEY_ID: MOCK_AWS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOCK_AWS_CREDENTIALS.secretAccessKey,
      AWS_REGION: MOCK_AWS_REGION,
    },
  });
  t.after(() => stack.close());
  const tap = await startBedrockTap(stack);
  t.after(() => tap.close());
  const run = await runClaudeOnBedrock(stack, clis.binDir, tap);
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
  await assertBedrockRoute(stack, tap, run);
  // The gateway re-signed for its own Bedrock provider: the mock was called on InvokeModel(-WithResponseStream).
  assert.ok(
    stack.mock.requests.every((r) => r.route === "bedrock-invoke" || r.route === "bedrock-invoke-stream"),
    diagnostics(stack, run),
  );
});

test("Claude Code in Bedrock mode with a virtual key as its Bedrock API key: attributed, and the key stays home", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const key = await stack.admin("POST", "/virtual-keys", { name: "bedrock-mode" });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const tap = await startBedrockTap(stack);
  t.after(() => tap.close());
  const run = await runClaudeOnBedrock(stack, clis.binDir, tap, String(key.body.secret));
  const context = () => diagnostics(stack, run);
  assert.equal(run.exitCode, 0, `CLI failed\n${context()}`);
  assert.ok(run.stdout.includes(AGENT_MARKER), `CLI output lacks ${AGENT_MARKER}\n${context()}`);
  assert.deepEqual(stack.proxy.attempts, [], `the CLI tried to reach the internet\n${context()}`);
  // With a Bedrock API key, Claude Code first probes its models (max_tokens 1) with its bundled Bedrock SDK, whose
  // user agent names no agent; the turns themselves are Claude Code's.
  const rows = await stack.logs(stack.mock.requests.length);
  assert.equal(rows.length, stack.mock.requests.length, context());
  assert.ok(
    rows.every((row) => row.virtualKeyId === key.body.id && row.status === 200),
    JSON.stringify(rows),
  );
  const turns = rows.filter((row) => row.agent === "claude-code");
  assert.ok(
    turns.length >= 2 && turns.every((row) => row.sessionId !== null && row.outputTokens > 0),
    JSON.stringify(rows),
  );
  assert.ok(
    stack.mock.requests.some((r) => r.body.toString("utf8").includes(AGENT_MARKER)),
    `no model call carried the tool output\n${context()}`,
  );
  for (const r of stack.mock.requests) {
    assert.ok(!JSON.stringify(r.headers).includes("sk-tg-"), "the virtual key never reaches the provider");
  }
  await assertBedrockRoute(stack, tap, run);
});
