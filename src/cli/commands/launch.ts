import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import {
  AGENT_LABELS,
  AGENT_PACKAGES,
  AGENTS,
  type AgentName,
  type AgentWiring,
  deepMerge,
  shellQuote,
  wireAgent,
  wiringAsShell,
} from "../../shared/agent-wiring.ts";
import { CliError, EXIT } from "../exit.ts";
import { fetchModelIds, resolveGateway, resolveKey } from "../gateway-client.ts";
import { prepareGeminiOverlay } from "../gemini-overlay.ts";
import { withProgress } from "../progress.ts";

interface LaunchOptions {
  key?: string;
  model?: string;
  gateway?: string;
  printEnv?: boolean;
  statusline?: boolean;
}

function parseAgent(value: string): AgentName {
  if ((AGENTS as readonly string[]).includes(value)) return value as AgentName;
  throw new InvalidArgumentError(`choose one of ${AGENTS.join(", ")}`);
}

export function registerLaunch(program: Command): void {
  program
    .command("launch")
    .description("start a coding agent wired to the gateway (your own config, history and MCP servers stay)")
    .argument("<agent>", `the agent: ${AGENTS.join(", ")}`, parseAgent)
    .argument("[agent-args...]", "arguments for the agent, after --")
    .option("--key <key>", "your Tollgate key (env TOLLGATE_KEY)")
    .option("--model <model>", "use this gateway model for everything the agent asks")
    .option("--gateway <url>", "gateway URL (env TOLLGATE_URL, default http://127.0.0.1:8080)")
    .option("--print-env", "print the wiring as shell commands instead of starting the agent")
    .option("--statusline", "claude: show this session's cost and the key's budget in Claude Code's status line")
    .addHelpText(
      "after",
      `
Examples:
  tollgate launch claude
  tollgate launch codex --model gpt-5 -- exec "fix the failing test"
  tollgate launch gemini --model gemini-2.5-flash -- -p "explain this repo"
  tollgate launch opencode --model claude-sonnet-4-5 -- run "add a README"
  eval "$(tollgate launch claude --print-env)"

Provider API keys in your environment (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, …) are removed from the
agent's environment, so every call goes through the gateway. The exit status is the agent's.`,
    )
    .action(async (agent: AgentName, agentArgs: string[], options: LaunchOptions) => {
      process.exitCode = await launch(agent, agentArgs, options);
    });
}

/** The command line that runs this very CLI, for Claude Code's status line. */
function statusLineCommand(): string {
  const script = process.argv[1];
  const parts = script ? [process.execPath, script, "statusline"] : ["tollgate", "statusline"];
  return parts.map(shellQuote).join(" ");
}

async function launch(agent: AgentName, agentArgs: string[], options: LaunchOptions): Promise<number> {
  const gatewayUrl = resolveGateway(options.gateway);
  const resolved = resolveKey(options.key);
  if (resolved === null) {
    process.stderr.write("tollgate: no key (--key or TOLLGATE_KEY): the gateway must accept anonymous requests\n");
  }
  const key = resolved ?? "tollgate-anonymous";
  if (options.statusline && agent !== "claude") {
    throw new CliError("--statusline is for Claude Code only", EXIT.usage);
  }

  let models: string[] | undefined;
  if (agent === "opencode") {
    // opencode needs its model list in the config; the gateway's own list fills the picker.
    models = await withProgress(`fetching the model list from ${gatewayUrl}`, () =>
      fetchModelIds(gatewayUrl, resolved, 2000),
    ).catch(() => undefined);
    if (!options.model && (models === undefined || models.length === 0)) {
      throw new CliError(
        `opencode needs a model and the gateway at ${gatewayUrl} listed none: pass --model <model>`,
        EXIT.usage,
      );
    }
  }

  const wiring = wireAgent(agent, {
    gatewayUrl,
    key,
    ...(options.model ? { model: options.model } : {}),
    ...(models ? { models } : {}),
    ...(options.statusline ? { statusLineCommand: statusLineCommand() } : {}),
  });

  if (options.printEnv) {
    process.stdout.write(wiringAsShell(wiring));
    return EXIT.ok;
  }
  return run(wiring, agentArgs);
}

/** The agent's environment: the shell's, minus provider keys, plus the wiring. */
function agentEnv(wiring: AgentWiring): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of wiring.unset) delete env[name];
  Object.assign(env, wiring.env);
  // A developer's own inline opencode config stays; the gateway's is merged over it.
  const ownOpencode = process.env.OPENCODE_CONFIG_CONTENT;
  if (wiring.env.OPENCODE_CONFIG_CONTENT && ownOpencode) {
    try {
      const own = JSON.parse(ownOpencode) as unknown;
      const ours = JSON.parse(wiring.env.OPENCODE_CONFIG_CONTENT) as unknown;
      env.OPENCODE_CONFIG_CONTENT = JSON.stringify(deepMerge(own, ours));
    } catch {
      // Not JSON: opencode would reject it anyway; ours alone is used.
    }
  }
  return env;
}

async function run(wiring: AgentWiring, agentArgs: string[]): Promise<number> {
  const env = agentEnv(wiring);
  if (!wiring.settings) return spawnAgent(wiring, [...wiring.args, ...agentArgs], env);
  const tempDir = await mkdtemp(join(tmpdir(), "tollgate-launch-"));
  try {
    if (wiring.agent === "gemini") {
      const overlay = await prepareGeminiOverlay(tempDir, wiring.settings);
      Object.assign(env, overlay.env);
      try {
        return await spawnAgent(wiring, [...wiring.args, ...agentArgs], env);
      } finally {
        await overlay.finish();
      }
    }
    // Claude Code: a settings file for this run (it holds the key: private folder, owner-only file).
    const file = join(tempDir, "settings.json");
    await writeFile(file, `${JSON.stringify(wiring.settings, null, 2)}\n`, { mode: 0o600 });
    return await spawnAgent(wiring, ["--settings", file, ...wiring.args, ...agentArgs], env);
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

function spawnAgent(wiring: AgentWiring, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(wiring.command, args, { stdio: "inherit", env });
    // Ctrl-C reaches the agent directly (same terminal process group); we stay alive to clean up after it.
    // A signal sent to us alone is passed on.
    const forward = (signal: NodeJS.Signals) => () => {
      if (signal !== "SIGINT") child.kill(signal);
    };
    const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((s) => [s, forward(s)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const done = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === "ENOENT") {
        reject(
          new CliError(
            `${wiring.command} (${AGENT_LABELS[wiring.agent]}) is not on PATH; install it with: npm install -g ${AGENT_PACKAGES[wiring.agent]}`,
            127,
          ),
        );
      } else {
        reject(err);
      }
    });
    child.once("exit", (code, signal) => {
      done();
      if (code !== null) resolve(code);
      else resolve(128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
