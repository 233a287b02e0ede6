import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, PROMPT } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { runCli } from "./support/run-cli.ts";
import { startStack } from "./support/stack.ts";

const clis = await cliAvailability();

test("Claude Code (claude -p) runs a shell tool round trip through the gateway", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  // Skips the first-run onboarding, whose connectivity check ignores ANTHROPIC_BASE_URL.
  await writeFile(join(sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));

  const run = await runCli({
    command: join(clis.binDir, "claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      ANTHROPIC_BASE_URL: stack.baseUrls.anthropic,
      ANTHROPIC_AUTH_TOKEN: "sk-e2e-claude-code",
      ANTHROPIC_MODEL: "claude-sonnet-4-5",
      ANTHROPIC_DEFAULT_HAIKU_MODEL: "claude-sonnet-4-5",
      ...CLAUDE_QUIET_ENV,
    }),
  });

  await assertShellRoundTrip(stack, run, { agent: "claude-code", sessionHeader: "x-claude-code-session-id" });
});
