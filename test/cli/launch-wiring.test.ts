import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PROVIDER_KEY_ENV, wireAgent, wiringAsShell } from "../../src/shared/agent-wiring.ts";
import { runTollgate } from "./support/run-tollgate.ts";

/**
 * `tollgate launch` against stand-in agents: shell scripts named like the real commands that record their
 * arguments and environment, and exit as told. The real agents are driven in launch.test.ts.
 */

const FAKE_AGENT = `#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_OUT.args"
env > "$FAKE_OUT.env"
if [ -n "$GEMINI_CLI_HOME" ]; then cat "$GEMINI_CLI_HOME/.gemini/settings.json" > "$FAKE_OUT.settings"; fi
if [ "$1" = "--settings" ]; then cat "$2" > "$FAKE_OUT.settings"; ls -l "$2" > "$FAKE_OUT.mode"; fi
if [ -n "$FAKE_SIGNAL" ]; then kill -"$FAKE_SIGNAL" $$; fi
exit "\${FAKE_EXIT:-0}"
`;

describe("tollgate launch (stand-in agents)", () => {
  let root: string;
  let bin: string;
  let out: string;
  let home: string;
  let tmp: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "tollgate-launch-test-"));
    bin = join(root, "bin");
    home = join(root, "home");
    tmp = join(root, "tmp");
    out = join(root, "out");
    for (const dir of [bin, home, tmp]) await mkdir(dir);
    for (const agent of ["claude", "codex", "gemini", "opencode"]) {
      await writeFile(join(bin, agent), FAKE_AGENT);
      await chmod(join(bin, agent), 0o755);
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  const launch = (args: string[], env: Record<string, string> = {}) =>
    runTollgate(["launch", ...args], {
      env: {
        PATH: [bin, process.env.PATH ?? ""].join(delimiter),
        HOME: home,
        TMPDIR: tmp,
        FAKE_OUT: out,
        TOLLGATE_URL: "http://gw.internal:9000/",
        ANTHROPIC_API_KEY: "sk-ant-shell",
        OPENAI_API_KEY: "sk-shell",
        GOOGLE_API_KEY: "AIza-shell",
        TOLLGATE_ADMIN_TOKEN: "tg-admin-shell",
        EDITOR: "vim",
        ...env,
      },
    });

  async function recorded(): Promise<{ args: string[]; env: Record<string, string> }> {
    const args = (await readFile(`${out}.args`, "utf8")).split("\n").slice(0, -1);
    const env: Record<string, string> = {};
    for (const line of (await readFile(`${out}.env`, "utf8")).split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return { args, env };
  }

  it("claude: gateway and key in its env and in per-run settings, tier models, shell provider keys gone", async () => {
    const run = await launch(["claude", "--key", "sk-tg-abc", "--model", "mock-main", "--", "-p", "hi there", "--x"]);
    assert.equal(run.code, 0, run.stderr);
    const { args, env } = await recorded();
    assert.equal(args[0], "--settings");
    assert.deepEqual(args.slice(2), ["-p", "hi there", "--x"]);
    assert.equal(env.ANTHROPIC_BASE_URL, "http://gw.internal:9000/anthropic");
    assert.equal(env.ANTHROPIC_AUTH_TOKEN, "sk-tg-abc");
    for (const tier of ["ANTHROPIC_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL"])
      assert.equal(env[tier], "mock-main", tier);
    assert.deepEqual([env.TOLLGATE_URL, env.TOLLGATE_KEY], ["http://gw.internal:9000", "sk-tg-abc"]);
    for (const name of ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GOOGLE_API_KEY", "TOLLGATE_ADMIN_TOKEN"])
      assert.equal(env[name], undefined, name);
    assert.equal(env.EDITOR, "vim", "the rest of the environment stays");

    // The settings file outranks an `env` block in ~/.claude/settings.json; it holds the key, so it is private
    // and gone afterwards.
    const settings = JSON.parse(await readFile(`${out}.settings`, "utf8")) as { env: Record<string, string> };
    assert.equal(settings.env.ANTHROPIC_BASE_URL, "http://gw.internal:9000/anthropic");
    assert.equal(settings.env.ANTHROPIC_AUTH_TOKEN, "sk-tg-abc");
    assert.equal(settings.env.ANTHROPIC_DEFAULT_SONNET_MODEL, "mock-main");
    assert.equal(settings.env.CLAUDE_CODE_USE_BEDROCK, "0");
    assert.match(await readFile(`${out}.mode`, "utf8"), /^-rw------- /);
    assert.deepEqual(await readdir(tmp), []);
  });

  it("claude --statusline: the status line command in the per-run settings", async () => {
    const run = await launch(["claude", "--key", "sk-tg-abc", "--statusline"]);
    assert.equal(run.code, 0, run.stderr);
    const settings = JSON.parse(await readFile(`${out}.settings`, "utf8")) as {
      statusLine: { type: string; command: string };
    };
    assert.equal(settings.statusLine.type, "command");
    assert.match(settings.statusLine.command, /main\.ts statusline$/);
  });

  it("codex: -c overrides for a custom provider (no replacement CODEX_HOME), key in the env_key variable", async () => {
    const run = await launch(["codex", "--key", "sk-tg-abc", "--model", "gpt-5", "--", "exec", "do it"]);
    assert.equal(run.code, 0, run.stderr);
    const { args, env } = await recorded();
    assert.deepEqual(args, [
      "-c",
      'model_providers.tollgate.name="Tollgate"',
      "-c",
      'model_providers.tollgate.base_url="http://gw.internal:9000/v1"',
      "-c",
      'model_providers.tollgate.env_key="TOLLGATE_KEY"',
      "-c",
      'model_providers.tollgate.wire_api="responses"',
      "-c",
      'model_provider="tollgate"',
      "-c",
      'model="gpt-5"',
      "exec",
      "do it",
    ]);
    assert.equal(env.TOLLGATE_KEY, "sk-tg-abc");
    assert.equal(env.CODEX_HOME, undefined);
    assert.equal(env.OPENAI_API_KEY, undefined);
  });

  it("gemini: base URL, key and model in the env; API-key auth through an overlay home that is removed after", async () => {
    await mkdir(join(home, ".gemini"), { recursive: true });
    const own = '{ "ui": { "theme": "GitHub" }, "security": { "auth": { "selectedType": "oauth-personal" } } }\n';
    await writeFile(join(home, ".gemini", "settings.json"), own);
    const run = await launch(["gemini", "--key", "sk-tg-abc", "--model", "gemini-2.5-flash", "--", "-p", "hi"]);
    assert.equal(run.code, 0, run.stderr);
    const { env } = await recorded();
    assert.equal(env.GOOGLE_GEMINI_BASE_URL, "http://gw.internal:9000/genai");
    assert.equal(env.GEMINI_API_KEY, "sk-tg-abc");
    assert.equal(env.GEMINI_MODEL, "gemini-2.5-flash");
    assert.deepEqual(JSON.parse(await readFile(`${out}.settings`, "utf8")), {
      ui: { theme: "GitHub" },
      security: { auth: { selectedType: "gemini-api-key" } },
    });
    assert.equal(await readFile(join(home, ".gemini", "settings.json"), "utf8"), own);
    assert.deepEqual(await readdir(tmp), [], "the overlay is gone");
  });

  it("opencode: a provider through OPENCODE_CONFIG_CONTENT, merged over the developer's own inline config", async () => {
    const run = await launch(["opencode", "--key", "sk-tg-abc", "--model", "gpt-4o", "--", "run", "x"], {
      OPENCODE_CONFIG_CONTENT: JSON.stringify({ theme: "nord", provider: { mine: { name: "Mine" } } }),
    });
    assert.equal(run.code, 0, run.stderr);
    const { env } = await recorded();
    const config = JSON.parse(env.OPENCODE_CONFIG_CONTENT ?? "");
    assert.deepEqual(config, {
      theme: "nord",
      provider: {
        mine: { name: "Mine" },
        tollgate: {
          npm: "@ai-sdk/openai-compatible",
          name: "Tollgate",
          options: { baseURL: "http://gw.internal:9000/v1", apiKey: "{env:TOLLGATE_KEY}" },
          models: { "gpt-4o": { name: "gpt-4o" } },
        },
      },
      model: "tollgate/gpt-4o",
      small_model: "tollgate/gpt-4o",
    });
  });

  it("returns the agent's exit status, and 128+n when a signal ended it", async () => {
    assert.equal((await launch(["claude", "--key", "k"], { FAKE_EXIT: "7" })).code, 7);
    assert.equal((await launch(["claude", "--key", "k"], { FAKE_SIGNAL: "TERM" })).code, 143);
  });

  it("cleans up the gemini overlay when the agent fails too", async () => {
    assert.equal((await launch(["gemini", "--key", "k"], { FAKE_EXIT: "41" })).code, 41);
    assert.deepEqual(await readdir(tmp), []);
  });

  it("explains a missing agent (exit 127) and rejects unknown agents (exit 2)", async () => {
    const missing = await runTollgate(["launch", "claude", "--key", "k"], { env: { PATH: "/nonexistent" } });
    assert.equal(missing.code, 127);
    assert.match(
      missing.stderr,
      /claude \(Claude Code\) is not on PATH; install it with: npm install -g @anthropic-ai\/claude-code/,
    );
    const unknown = await runTollgate(["launch", "cursor"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /choose one of claude, codex, gemini, opencode/);
  });

  it("--print-env prints shell that wires the current shell (eval-able), and starts nothing", async () => {
    await rm(`${out}.args`, { force: true });
    const run = await launch(["claude", "--key", "sk-tg-it's", "--print-env"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^export ANTHROPIC_BASE_URL=http:\/\/gw\.internal:9000\/anthropic$/m);
    assert.match(run.stdout, /^export ANTHROPIC_AUTH_TOKEN='sk-tg-it'\\''s'$/m);
    assert.match(run.stdout, /^unset ANTHROPIC_API_KEY OPENAI_API_KEY /m);
    await assert.rejects(readFile(`${out}.args`), "the agent was not started");
  });

  /** What a shell has after `eval "$(…--print-env)"`, starting from `env`. */
  function evalInShell(script: string, env: Record<string, string>): Record<string, string> {
    const shell = spawnSync("sh", ["-c", 'eval "$(cat)" && env'], { input: script, env, encoding: "utf8" });
    assert.equal(shell.status, 0, shell.stderr);
    const vars: Record<string, string> = {};
    for (const line of shell.stdout.split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return vars;
  }

  it("gemini --print-env: base URL, key and model, provider keys unset, and the settings it still needs", async () => {
    await rm(`${out}.args`, { force: true });
    const run = await launch(["gemini", "--key", "sk-tg-gem", "--model", "gemini-2.5-flash", "--print-env"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^# Gemini CLI through Tollgate$/m);
    assert.match(run.stdout, /^export GOOGLE_GEMINI_BASE_URL=http:\/\/gw\.internal:9000\/genai$/m);
    assert.match(run.stdout, /^export GEMINI_API_KEY=sk-tg-gem$/m);
    assert.match(run.stdout, /^export GEMINI_MODEL=gemini-2\.5-flash$/m);
    assert.match(run.stdout, /^unset .*\bGOOGLE_API_KEY\b.*\bGOOGLE_GENAI_USE_VERTEXAI\b/m);
    assert.ok(run.stdout.includes('#   {"security":{"auth":{"selectedType":"gemini-api-key"}}}\n'), run.stdout);
    assert.match(run.stdout, /^# then run: gemini$/m);
    const shell = evalInShell(run.stdout, { PATH: "/usr/bin:/bin", GOOGLE_API_KEY: "AIza-shell", KEEP: "1" });
    assert.equal(shell.GEMINI_API_KEY, "sk-tg-gem");
    assert.equal(shell.GOOGLE_GEMINI_BASE_URL, "http://gw.internal:9000/genai");
    assert.equal(shell.GOOGLE_API_KEY, undefined);
    assert.equal(shell.KEEP, "1");
    await assert.rejects(readFile(`${out}.args`), "the agent was not started");
  });

  it("opencode --print-env: the inline provider config as one quoted variable; without --model or a model list, exit 2", async () => {
    await rm(`${out}.args`, { force: true });
    const run = await launch(["opencode", "--key", "sk-tg-oc", "--model", "gpt-4o", "--print-env"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^# opencode through Tollgate$/m);
    assert.match(run.stdout, /^export TOLLGATE_KEY=sk-tg-oc$/m);
    assert.match(run.stdout, /^export OPENCODE_CONFIG_CONTENT='\{.*\}'$/m);
    assert.match(run.stdout, /^unset .*\bOPENAI_API_KEY\b/m);
    assert.match(run.stdout, /^# then run: opencode$/m);
    const shell = evalInShell(run.stdout, { PATH: "/usr/bin:/bin", OPENAI_API_KEY: "sk-shell" });
    assert.equal(shell.OPENAI_API_KEY, undefined);
    assert.equal(shell.TOLLGATE_KEY, "sk-tg-oc");
    assert.deepEqual(JSON.parse(shell.OPENCODE_CONFIG_CONTENT ?? ""), {
      provider: {
        tollgate: {
          npm: "@ai-sdk/openai-compatible",
          name: "Tollgate",
          options: { baseURL: "http://gw.internal:9000/v1", apiKey: "{env:TOLLGATE_KEY}" },
          models: { "gpt-4o": { name: "gpt-4o" } },
        },
      },
      model: "tollgate/gpt-4o",
      small_model: "tollgate/gpt-4o",
    });
    await assert.rejects(readFile(`${out}.args`), "the agent was not started");

    // No --model, and nothing answers at the gateway for a model list: a usage error, nothing printed.
    const noModel = await launch(["opencode", "--key", "sk-tg-oc", "--print-env"]);
    assert.equal(noModel.code, 2, noModel.stderr);
    assert.equal(noModel.stdout, "");
    assert.match(noModel.stderr, /opencode needs a model and the gateway at http:\/\/gw\.internal:9000 listed none/);
  });
});

describe("agent wiring (shared with the dashboard)", () => {
  it("never leaves a provider key variable to an agent, and never unsets what it sets", () => {
    for (const agent of ["claude", "codex", "gemini", "opencode"] as const) {
      const wiring = wireAgent(agent, { gatewayUrl: "http://h:1", key: "sk-tg-x" });
      for (const name of PROVIDER_KEY_ENV) {
        assert.ok(wiring.unset.includes(name) || wiring.env[name] === "sk-tg-x", `${agent}: ${name}`);
      }
      for (const name of wiring.unset) assert.equal(wiring.env[name], undefined, `${agent}: ${name}`);
    }
  });

  it("prints Codex's overrides as a command line a shell can run", () => {
    const text = wiringAsShell(wireAgent("codex", { gatewayUrl: "http://h:1/", key: "sk-tg-x" }));
    assert.match(
      text,
      /# then run: codex -c 'model_providers\.tollgate\.name="Tollgate"' .* -c 'model_provider="tollgate"'/,
    );
  });
});
