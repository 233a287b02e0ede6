import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import type { Dialect } from "../../src/dialects/dialect.ts";
import { AGENT_MARKER, type RecordedRequest, type RouteKind } from "../fixtures/mock-upstream/index.ts";
import { CLI_TIMEOUT_MS, diagnostics, PROMPT, promptFor } from "./support/assert-turn.ts";
import { CLAUDE_QUIET_ENV } from "./support/claude.ts";
import { cliAvailability } from "./support/cli-install.ts";
import { codexConfig } from "./support/codex.ts";
import { type CliRun, runCli } from "./support/run-cli.ts";
import { type E2eStack, startStack } from "./support/stack.ts";

/**
 * Each real CLI speaks its own dialect to the gateway while the model it names is served by a provider speaking
 * another one, so the whole turn (tool definitions, the tool call streamed back, the tool result sent up, the final
 * answer) goes through translation both ways.
 */
const clis = await cliAvailability();

interface ProviderWire {
  name: "anthropic" | "openai" | "gemini";
  dialect: Dialect;
  routes: readonly RouteKind[];
  /** The tool outputs a request carries, read the provider's own way (proves the tool result was translated). */
  toolOutputs(body: unknown): string[];
  /** What the real API refuses in a request and the mock does not check. */
  refusals(body: unknown): string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function textOf(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value ?? null);
}

const ANTHROPIC: ProviderWire = {
  name: "anthropic",
  dialect: "anthropic",
  routes: ["anthropic-messages"],
  toolOutputs: (body) =>
    list(isObject(body) ? body.messages : undefined)
      .flatMap((m) => list(isObject(m) ? m.content : undefined))
      .filter((b) => isObject(b) && b.type === "tool_result")
      .map((b) => textOf(isObject(b) ? b.content : undefined)),
  refusals: (body) => {
    if (!isObject(body) || !isObject(body.thinking) || body.thinking.type !== "enabled") return [];
    const budget = body.thinking.budget_tokens;
    const ok = typeof budget === "number" && budget >= 1024 && budget < Number(body.max_tokens);
    return ok ? [] : ["thinking.budget_tokens must be >= 1024 and less than max_tokens"];
  },
};

const OPENAI_CHAT: ProviderWire = {
  name: "openai",
  dialect: "openai-chat",
  routes: ["openai-chat"],
  toolOutputs: (body) =>
    list(isObject(body) ? body.messages : undefined)
      .filter((m) => isObject(m) && m.role === "tool" && typeof m.tool_call_id === "string")
      .map((m) => textOf(isObject(m) ? m.content : undefined)),
  refusals: (body) => {
    if (!isObject(body)) return [];
    const problems: string[] = [];
    // "Invalid 'user': string too long. Expected a string with maximum length 64"
    if (typeof body.user === "string" && body.user.length > 64) problems.push("user longer than 64 characters");
    // "Unsupported parameter: 'reasoning_effort' is not supported with this model."
    if (body.reasoning_effort !== undefined && /^gpt-4/.test(String(body.model))) {
      problems.push(`reasoning_effort sent to ${String(body.model)}, which does not reason`);
    }
    return problems;
  },
};

const GEMINI: ProviderWire = {
  name: "gemini",
  dialect: "gemini",
  routes: ["gemini-generate", "gemini-stream"],
  toolOutputs: (body) =>
    list(isObject(body) ? body.contents : undefined)
      .flatMap((c) => list(isObject(c) ? c.parts : undefined))
      .filter((p) => isObject(p) && isObject(p.functionResponse))
      .map((p) => textOf(isObject(p) && isObject(p.functionResponse) ? p.functionResponse.response : undefined)),
  refusals: () => [],
};

interface CrossExpectation {
  agent: string;
  clientDialect: Dialect;
  provider: ProviderWire;
  /** The model the upstream must be asked for (the `provider/` prefix removed). */
  upstreamModel: string;
}

const ALL_MODEL_ROUTES: ReadonlySet<RouteKind> = new Set<RouteKind>([
  "anthropic-messages",
  "openai-chat",
  "openai-responses",
  "gemini-generate",
  "gemini-stream",
]);

function upstreamModelOf(request: RecordedRequest): string | null {
  if (request.route === "gemini-generate" || request.route === "gemini-stream") {
    return /\/models\/([^:]+):/.exec(request.path)?.[1] ?? null;
  }
  return isObject(request.json) && typeof request.json.model === "string" ? request.json.model : null;
}

/**
 * Like assertShellRoundTrip, across formats: the CLI ran the shell tool and printed the final answer; every upstream
 * call went to the provider's own endpoint, passed the mock's validator for that API and carried the tool output in
 * the provider's tool-result shape; each gateway log row records the client's dialect, the other provider, a
 * success and a price.
 */
async function assertCrossFormatRoundTrip(stack: E2eStack, run: CliRun, expected: CrossExpectation): Promise<void> {
  const context = () => diagnostics(stack, run);
  await dump(expected, stack, run);
  assert.notEqual(expected.clientDialect, expected.provider.dialect, "the test must cross formats");
  assert.equal(run.timedOut, false, `CLI timed out\n${context()}`);
  assert.equal(run.exitCode, 0, `CLI failed\n${context()}`);
  assert.ok(run.stdout.includes(AGENT_MARKER), `CLI output lacks ${AGENT_MARKER}\n${context()}`);
  assert.deepEqual(stack.proxy.attempts, [], `the CLI tried to reach the internet\n${context()}`);

  const modelCalls = stack.mock.requests.filter((r) => ALL_MODEL_ROUTES.has(r.route));
  assert.ok(modelCalls.length >= 2, `expected >= 2 model calls, got ${modelCalls.length}\n${context()}`);
  for (const call of modelCalls) {
    assert.ok(expected.provider.routes.includes(call.route), `upstream call on ${call.route}\n${context()}`);
    // The mock keeps the answering script only for requests its validator (the real API's rules) accepted.
    assert.ok(call.script !== undefined, `the mock rejected ${call.path}\n${context()}`);
    assert.equal(upstreamModelOf(call), expected.upstreamModel, `upstream model\n${context()}`);
    assert.deepEqual(expected.provider.refusals(call.json), [], `the real API would refuse this\n${context()}`);
  }
  const withToolResult = modelCalls.findIndex((r) =>
    expected.provider.toolOutputs(r.json).some((output) => output.includes(AGENT_MARKER)),
  );
  assert.ok(
    withToolResult >= 1,
    `no later call carried the tool output as a ${expected.provider.name} tool result\n${context()}`,
  );

  const rows = await stack.logs(modelCalls.length);
  const rowsText = () => `${context()}\n--- gateway log rows ---\n${JSON.stringify(rows, null, 1)}`;
  assert.equal(rows.length, modelCalls.length, `one log row per model call expected\n${rowsText()}`);
  for (const row of rows) {
    assert.equal(row.status, 200, `log row status\n${rowsText()}`);
    assert.equal(row.dialect, expected.clientDialect, `log row client dialect\n${rowsText()}`);
    assert.equal(row.provider, expected.provider.name, `log row provider\n${rowsText()}`);
    assert.equal(row.agent, expected.agent, `log row agent\n${rowsText()}`);
    assert.ok(row.inputTokens > 0 && row.outputTokens > 0, `log row tokens\n${rowsText()}`);
    assert.equal(row.usageEstimated, false, `log row usage should be the provider's\n${rowsText()}`);
    assert.ok(row.costNanoUsd !== null && row.costNanoUsd > 0, `log row cost\n${rowsText()}`);
  }
}

/** TOLLGATE_E2E_DUMP_DIR=<dir> keeps the CLI's output, the upstream requests and the log rows of each run. */
async function dump(expected: CrossExpectation, stack: E2eStack, run: CliRun): Promise<void> {
  const dir = process.env.TOLLGATE_E2E_DUMP_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const requests = stack.mock.requests.map((r) => ({ path: r.path, route: r.route, headers: r.headers, json: r.json }));
  const rows = await stack.logs(0);
  const name = `cross.${expected.agent}-to-${expected.provider.name}`;
  await writeFile(join(dir, `${name}.json`), JSON.stringify({ run, requests, rows }, null, 2));
}

const skip = clis.kind === "skip" ? clis.reason : false;
const timeout = CLI_TIMEOUT_MS + 30_000;

function binary(name: string): string {
  if (clis.kind === "skip") throw new Error("CLIs not installed");
  return join(clis.binDir, name);
}

async function runClaude(stack: E2eStack, model: string): Promise<CliRun> {
  const { sandbox } = stack;
  await writeFile(join(sandbox.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  return runCli({
    command: binary("claude"),
    args: ["-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      ANTHROPIC_BASE_URL: stack.baseUrls.anthropic,
      ANTHROPIC_AUTH_TOKEN: "sk-e2e-claude-code",
      // Every model Claude Code might pick (main, aliases, background, subagents) is the cross-format one.
      ANTHROPIC_MODEL: model,
      ANTHROPIC_DEFAULT_OPUS_MODEL: model,
      ANTHROPIC_DEFAULT_SONNET_MODEL: model,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
      CLAUDE_CODE_SUBAGENT_MODEL: model,
      ...CLAUDE_QUIET_ENV,
    }),
  });
}

test("Claude Code (Anthropic Messages) → openai/gpt-4.1 (Chat Completions): shell tool round trip", {
  skip,
  timeout,
}, async (t) => {
  const stack = await startStack();
  t.after(() => stack.close());
  const run = await runClaude(stack, "openai/gpt-4.1");
  await assertCrossFormatRoundTrip(stack, run, {
    agent: "claude-code",
    clientDialect: "anthropic",
    provider: OPENAI_CHAT,
    upstreamModel: "gpt-4.1",
  });
});

test("Claude Code (Anthropic Messages) → gemini/gemini-2.5-flash (Gemini API): shell tool round trip", {
  skip,
  timeout,
}, async (t) => {
  const stack = await startStack();
  t.after(() => stack.close());
  const run = await runClaude(stack, "gemini/gemini-2.5-flash");
  await assertCrossFormatRoundTrip(stack, run, {
    agent: "claude-code",
    clientDialect: "anthropic",
    provider: GEMINI,
    upstreamModel: "gemini-2.5-flash",
  });
});

test("Codex (Responses) → anthropic/claude-sonnet-4-5 (Anthropic Messages): shell tool round trip", {
  skip,
  timeout,
}, async (t) => {
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  const codexHome = join(sandbox.home, ".codex");
  await mkdir(codexHome, { recursive: true });
  const config = codexConfig(stack.baseUrls.openai).replace(
    /^model = .*$/m,
    `model = ${JSON.stringify("anthropic/claude-sonnet-4-5")}`,
  );
  await writeFile(join(codexHome, "config.toml"), config);

  const run = await runCli({
    command: binary("codex"),
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
  await assertCrossFormatRoundTrip(stack, run, {
    agent: "codex",
    clientDialect: "openai-responses",
    provider: ANTHROPIC,
    upstreamModel: "claude-sonnet-4-5",
  });
});

/** As in gemini-cli.test.ts: API-key auth, no usage statistics, updates, IDE integration or folder-trust prompt. */
const GEMINI_SETTINGS = {
  security: { auth: { selectedType: "gemini-api-key" }, folderTrust: { enabled: false } },
  privacy: { usageStatisticsEnabled: false },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  ide: { enabled: false },
  telemetry: { enabled: false },
};

/** Gemini CLI refuses `$(` in a command (see gemini-cli.test.ts); this prints the same marker without it. */
const GEMINI_SHELL_COMMAND = 'let "n = 6 * 7"; echo tollgate-e2e-$n';

test("Gemini CLI (Gemini API) → openai/gpt-4.1 (Chat Completions): shell tool round trip", {
  skip,
  timeout,
}, async (t) => {
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  await mkdir(join(sandbox.home, ".gemini"), { recursive: true });
  await writeFile(join(sandbox.home, ".gemini", "settings.json"), JSON.stringify(GEMINI_SETTINGS, null, 2));
  stack.mock.enqueue({
    scenario: "tool-call",
    toolName: "run_shell_command",
    toolArgs: { command: GEMINI_SHELL_COMMAND, description: "Print the e2e marker" },
  });

  const run = await runCli({
    command: binary("gemini"),
    args: ["-m", "openai/gpt-4.1", "-p", promptFor(GEMINI_SHELL_COMMAND), "--yolo"],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      GEMINI_API_KEY: "e2e-gemini-key",
      GOOGLE_GEMINI_BASE_URL: stack.baseUrls.gemini,
      GEMINI_SANDBOX: "false",
      GEMINI_CLI_TRUST_WORKSPACE: "true",
    }),
  });
  await assertCrossFormatRoundTrip(stack, run, {
    agent: "gemini-cli",
    clientDialect: "gemini",
    provider: OPENAI_CHAT,
    upstreamModel: "gpt-4.1",
  });
});

test("opencode (Chat Completions) → claude-sonnet-4-5 (Anthropic Messages): shell tool round trip", {
  skip,
  timeout,
}, async (t) => {
  const stack = await startStack();
  t.after(() => stack.close());
  const { sandbox } = stack;
  const configDir = join(sandbox.xdgConfig, "opencode");
  await mkdir(configDir, { recursive: true });
  // The bundled OpenAI-compatible provider on the gateway's /v1; the bare Claude model name routes to Anthropic.
  const config = {
    model: "tollgate/claude-sonnet-4-5",
    small_model: "tollgate/claude-sonnet-4-5",
    autoupdate: false,
    share: "disabled",
    provider: {
      tollgate: {
        npm: "@ai-sdk/openai-compatible",
        name: "Tollgate",
        options: { baseURL: stack.baseUrls.openai, apiKey: "sk-e2e-opencode" },
        models: { "claude-sonnet-4-5": { name: "claude-sonnet-4-5", limit: { context: 200000, output: 4096 } } },
      },
    },
  };
  await writeFile(join(configDir, "opencode.json"), JSON.stringify(config, null, 2));

  const run = await runCli({
    command: binary("opencode"),
    args: ["run", PROMPT],
    cwd: sandbox.workDir,
    timeoutMs: CLI_TIMEOUT_MS,
    env: sandbox.env({
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      npm_config_offline: "true",
    }),
  });
  await assertCrossFormatRoundTrip(stack, run, {
    agent: "opencode",
    clientDialect: "openai-chat",
    provider: ANTHROPIC,
    upstreamModel: "claude-sonnet-4-5",
  });
});
