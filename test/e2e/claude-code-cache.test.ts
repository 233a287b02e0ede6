import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { CLI_TIMEOUT_MS, diagnostics } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { runCli } from "./support/run-cli.ts";
import { startStack } from "./support/stack.ts";

const clis = await cliAvailability();
const PROMPT = "Say hello in exactly three words.";

test("Claude Code: the same prompt twice with tools disabled hits the exact cache on the second run", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: 2 * CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  await writeFile(join(sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  const run = () =>
    runCli({
      command: join(clis.binDir, "claude"),
      args: ["-p", PROMPT, "--output-format", "text", "--tools", ""],
      cwd: sandbox.workDir,
      timeoutMs: CLI_TIMEOUT_MS,
      env: sandbox.env({
        ANTHROPIC_BASE_URL: stack.baseUrls.anthropic,
        ANTHROPIC_AUTH_TOKEN: "sk-e2e-claude-code",
        ANTHROPIC_MODEL: "claude-sonnet-4-5",
        ANTHROPIC_DEFAULT_HAIKU_MODEL: "claude-sonnet-4-5",
        ANTHROPIC_CUSTOM_HEADERS: "x-tollgate-cache: exact",
        ...CLAUDE_QUIET_ENV,
      }),
    });

  const first = await run();
  assert.equal(first.exitCode, 0, `first run failed\n${diagnostics(stack, first)}`);
  const upstreamAfterFirst = stack.mock.requests.filter((r) => r.route === "anthropic-messages").length;
  assert.ok(upstreamAfterFirst >= 1, diagnostics(stack, first));
  const firstRows = await stack.logs(upstreamAfterFirst);

  const second = await run();
  assert.equal(second.exitCode, 0, `second run failed\n${diagnostics(stack, second)}`);
  const upstreamCalls = stack.mock.requests.filter((r) => r.route === "anthropic-messages").length;
  // Every model call of the second run (the main turn included) was answered from the cache.
  assert.equal(upstreamCalls, upstreamAfterFirst, `the second run reached the upstream\n${diagnostics(stack, second)}`);
  const rows = await stack.logs(firstRows.length * 2);
  const hits = rows.slice(firstRows.length);
  assert.ok(hits.length >= 1);
  for (const row of hits) {
    assert.equal(row.status, 200);
    assert.equal(row.costNanoUsd, 0);
    assert.ok(
      row.warnings.some((w) => w.startsWith("cache hit-exact")),
      JSON.stringify(hits, null, 1),
    );
  }
  assert.ok(first.stdout.trim().length > 0);
  assert.equal(second.stdout.trim(), first.stdout.trim());
});
