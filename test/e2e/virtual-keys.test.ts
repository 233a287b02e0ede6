import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, diagnostics, PROMPT } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { codexConfig } from "./support/codex.ts";
import { runCli } from "./support/run-cli.ts";
import { type E2eStack, startStack } from "./support/stack.ts";

const clis = await cliAvailability();

function runClaude(stack: E2eStack, binDir: string, token: string) {
  return runCli({
    command: join(binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: stack.sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: stack.sandbox.env({
      ANTHROPIC_BASE_URL: stack.baseUrls.anthropic,
      ANTHROPIC_AUTH_TOKEN: token,
      ANTHROPIC_MODEL: "claude-sonnet-4-5",
      ANTHROPIC_DEFAULT_HAIKU_MODEL: "claude-sonnet-4-5",
      ...CLAUDE_QUIET_ENV,
    }),
  });
}

test("Claude Code with a virtual key: spend attributed to key, developer, team, customer; a revoked key's message reaches the developer", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: 2 * CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  await writeFile(join(stack.sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));

  const customer = await stack.admin("POST", "/customers", { name: "Acme" });
  const team = await stack.admin("POST", "/teams", { name: "Payments", customerId: customer.body.id });
  const developer = await stack.admin("POST", "/developers", { name: "Ada", teamId: team.body.id });
  const key = await stack.admin("POST", "/virtual-keys", {
    name: "ada",
    teamId: team.body.id,
    developerId: developer.body.id,
  });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const secret = String(key.body.secret);

  const run = await runClaude(stack, clis.binDir, secret);
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
  const rows = await stack.logs(2);
  for (const row of rows) {
    assert.deepEqual(
      [row.virtualKeyId, row.developerId, row.teamId, row.customerId],
      [key.body.id, developer.body.id, team.body.id, customer.body.id],
    );
    assert.ok((row.costNanoUsd ?? 0) > 0);
  }
  for (const r of stack.mock.requests)
    assert.ok(!JSON.stringify(r.headers).includes("sk-tg-"), "the virtual key stays home");

  assert.equal((await stack.admin("POST", `/virtual-keys/${key.body.id}/revoke`)).status, 200);
  const before = stack.mock.requests.length;
  const refused = await runClaude(stack, clis.binDir, secret);
  assert.notEqual(refused.exitCode, 0, diagnostics(stack, refused));
  assert.match(`${refused.stdout}\n${refused.stderr}`, /was revoked/, diagnostics(stack, refused));
  assert.equal(stack.mock.requests.length, before, "nothing reached the provider");
});

test("Codex with a virtual key: attributed, and a revoked key is refused with its message", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: 2 * CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const codexHome = join(stack.sandbox.home, ".codex");
  await mkdir(codexHome, { recursive: true });
  await writeFile(join(codexHome, "config.toml"), codexConfig(stack.baseUrls.openai));
  const key = await stack.admin("POST", "/virtual-keys", { name: "codex-ci" });
  const runCodex = () =>
    runCli({
      command: join(clis.binDir, "codex"),
      args: [
        "exec",
        "--skip-git-repo-check",
        "--sandbox",
        "danger-full-access",
        "--ephemeral",
        "--color",
        "never",
        PROMPT,
      ],
      cwd: stack.sandbox.workDir,
      timeoutMs: CLI_TIMEOUT_MS,
      env: stack.sandbox.env({ CODEX_HOME: codexHome, TOLLGATE_E2E_KEY: String(key.body.secret) }),
    });

  const run = await runCodex();
  await assertShellRoundTrip(stack, run, { agent: "codex", sessionHeader: "session-id" });
  for (const row of await stack.logs(2)) assert.equal(row.virtualKeyId, key.body.id);

  await stack.admin("POST", `/virtual-keys/${key.body.id}/revoke`);
  const refused = await runCodex();
  assert.notEqual(refused.exitCode, 0, diagnostics(stack, refused));
  assert.match(`${refused.stdout}\n${refused.stderr}`, /was revoked/, diagnostics(stack, refused));
});
