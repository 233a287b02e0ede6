/**
 * How each coding agent is pointed at a Tollgate gateway: the environment, command-line arguments and settings
 * snippets, as data. `tollgate launch` applies them; `--print-env`, `tollgate setup` and a dashboard show them.
 * Pure (no Node APIs) so a browser bundle can use it too. Background: shared/CLIENTS.md.
 */

export const AGENTS = ["claude", "codex", "gemini", "opencode"] as const;
export type AgentName = (typeof AGENTS)[number];

export const AGENT_LABELS: Readonly<Record<AgentName, string>> = {
  claude: "Claude Code",
  codex: "Codex CLI",
  gemini: "Gemini CLI",
  opencode: "opencode",
};

/** The npm package that provides each agent's command, for "not found" hints. */
export const AGENT_PACKAGES: Readonly<Record<AgentName, string>> = {
  claude: "@anthropic-ai/claude-code",
  codex: "@openai/codex",
  gemini: "@google/gemini-cli",
  opencode: "opencode-ai",
};

export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080";

/** What the launched agent (and `tollgate statusline` run by it) reads to find the gateway and the key. */
export const GATEWAY_URL_ENV = "TOLLGATE_URL";
export const KEY_ENV = "TOLLGATE_KEY";

/** The provider id the agents' configs get (Codex `model_providers.<id>`, opencode `provider.<id>`). */
export const PROVIDER_ID = "tollgate";

/**
 * Provider credentials a developer's shell may hold. None of them reaches the agent: with one the agent could
 * call the provider directly, around the gateway's budgets and logs. The admin token has no business there either.
 */
export const PROVIDER_KEY_ENV = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "OPENAI_API_KEY",
  "CODEX_API_KEY",
  "AZURE_OPENAI_API_KEY",
  "GEMINI_API_KEY",
  "GOOGLE_API_KEY",
  "GOOGLE_GENAI_API_KEY",
  "AWS_BEARER_TOKEN_BEDROCK",
  "OPENROUTER_API_KEY",
  "MISTRAL_API_KEY",
  "GROQ_API_KEY",
  "XAI_API_KEY",
  "DEEPSEEK_API_KEY",
  "TOLLGATE_ADMIN_TOKEN",
] as const;

/** Settings that would send an agent to another backend than the gateway. */
const ROUTE_AROUND_ENV: Readonly<Record<AgentName, readonly string[]>> = {
  claude: [
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CODE_USE_ANTHROPIC_AWS",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_VERTEX_BASE_URL",
    "ANTHROPIC_FOUNDRY_BASE_URL",
  ],
  codex: ["OPENAI_BASE_URL"],
  gemini: ["GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA", "GOOGLE_VERTEX_BASE_URL"],
  opencode: [],
};

export interface WiringInput {
  /** The gateway's root URL (a path prefix is kept), e.g. `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  /** The Tollgate key (sk-tg-…) the agent authenticates with. */
  key: string;
  /** One model for everything the agent asks (main, fast and subagent tiers). */
  model?: string;
  /** opencode: the models its picker lists under the gateway (the gateway's own list). */
  models?: readonly string[];
  /** Claude Code: the command its status line runs (`tollgate statusline`); no status line when absent. */
  statusLineCommand?: string;
}

export interface AgentWiring {
  agent: AgentName;
  /** The executable. */
  command: string;
  /** Variables to set. */
  env: Record<string, string>;
  /** Inherited variables to remove (never one that `env` sets). */
  unset: string[];
  /** Arguments placed before the developer's own. */
  args: string[];
  /**
   * Settings the agent needs above the developer's own, for this run only; `launch` never edits their files:
   * Claude Code gets them in a temporary file passed with `--settings` (it holds the key, so not in the arguments),
   * Gemini CLI through an overlay home (see cli/gemini-overlay.ts).
   */
  settings: Record<string, unknown> | null;
}

export function trimGatewayUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

/** TOML basic string (JSON's escapes are a subset TOML accepts). */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

/** The wiring of one agent. Nothing here touches the developer's own config files. */
export function wireAgent(agent: AgentName, input: WiringInput): AgentWiring {
  const gateway = trimGatewayUrl(input.gatewayUrl);
  const env: Record<string, string> = { [GATEWAY_URL_ENV]: gateway, [KEY_ENV]: input.key };
  const args: string[] = [];
  let settings: Record<string, unknown> | null = null;
  const model = input.model;

  switch (agent) {
    case "claude": {
      // Claude Code appends /v1/messages; the Bearer token is the Tollgate key.
      env.ANTHROPIC_BASE_URL = `${gateway}/anthropic`;
      env.ANTHROPIC_AUTH_TOKEN = input.key;
      if (model) {
        for (const name of [
          "ANTHROPIC_MODEL",
          "ANTHROPIC_DEFAULT_OPUS_MODEL",
          "ANTHROPIC_DEFAULT_SONNET_MODEL",
          "ANTHROPIC_DEFAULT_HAIKU_MODEL",
          "CLAUDE_CODE_SUBAGENT_MODEL",
        ]) {
          env[name] = model;
        }
      }
      // The `env` of the developer's settings.json overrides the process environment, so the wiring goes in
      // settings passed with `--settings` too, which rank above user and project settings. The cloud switches are
      // made false there, for a settings file may turn them on.
      const claudeEnv: Record<string, string> = { ...env };
      for (const name of ["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY"]) {
        claudeEnv[name] = "0";
      }
      settings = { env: claudeEnv };
      if (input.statusLineCommand) {
        settings.statusLine = { type: "command", command: input.statusLineCommand, padding: 0 };
      }
      break;
    }
    case "codex": {
      // `-c` overrides apply to this run only, so ~/.codex (config, history, sessions for `codex resume`,
      // MCP servers, login) stays the developer's own. Codex sends the env_key's value as a Bearer token.
      const provider = `model_providers.${PROVIDER_ID}`;
      const overrides: Array<[string, string]> = [
        [`${provider}.name`, "Tollgate"],
        [`${provider}.base_url`, `${gateway}/v1`],
        [`${provider}.env_key`, KEY_ENV],
        [`${provider}.wire_api`, "responses"],
        ["model_provider", PROVIDER_ID],
      ];
      if (model) overrides.push(["model", model]);
      for (const [name, value] of overrides) args.push("-c", `${name}=${tomlString(value)}`);
      break;
    }
    case "gemini": {
      env.GOOGLE_GEMINI_BASE_URL = `${gateway}/genai`;
      env.GEMINI_API_KEY = input.key;
      if (model) env.GEMINI_MODEL = model;
      // Gemini CLI 0.61 picks a "gateway" auth type for a custom base URL and then rejects it in headless mode,
      // and a developer's own settings may select a Google login, which ignores the base URL: API-key auth works.
      settings = { security: { auth: { selectedType: "gemini-api-key" } } };
      break;
    }
    case "opencode": {
      const ids = [...new Set([...(model ? [model] : []), ...(input.models ?? [])])];
      const chosen = model ?? ids[0];
      // Merged over the developer's opencode.json (and project config), so their providers, MCP servers and
      // agents stay; only the model choice moves to the gateway.
      const config: Record<string, unknown> = {
        provider: {
          [PROVIDER_ID]: {
            npm: "@ai-sdk/openai-compatible",
            name: "Tollgate",
            options: { baseURL: `${gateway}/v1`, apiKey: `{env:${KEY_ENV}}` },
            models: Object.fromEntries(ids.map((id) => [id, { name: id }])),
          },
        },
      };
      if (chosen) {
        config.model = `${PROVIDER_ID}/${chosen}`;
        config.small_model = `${PROVIDER_ID}/${chosen}`;
      }
      env.OPENCODE_CONFIG_CONTENT = JSON.stringify(config);
      break;
    }
    default: {
      const unreachable: never = agent;
      throw new Error(`unknown agent ${String(unreachable)}`);
    }
  }

  const unset = [...PROVIDER_KEY_ENV, ...ROUTE_AROUND_ENV[agent]].filter((name) => !(name in env));
  return { agent, command: agent, env, unset, args, settings };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `over` wins; objects are merged key by key (arrays and other values are replaced). */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** POSIX shell single quoting. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * The wiring as shell text for `eval "$(tollgate launch <agent> --print-env)"`: exports, unsets, settings files
 * and the command line as comments.
 */
export function wiringAsShell(wiring: AgentWiring): string {
  const lines = [`# ${AGENT_LABELS[wiring.agent]} through Tollgate`];
  for (const [name, value] of Object.entries(wiring.env)) lines.push(`export ${name}=${shellQuote(value)}`);
  if (wiring.unset.length > 0) lines.push(`unset ${wiring.unset.join(" ")}`);
  if (wiring.agent === "gemini" && wiring.settings) {
    lines.push(`# ${AGENT_LABELS[wiring.agent]} also needs these settings (e.g. in ~/.gemini/settings.json):`);
    lines.push(`#   ${JSON.stringify(wiring.settings)}`);
  }
  if (wiring.agent === "claude") {
    lines.push("# (an `env` block in your ~/.claude/settings.json overrides these; `tollgate launch` prevents that)");
  }
  const command = [wiring.command, ...wiring.args].map(shellQuote).join(" ");
  lines.push(`# then run: ${command}${wiring.args.length > 0 ? " [your arguments]" : ""}`);
  return `${lines.join("\n")}\n`;
}

/** Cursor's BYOK settings, step by step. Cursor calls the base URL from its own servers. */
export function cursorInstructions(input: { gatewayUrl: string; key: string; models?: readonly string[] }): string {
  const gateway = trimGatewayUrl(input.gatewayUrl);
  const base = `${gateway}/cursor/v1`;
  const lines = [
    "Cursor through Tollgate",
    "",
    "1. Cursor → Settings → Models → API Keys.",
    `2. OpenAI API Key: ${input.key}`,
    `3. Turn on "Override OpenAI Base URL" and enter: ${base}`,
    '4. Press "Verify" (Cursor lists the gateway\'s models from GET /cursor/v1/models).',
    '5. Add the models you want with "+ Add Custom Model"'.concat(
      input.models && input.models.length > 0 ? `, e.g. ${input.models.slice(0, 5).join(", ")}.` : ".",
    ),
    "",
    "Notes:",
    "- Cursor sends these requests from its own servers, not from your machine: the gateway URL must be reachable",
    "  from the internet over HTTPS. localhost and private addresses do not work.",
    "- Only chat (Ask/Plan) uses your key; Tab completion and some Agent features use Cursor's own models.",
    "- Cursor sends no session id, so its requests are grouped by key, not by session.",
  ];
  if (!isPublicHttps(gateway)) {
    lines.push("", `Warning: ${gateway} is not a public HTTPS URL; Cursor's servers will not be able to reach it.`);
  }
  return `${lines.join("\n")}\n`;
}

function isPublicHttps(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== "https:") return false;
  const host = parsed.hostname;
  return !(
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host.endsWith(".local") ||
    /^(127|10)\./.test(host) ||
    /^192\.168\./.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    host === "[::1]"
  );
}
