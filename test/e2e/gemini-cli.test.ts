import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, promptFor } from "./support/assert-turn.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { runCli } from "./support/run-cli.ts";
import { startStack } from "./support/stack.ts";

const clis = await cliAvailability();

/**
 * API-key auth (0.61's automatic "gateway" auth type fails validation in headless mode), no usage statistics
 * (Clearcut), no update checks, no IDE integration, no folder-trust prompt.
 */
const SETTINGS = {
  security: { auth: { selectedType: "gemini-api-key" }, folderTrust: { enabled: false } },
  privacy: { usageStatisticsEnabled: false },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  ide: { enabled: false },
  telemetry: { enabled: false },
};

/**
 * Gemini CLI 0.61 refuses any command containing `$(` ("Command injection detected"), which includes the arithmetic
 * `$((6*7))` of the mock's default agent command; this one computes the same marker without it.
 */
const SHELL_COMMAND = 'let "n = 6 * 7"; echo tollgate-e2e-$n';

test("Gemini CLI (gemini -p) runs a shell tool round trip through the gateway", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  await mkdir(join(sandbox.home, ".gemini"), { recursive: true });
  await writeFile(join(sandbox.home, ".gemini", "settings.json"), JSON.stringify(SETTINGS, null, 2));

  // The first call answers with this tool call; the follow-up falls back to the agent scenario ("Tool said: …").
  stack.mock.enqueue({
    scenario: "tool-call",
    toolName: "run_shell_command",
    toolArgs: { command: SHELL_COMMAND, description: "Print the e2e marker" },
  });
  const run = await runCli({
    command: join(clis.binDir, "gemini"),
    // An explicit model skips the "auto" router's classifier calls.
    args: ["-m", "gemini-2.5-flash", "-p", promptFor(SHELL_COMMAND), "--yolo"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      GEMINI_API_KEY: "e2e-gemini-key",
      GOOGLE_GEMINI_BASE_URL: stack.baseUrls.gemini,
      // --yolo would otherwise turn the sandbox (docker/podman) on.
      GEMINI_SANDBOX: "false",
      GEMINI_CLI_TRUST_WORKSPACE: "true",
    }),
  });

  await assertShellRoundTrip(stack, run, { agent: "gemini-cli", sessionHeader: null });
});
