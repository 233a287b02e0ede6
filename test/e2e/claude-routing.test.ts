import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, diagnostics, PROMPT } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { type CliRun, runCli } from "./support/run-cli.ts";
import { type E2eStack, startStack } from "./support/stack.ts";

const clis = await cliAvailability();

function runClaude(stack: E2eStack, binDir: string, secret: string): Promise<CliRun> {
  return runCli({
    command: join(binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: stack.sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: stack.sandbox.env({
      ANTHROPIC_BASE_URL: stack.baseUrls.anthropic,
      ANTHROPIC_AUTH_TOKEN: secret,
      ANTHROPIC_MODEL: "claude-sonnet-4-5",
      ANTHROPIC_DEFAULT_HAIKU_MODEL: "claude-sonnet-4-5",
      ...CLAUDE_QUIET_ENV,
    }),
  });
}

/**
 * Issue 5, acceptance 1 with the real agent: a key-scoped rule `budget_used > 40` sends the key's traffic to Haiku.
 * The first `claude -p` run (a shell-tool round trip) is served by Sonnet; the budget is then set so that run's spend
 * is 50 % of it; the second run crosses into the rule and keeps working, every call served by Haiku.
 */
test("Claude Code keeps working when a budget rule switches its model mid-day", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: 2 * CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  await writeFile(join(stack.sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));

  const key = await stack.admin("POST", "/virtual-keys", { name: "ada" });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const budget = await stack.admin("POST", "/budgets", {
    scopeType: "key",
    scopeId: key.body.id,
    name: "daily",
    limitUsd: "1",
    period: "1d",
  });
  assert.equal(budget.status, 201, JSON.stringify(budget.body));
  const rule = await stack.admin("POST", "/routing-rules", {
    name: "haiku-past-40",
    scope: { type: "key", id: key.body.id },
    expression: "budget_used > 40",
    targets: ["anthropic/claude-haiku-4-5"],
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  const secret = String(key.body.secret);

  const first = await runClaude(stack, clis.binDir, secret);
  await assertShellRoundTrip(stack, first, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
  const firstCalls = stack.mock.requests.length;
  const firstRows = await stack.logs(firstCalls);
  assert.ok(firstRows.every((r) => r.routingRule === null && r.servedModel === "claude-sonnet-4-5"));
  const spent = firstRows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
  assert.ok(spent > 0);
  const patched = await stack.admin("PATCH", `/budgets/${budget.body.id}`, { limitNanoUsd: spent * 2 });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));

  const second = await runClaude(stack, clis.binDir, secret);
  const context = () => diagnostics(stack, second);
  assert.equal(second.exitCode, 0, context());
  const result = JSON.parse(second.stdout) as { is_error?: boolean };
  assert.equal(result.is_error, false, context());
  const secondCalls = stack.mock.requests.slice(firstCalls);
  assert.ok(secondCalls.length >= 2, context());
  for (const call of secondCalls) {
    assert.equal((call.json as { model?: string } | undefined)?.model, "claude-haiku-4-5", context());
  }
  const rows = (await stack.logs(firstCalls + secondCalls.length)).slice(firstRows.length);
  assert.equal(rows.length, secondCalls.length);
  for (const row of rows) {
    assert.deepEqual([row.status, row.routingRule, row.servedModel], [200, "haiku-past-40", "claude-haiku-4-5"]);
    assert.equal(row.requestedModel, "claude-sonnet-4-5");
  }
});
