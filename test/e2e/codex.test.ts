import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, PROMPT } from "./support/assert-turn.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { codexConfig } from "./support/codex.ts";
import { runCli } from "./support/run-cli.ts";
import { startStack } from "./support/stack.ts";

const clis = await cliAvailability();

test("Codex (codex exec) runs a shell tool round trip through the gateway", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  const codexHome = join(sandbox.home, ".codex");
  await mkdir(codexHome, { recursive: true });
  await writeFile(join(codexHome, "config.toml"), codexConfig(stack.baseUrls.openai));

  const run = await runCli({
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
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({ CODEX_HOME: codexHome, TOLLGATE_E2E_KEY: "sk-e2e-codex" }),
  });

  await assertShellRoundTrip(stack, run, { agent: "codex", sessionHeader: "session-id" });
});
