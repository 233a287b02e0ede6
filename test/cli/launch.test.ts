import assert from "node:assert/strict";
import { mkdir, readdir } from "node:fs/promises";
import { delimiter, join } from "node:path";
import test from "node:test";
import type { AgentName } from "../../src/shared/agent-wiring.ts";
import { CLI_TIMEOUT_MS, diagnostics, PROMPT, promptFor } from "../e2e/support/assert-turn.ts";
import { cliAvailability } from "../e2e/support/cli-install.ts";
import { type CliRun, runCli } from "../e2e/support/run-cli.ts";
import { type E2eStack, startStack } from "../e2e/support/stack.ts";
import { AGENT_MARKER } from "../fixtures/mock-upstream/index.ts";
import { hashTree, LEAK_MARKER, MCP_TOOL, seedHome, xdgEnv } from "./support/agent-homes.ts";
import { startRecordingProxy } from "./support/recording-proxy.ts";
import { MAIN } from "./support/run-tollgate.ts";

/**
 * Acceptance 1 of the CLI issue: `tollgate launch <agent> -- …` runs the real agent through the gateway in a HOME
 * that already holds the developer's own configuration, MCP server, history and logins. Each turn completes (a shell
 * tool round trip), every model call is logged under the key given, the developer's MCP tool is still offered to the
 * model, no file that existed in HOME changed, no provider key from the shell (or the agents' stored logins)
 * reaches the provider or even the gateway (a recorder sits between agent and gateway), and launch's temporary
 * files are gone. Codex also resumes its session through launch (`codex exec resume --last`).
 */

const clis = await cliAvailability();

/** Provider keys in the developer's shell: launch must keep them from the agent. */
const SHELL_KEYS = {
  ANTHROPIC_API_KEY: `sk-ant-api03-${LEAK_MARKER}`,
  OPENAI_API_KEY: `sk-proj-${LEAK_MARKER}`,
  GEMINI_API_KEY: `AIza-${LEAK_MARKER}`,
  GOOGLE_API_KEY: `AIza-${LEAK_MARKER}-google`,
};

/** Gemini CLI 0.61 refuses commands containing `$(`; this prints the same marker (see test/e2e/gemini-cli.test.ts). */
const GEMINI_SHELL_COMMAND = 'let "n = 6 * 7"; echo tollgate-e2e-$n';

interface Case {
  model: string;
  agentArgs: string[];
  /** The agent's own offline settings, as a developer's shell profile might hold them. */
  shellEnv?: Record<string, string>;
  before?: (stack: E2eStack) => void;
}

const CASES: Record<AgentName, Case> = {
  claude: {
    model: "claude-sonnet-4-5",
    agentArgs: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    shellEnv: {
      CLAUDE_CODE_MAX_RETRIES: "0",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1",
      DISABLE_AUTOUPDATER: "1",
    },
  },
  codex: {
    model: "gpt-5",
    // No --ephemeral: the session must land in the developer's own ~/.codex/sessions, for `codex resume`.
    agentArgs: ["exec", "--skip-git-repo-check", "--sandbox", "danger-full-access", "--color", "never", PROMPT],
  },
  gemini: {
    model: "gemini-2.5-flash",
    agentArgs: ["-p", promptFor(GEMINI_SHELL_COMMAND), "--yolo"],
    shellEnv: { GEMINI_SANDBOX: "false", GEMINI_CLI_TRUST_WORKSPACE: "true" },
    before: (stack) =>
      stack.mock.enqueue({
        scenario: "tool-call",
        toolName: "run_shell_command",
        toolArgs: { command: GEMINI_SHELL_COMMAND, description: "Print the e2e marker" },
      }),
  },
  opencode: {
    model: "gpt-4o",
    agentArgs: ["run", PROMPT],
    shellEnv: {
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      npm_config_offline: "true",
    },
  },
};

const MODEL_ROUTES = new Set([
  "anthropic-messages",
  "openai-chat",
  "openai-responses",
  "gemini-generate",
  "gemini-stream",
]);

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before].filter(([path, hash]) => after.get(path) !== hash).map(([path]) => path);
}

for (const agent of Object.keys(CASES) as AgentName[]) {
  const spec = CASES[agent];
  test(`tollgate launch ${agent} runs a turn through the gateway and leaves the developer's HOME as it was`, {
    skip: clis.kind === "skip" ? clis.reason : false,
    timeout: CLI_TIMEOUT_MS + 30_000,
  }, async (t) => {
    if (clis.kind === "skip") return;
    const stack = await startStack();
    t.after(() => stack.close());
    const { sandbox } = stack;
    // The agent talks to the gateway through a recorder, to see the credentials it sends itself.
    const recorder = await startRecordingProxy(new URL(stack.baseUrls.anthropic).origin);
    t.after(() => recorder.close());

    const key = await stack.admin("POST", "/virtual-keys", { name: `${agent}-dev` });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const keyId = String(key.body.id);
    const secret = String(key.body.secret);

    await seedHome(sandbox.home, agent);
    const homeBefore = await hashTree(sandbox.home);
    const tmp = join(sandbox.root, "tmp");
    await mkdir(tmp);
    spec.before?.(stack);

    const base = sandbox.env({});
    const launch = (agentArgs: string[]): Promise<CliRun> =>
      runCli({
        command: process.execPath,
        args: [MAIN, "launch", agent, "--key", secret, "--model", spec.model, "--", ...agentArgs],
        cwd: sandbox.workDir,
        timeoutMs: CLI_TIMEOUT_MS,
        env: {
          ...base,
          ...xdgEnv(sandbox.home),
          PATH: [clis.binDir, base.PATH ?? ""].join(delimiter),
          TMPDIR: tmp,
          TOLLGATE_URL: recorder.url,
          ...SHELL_KEYS,
          ...spec.shellEnv,
        },
      });
    const run = await launch(spec.agentArgs);
    const context = () => diagnostics(stack, run);

    // The turn completed: the agent ran the shell tool and reported its output.
    assert.equal(run.timedOut, false, context());
    assert.equal(run.exitCode, 0, context());
    assert.ok(run.stdout.includes(AGENT_MARKER), `no ${AGENT_MARKER} in the agent's output\n${context()}`);
    assert.deepEqual(stack.proxy.attempts, [], `the agent tried to reach the internet\n${context()}`);

    // Every model call went through the gateway under the key given.
    const modelCalls = stack.mock.requests.filter((r) => MODEL_ROUTES.has(r.route));
    assert.ok(modelCalls.length >= 2, `expected a tool round trip\n${context()}`);
    const rows = await stack.logs(modelCalls.length);
    assert.equal(rows.length, modelCalls.length, context());
    for (const row of rows) {
      assert.deepEqual([row.status, row.virtualKeyId], [200, keyId], `a call not under the key\n${context()}`);
    }

    // The developer's MCP server was still loaded: its tool was offered to the model.
    assert.ok(
      modelCalls.some((r) => r.body.toString("utf8").includes(MCP_TOOL)),
      `the MCP tool ${MCP_TOOL} was not offered to the model\n${context()}`,
    );

    // No credential from the shell or the agents' stored logins reached the provider, nor even the gateway: the
    // agent authenticated with the key alone.
    for (const r of stack.mock.requests) {
      const seen = `${JSON.stringify(r.headers)}\n${r.body.toString("utf8")}`;
      assert.ok(!seen.includes(LEAK_MARKER), `a developer credential reached the provider: ${r.method} ${r.path}`);
    }
    assert.ok(recorder.requests.length >= modelCalls.length, "the agent went through the recorder");
    for (const r of recorder.requests) {
      const seen = `${JSON.stringify(r.headers)}\n${r.body.toString("utf8")}`;
      assert.ok(!seen.includes(LEAK_MARKER), `the agent sent a developer credential: ${r.method} ${r.url}`);
    }

    // Every file that existed in HOME is byte-identical (new ones, e.g. this session's transcript, are fine).
    const homeAfter = await hashTree(sandbox.home);
    assert.deepEqual(changedFiles(homeBefore, homeAfter), [], "files in HOME changed");
    if (agent === "codex") {
      const sessions = [...homeAfter.keys()].filter((p) => p.startsWith(".codex/sessions/") && !homeBefore.has(p));
      assert.equal(sessions.length, 1, `this run's session is in ~/.codex/sessions, for codex resume: ${sessions}`);
      // And resuming it through launch continues that conversation (the tool output is in the next request).
      const earlier = stack.mock.requests.length;
      const resumed = await launch(["exec", "--skip-git-repo-check", "resume", "--last", "What did it print?"]);
      assert.equal(resumed.exitCode, 0, diagnostics(stack, resumed));
      const next = stack.mock.requests.slice(earlier).filter((r) => MODEL_ROUTES.has(r.route));
      assert.ok(next.length >= 1, diagnostics(stack, resumed));
      assert.ok(next[0]?.body.toString("utf8").includes(AGENT_MARKER), "the resumed turn carries the first session");
      assert.deepEqual(changedFiles(homeBefore, await hashTree(sandbox.home)), [], "files in HOME changed");
    }

    // launch's own temporary files are gone.
    const leftovers = (await readdir(tmp)).filter((name) => name.startsWith("tollgate-launch-"));
    assert.deepEqual(leftovers, []);
  });
}
