import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { assertShellRoundTrip, CLI_TIMEOUT_MS, PROMPT } from "./support/assert-turn.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { runCli } from "./support/run-cli.ts";
import { startStack } from "./support/stack.ts";

const clis = await cliAvailability();

/** The bundled OpenAI-compatible provider (any other npm name is installed from the registry at run time). */
function opencodeConfig(baseUrl: string): unknown {
  return {
    model: "tollgate/gpt-4o",
    small_model: "tollgate/gpt-4o",
    autoupdate: false,
    share: "disabled",
    provider: {
      tollgate: {
        npm: "@ai-sdk/openai-compatible",
        name: "Tollgate",
        options: { baseURL: baseUrl, apiKey: "sk-e2e-opencode" },
        models: { "gpt-4o": { name: "gpt-4o", limit: { context: 128000, output: 4096 } } },
      },
    },
  };
}

test("opencode (opencode run) runs a shell tool round trip through the gateway", {
  skip: clis.kind === "skip" ? clis.reason : false,
  timeout: CLI_TIMEOUT_MS + 30_000,
}, async (t) => {
  if (clis.kind === "skip") return;
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  const configDir = join(sandbox.xdgConfig, "opencode");
  await mkdir(configDir, { recursive: true });
  await writeFile(join(configDir, "opencode.json"), JSON.stringify(opencodeConfig(stack.baseUrls.openai), null, 2));

  const run = await runCli({
    command: join(clis.binDir, "opencode"),
    args: ["run", PROMPT],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      // opencode installs @opencode-ai/plugin into its config folder in the background with an embedded npm;
      // offline, that fails at once (harmlessly) instead of trying registry.npmjs.org.
      npm_config_offline: "true",
    }),
  });

  await assertShellRoundTrip(stack, run, { agent: "opencode", sessionHeader: "x-session-id" });
});
