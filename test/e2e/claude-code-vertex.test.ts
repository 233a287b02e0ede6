import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { AGENT_MARKER } from "../fixtures/mock-upstream/index.ts";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, diagnostics, PROMPT } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { type CliRun, runCli } from "./support/run-cli.ts";
import { type E2eStack, startStack } from "./support/stack.ts";

const clis = await cliAvailability();
const CLAUDE_ON_VERTEX = "claude-sonnet-4-5@20250929";

/**
 * `claude -p` in Vertex mode: rawPredict / streamRawPredict to the gateway's /vertex routes, Google auth skipped
 * (CLAUDE_CODE_SKIP_VERTEX_AUTH). A virtual key travels as a custom header (ANTHROPIC_CUSTOM_HEADERS), which Claude
 * Code sends in every mode.
 */
async function runClaudeOnVertex(stack: E2eStack, binDir: string, virtualKey?: string): Promise<CliRun> {
  const { sandbox } = stack;
  await writeFile(join(sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  return runCli({
    command: join(binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      CLAUDE_CODE_USE_VERTEX: "1",
      ANTHROPIC_VERTEX_BASE_URL: stack.baseUrls.vertex,
      ANTHROPIC_VERTEX_PROJECT_ID: "tollgate-e2e",
      CLOUD_ML_REGION: "us-east5",
      CLAUDE_CODE_SKIP_VERTEX_AUTH: "1",
      ...(virtualKey ? { ANTHROPIC_CUSTOM_HEADERS: `x-tollgate-key: ${virtualKey}` } : {}),
      ANTHROPIC_MODEL: CLAUDE_ON_VERTEX,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: CLAUDE_ON_VERTEX,
      ...CLAUDE_QUIET_ENV,
    }),
  });
}

test("Claude Code in Vertex mode, served by the Anthropic provider: shell tool round trip over rawPredict SSE", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const run = await runClaudeOnVertex(stack, clis.binDir);
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
  // The Vertex id was served under the Anthropic API's name, and the Vertex body field never left the gateway.
  for (const r of stack.mock.requests.filter((r) => r.route === "anthropic-messages")) {
    const body = r.json as Record<string, unknown>;
    assert.equal(body.model, "claude-sonnet-4-5-20250929");
    assert.equal(body.anthropic_version, undefined);
    assert.equal(body.stream, true);
  }
  const rows = await stack.logs(stack.mock.requests.length);
  assert.ok(rows.every((row) => row.endpoint.startsWith("/vertex/v1/projects/tollgate-e2e/locations/us-east5/")));
});

test("Claude Code in Vertex mode with a virtual key in ANTHROPIC_CUSTOM_HEADERS: attributed, and the key stays home", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const key = await stack.admin("POST", "/virtual-keys", { name: "vertex-mode" });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const run = await runClaudeOnVertex(stack, clis.binDir, String(key.body.secret));
  const context = () => diagnostics(stack, run);
  assert.equal(run.exitCode, 0, `CLI failed\n${context()}`);
  assert.ok(run.stdout.includes(AGENT_MARKER), `CLI output lacks ${AGENT_MARKER}\n${context()}`);
  assert.deepEqual(stack.proxy.attempts, [], `the CLI tried to reach the internet\n${context()}`);
  const rows = await stack.logs(stack.mock.requests.length);
  assert.equal(rows.length, stack.mock.requests.length, context());
  assert.ok(rows.length >= 2, context());
  assert.ok(
    rows.every(
      (row) =>
        row.virtualKeyId === key.body.id &&
        row.status === 200 &&
        row.agent === "claude-code" &&
        row.sessionId !== null &&
        row.outputTokens > 0,
    ),
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
