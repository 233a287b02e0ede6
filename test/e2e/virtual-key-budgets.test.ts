import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, diagnostics, PROMPT } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { codexConfig } from "./support/codex.ts";
import { type CliRun, runCli } from "./support/run-cli.ts";
import { type E2eStack, startStack } from "./support/stack.ts";

const clis = await cliAvailability();

/** Claude Code in -p mode against the gateway; `auth` picks how it authenticates (and what custom headers it adds). */
function runClaude(stack: E2eStack, binDir: string, auth: Record<string, string>): Promise<CliRun> {
  return runCli({
    command: join(binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: stack.sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: stack.sandbox.env({
      ANTHROPIC_BASE_URL: stack.baseUrls.anthropic,
      ANTHROPIC_MODEL: "claude-sonnet-4-5",
      ANTHROPIC_DEFAULT_HAIKU_MODEL: "claude-sonnet-4-5",
      ...CLAUDE_QUIET_ENV,
      ...auth,
    }),
  });
}

async function prepareClaude(stack: E2eStack): Promise<void> {
  await writeFile(join(stack.sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
}

/** GET /tollgate/usage as the key holder sees it. */
async function usage(stack: E2eStack, secret: string) {
  const res = await fetch(`${new URL(stack.baseUrls.anthropic).origin}/tollgate/usage`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as { budgets: { id: string; spentUsd: string; limitUsd: string }[] };
}

/** A daily budget on the key, roomy enough for one CLI turn (the admission estimate reserves up to 1,024 output tokens). */
async function keyBudget(stack: E2eStack, keyId: unknown): Promise<string> {
  const budget = await stack.admin("POST", "/budgets", {
    scopeType: "key",
    scopeId: keyId,
    name: "daily",
    limitUsd: "1",
    period: "1d",
  });
  assert.equal(budget.status, 201, JSON.stringify(budget.body));
  return String(budget.body.id);
}

/** Lowers the budget's limit to exactly what was spent, so the next request cannot be admitted. */
async function exhaust(stack: E2eStack, budgetId: string, rows: readonly RequestLogRecord[]): Promise<number> {
  const spent = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
  assert.ok(spent > 0, "the first run was metered");
  const patched = await stack.admin("PATCH", `/budgets/${budgetId}`, { limitNanoUsd: spent });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  return spent;
}

const EXHAUSTED = /Budget "daily" of key "[^"]+" is exhausted: \$[\d.]+ spent of its \$[\d.]+ 1d limit\. It resets at /;

/**
 * The refused run: the CLI failed and `shown` (what it told the developer) carries the budget message; nothing
 * reached the provider; every refused attempt was logged as a 402. Returns how many attempts the CLI made.
 */
async function assertBudgetRefusal(
  stack: E2eStack,
  run: CliRun,
  shown: string,
  before: { mock: number; rows: number },
): Promise<number> {
  const context = () => diagnostics(stack, run);
  assert.equal(run.timedOut, false, context());
  assert.notEqual(run.exitCode, 0, context());
  assert.match(shown, EXHAUSTED, context());
  assert.equal(stack.mock.requests.length, before.mock, `nothing reached the provider\n${context()}`);
  const refused = (await stack.logs(before.rows + 1)).slice(before.rows);
  assert.ok(refused.length >= 1, context());
  for (const row of refused) assert.deepEqual([row.status, row.errorCode], [402, "TG_BUDGET_EXHAUSTED"]);
  return refused.length;
}

test("Claude Code: a key's budget meters the first run and refuses the next once exhausted, with its message", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: 2 * CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  await prepareClaude(stack);

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
  const budgetId = await keyBudget(stack, key.body.id);

  const run = await runClaude(stack, clis.binDir, { ANTHROPIC_AUTH_TOKEN: secret });
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
  const rows = await stack.logs(1);
  for (const row of rows) {
    assert.deepEqual(
      [row.virtualKeyId, row.developerId, row.teamId, row.customerId],
      [key.body.id, developer.body.id, team.body.id, customer.body.id],
    );
    assert.ok((row.costNanoUsd ?? 0) > 0);
  }
  const spent = await exhaust(stack, budgetId, rows);
  const standing = (await usage(stack, secret)).budgets.find((b) => b.id === budgetId);
  assert.equal(standing?.spentUsd, standing?.limitUsd, `spent ${spent} nano-USD`);

  const before = { mock: stack.mock.requests.length, rows: rows.length };
  const refused = await runClaude(stack, clis.binDir, { ANTHROPIC_AUTH_TOKEN: secret });
  // --output-format json: the text a developer would see is the result's `result`.
  let result: { is_error?: boolean; api_error_status?: number; result?: string } = {};
  try {
    result = JSON.parse(refused.stdout);
  } catch {
    assert.fail(`claude -p printed no JSON result\n${diagnostics(stack, refused)}`);
  }
  assert.deepEqual([result.is_error, result.api_error_status], [true, 402], diagnostics(stack, refused));
  const attempts = await assertBudgetRefusal(stack, refused, result.result ?? "", before);
  t.diagnostic(`claude -p (${attempts} attempt(s)) printed: ${result.result}`);
});

test("Codex: a key's budget meters the first run and refuses the next once exhausted, with its message", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: 2 * CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const codexHome = join(stack.sandbox.home, ".codex");
  await mkdir(codexHome, { recursive: true });
  await writeFile(join(codexHome, "config.toml"), codexConfig(stack.baseUrls.openai));

  const customer = await stack.admin("POST", "/customers", { name: "Acme" });
  const team = await stack.admin("POST", "/teams", { name: "Platform", customerId: customer.body.id });
  const developer = await stack.admin("POST", "/developers", { name: "Grace", teamId: team.body.id });
  const key = await stack.admin("POST", "/virtual-keys", {
    name: "grace",
    teamId: team.body.id,
    developerId: developer.body.id,
  });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const secret = String(key.body.secret);
  const budgetId = await keyBudget(stack, key.body.id);
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
      env: stack.sandbox.env({ CODEX_HOME: codexHome, TOLLGATE_E2E_KEY: secret }),
    });

  const run = await runCodex();
  await assertShellRoundTrip(stack, run, { agent: "codex", sessionHeader: "session-id" });
  const rows = await stack.logs(1);
  for (const row of rows) {
    assert.deepEqual(
      [row.virtualKeyId, row.developerId, row.teamId, row.customerId],
      [key.body.id, developer.body.id, team.body.id, customer.body.id],
    );
    assert.ok((row.costNanoUsd ?? 0) > 0);
  }
  await exhaust(stack, budgetId, rows);

  const before = { mock: stack.mock.requests.length, rows: rows.length };
  const refused = await runCodex();
  const attempts = await assertBudgetRefusal(stack, refused, `${refused.stdout}\n${refused.stderr}`, before);
  const shown = refused.stderr.split("\n").filter((l) => l.startsWith("ERROR:"));
  t.diagnostic(`codex exec (${attempts} attempt(s)) printed: ${shown.join(" | ")}`);
});

test("Claude Code: the developer's own Anthropic key beside the virtual key reaches the provider, metered against the key's budget", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  await prepareClaude(stack);

  const key = await stack.admin("POST", "/virtual-keys", {
    name: "byok",
    credentialPolicy: "allow-own-provider-key",
  });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const secret = String(key.body.secret);
  const budgetId = await keyBudget(stack, key.body.id);
  const ownKey = "sk-ant-api03-developer-own-key-e2e";

  // The own key goes where Claude Code always puts its API key (x-api-key); the virtual key rides in x-tollgate-key.
  const run = await runClaude(stack, clis.binDir, {
    ANTHROPIC_API_KEY: ownKey,
    ANTHROPIC_CUSTOM_HEADERS: `x-tollgate-key: ${secret}`,
  });
  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
  for (const r of stack.mock.requests) {
    const sent = JSON.stringify(r.headers);
    assert.equal(r.headers["x-api-key"], ownKey, `the developer's key reached the provider\n${sent}`);
    assert.ok(!sent.includes("test-anthropic-key"), `not the gateway's provider key\n${sent}`);
    assert.ok(!sent.includes("sk-tg-"), `the virtual key stays home\n${sent}`);
  }
  const rows = await stack.logs(1);
  for (const row of rows) {
    assert.deepEqual([row.virtualKeyId, row.providerKeyId], [key.body.id, "client"]);
    assert.ok((row.costNanoUsd ?? 0) > 0, "metered");
  }
  const spent = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
  const standing = (await usage(stack, secret)).budgets.find((b) => b.id === budgetId);
  assert.ok(Number(standing?.spentUsd) > 0, JSON.stringify(standing));
  assert.equal(Math.round(Number(standing?.spentUsd) * 1e9), spent, "the key's budget took exactly the metered cost");
});
