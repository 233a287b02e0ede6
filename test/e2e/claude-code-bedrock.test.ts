import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
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

/**
 * `claude -p` in Bedrock mode: InvokeModel(-WithResponseStream) to the gateway's /bedrock routes. Without a virtual
 * key it skips AWS auth; with one, the key is its Bedrock API key (AWS_BEARER_TOKEN_BEDROCK → Authorization: Bearer).
 */
async function runClaudeOnBedrock(stack: E2eStack, binDir: string, virtualKey?: string): Promise<CliRun> {
  const { sandbox } = stack;
  await writeFile(join(sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  return runCli({
    command: join(binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      CLAUDE_CODE_USE_BEDROCK: "1",
      ANTHROPIC_BEDROCK_BASE_URL: stack.baseUrls.bedrock,
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
  const run = await runClaudeOnBedrock(stack, clis.binDir);
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
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
  const run = await runClaudeOnBedrock(stack, clis.binDir);
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
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
  const run = await runClaudeOnBedrock(stack, clis.binDir, String(key.body.secret));
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
});
