import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentName } from "../../../src/shared/agent-wiring.ts";

/**
 * A developer's HOME as it looks after months of use: each agent's settings, an MCP server entry (a real stdio MCP
 * server, `mcp-notes-server.mjs`, whose tool `lookup_note` then shows up in the agent's model requests), history,
 * instructions and stored logins. Credentials carry LEAK_MARKER so the test can prove none reaches the provider.
 */

export const LEAK_MARKER = "LEAKED-from-developer";
/** The MCP tool whose presence in a model request proves the developer's MCP config was loaded. */
export const MCP_TOOL = "lookup_note";

const MCP_SERVER = fileURLToPath(new URL("./mcp-notes-server.mjs", import.meta.url));

/** XDG folders inside HOME, as on a typical Linux desktop. */
export function xdgEnv(home: string): Record<string, string> {
  return {
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_STATE_HOME: join(home, ".local", "state"),
    XDG_CACHE_HOME: join(home, ".cache"),
  };
}

async function put(home: string, path: string, content: string | object): Promise<void> {
  const file = join(home, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, typeof content === "string" ? content : `${JSON.stringify(content, null, 2)}\n`);
}

const jsonl = (...lines: object[]) => `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;

export async function seedHome(home: string, agent: AgentName): Promise<void> {
  const mcpScript = join(home, "bin", "notes-mcp.mjs");
  await mkdir(dirname(mcpScript), { recursive: true });
  await copyFile(MCP_SERVER, mcpScript);
  const mcpCommand = { command: "node", args: [mcpScript] };

  switch (agent) {
    case "claude": {
      // As Claude Code 2.1.197 leaves it: its one-time migrations (autoUpdates → settings env, model aliases)
      // already ran, so what remains to change is only what launch would change.
      await put(home, ".claude.json", {
        numStartups: 41,
        installMethod: "npm-global",
        hasCompletedOnboarding: true,
        lastOnboardingVersion: "2.1.197",
        userID: "4f1d2c3b4a5968778695a4b3c2d1e0f04f1d2c3b4a5968778695a4b3c2d1e0f0",
        mcpServers: { notes: { type: "stdio", ...mcpCommand, env: {} } },
        projects: { "/home/dev/shop": { allowedTools: [], hasTrustDialogAccepted: true, lastCost: 0.42 } },
        firstStartTime: "2026-01-02T09:58:00.000Z",
        machineID: "0d5e4c3b2a1908f7e6d5c4b3a29180706f5e4d3c2b1a09f8e7d6c5b4a3928170",
        opusProMigrationComplete: true,
        sonnet1m45MigrationComplete: true,
        seenNotifications: {},
        migrationVersion: 13,
      });
      // The env block still points at a proxy the developer used before: launch's wiring must win over it.
      await put(home, ".claude/settings.json", {
        $schema: "https://json.schemastore.org/claude-code-settings.json",
        env: { DISABLE_AUTOUPDATER: "1", ANTHROPIC_BASE_URL: "http://127.0.0.1:9/elsewhere" },
        permissions: { allow: ["Bash(npm test:*)"], deny: ["Read(./.env)"] },
        includeCoAuthoredBy: false,
      });
      await put(home, ".claude/CLAUDE.md", "# My preferences\n\n- Small commits, tests first.\n");
      await put(
        home,
        ".claude/history.jsonl",
        jsonl({
          display: "fix the cart total",
          pastedContents: {},
          timestamp: 1767350000000,
          project: "/home/dev/shop",
        }),
      );
      await put(
        home,
        ".claude/projects/-home-dev-shop/0b7e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b.jsonl",
        jsonl({
          type: "user",
          sessionId: "0b7e3f9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
          cwd: "/home/dev/shop",
          message: { role: "user", content: "fix the cart total" },
          timestamp: "2026-01-02T10:00:00.000Z",
        }),
      );
      // A claude.ai login (Linux keeps it in this file).
      await put(home, ".claude/.credentials.json", {
        claudeAiOauth: {
          accessToken: `sk-ant-oat01-${LEAK_MARKER}`,
          refreshToken: `sk-ant-ort01-${LEAK_MARKER}`,
          expiresAt: 4102444800000,
          scopes: ["user:inference", "user:profile"],
          subscriptionType: "max",
        },
      });
      return;
    }
    case "codex": {
      await put(
        home,
        ".codex/config.toml",
        `model = "o3"
model_reasoning_effort = "high"
approval_policy = "on-request"
check_for_update_on_startup = false

[mcp_servers.notes]
command = "node"
args = [${JSON.stringify(mcpScript)}]

[history]
persistence = "save-all"

[features]
plugins = false

[analytics]
enabled = false
`,
      );
      await put(home, ".codex/auth.json", { OPENAI_API_KEY: `sk-proj-${LEAK_MARKER}`, tokens: null });
      await put(home, ".codex/AGENTS.md", "Prefer small, reviewed changes.\n");
      await put(
        home,
        ".codex/history.jsonl",
        jsonl({ session_id: "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", ts: 1767350000, text: "refactor the cart" }),
      );
      await put(
        home,
        ".codex/sessions/2026/01/02/rollout-2026-01-02T10-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl",
        jsonl({
          timestamp: "2026-01-02T10:00:00.000Z",
          type: "session_meta",
          payload: { id: "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", cwd: "/home/dev/shop", originator: "codex_cli_rs" },
        }),
      );
      return;
    }
    case "gemini": {
      await put(home, ".gemini/settings.json", {
        security: { auth: { selectedType: "oauth-personal" }, folderTrust: { enabled: false } },
        privacy: { usageStatisticsEnabled: false },
        general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, vimMode: true },
        ide: { enabled: false },
        telemetry: { enabled: false },
        ui: { theme: "GitHub" },
        mcpServers: { notes: { ...mcpCommand, trust: true } },
      });
      await put(home, ".gemini/GEMINI.md", "Answer briefly.\n");
      await put(home, ".gemini/installation_id", "5b0c3f8e-2d1a-4c6b-9e7f-1a2b3c4d5e6f");
      await put(home, ".gemini/oauth_creds.json", {
        access_token: `ya29.${LEAK_MARKER}`,
        refresh_token: `1//${LEAK_MARKER}`,
        token_type: "Bearer",
        expiry_date: 4102444800000,
      });
      await put(home, ".gemini/tmp/9f2c1e4d7a8b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d/logs.json", [
        { sessionId: "a1", messageId: 0, type: "user", message: "explain the cart", timestamp: "2026-01-02T10:00:00Z" },
      ]);
      return;
    }
    case "opencode": {
      await put(home, ".config/opencode/opencode.json", {
        $schema: "https://opencode.ai/config.json",
        model: "anthropic/claude-sonnet-4-5",
        autoupdate: false,
        share: "disabled",
        theme: "tokyonight",
        mcp: { notes: { type: "local", command: [mcpCommand.command, ...mcpCommand.args], enabled: true } },
      });
      await put(home, ".config/opencode/AGENTS.md", "Prefer small, reviewed changes.\n");
      await put(home, ".local/share/opencode/auth.json", {
        anthropic: { type: "api", key: `sk-ant-api03-${LEAK_MARKER}` },
      });
      await put(
        home,
        ".local/state/opencode/prompt-history.jsonl",
        jsonl({ input: "add a README", parts: [], mode: "normal" }),
      );
      return;
    }
    default: {
      const unreachable: never = agent;
      throw new Error(`unknown agent ${String(unreachable)}`);
    }
  }
}

/** Every file under `dir` (relative path → SHA-256 of its bytes). */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    hashes.set(
      relative(dir, path),
      createHash("sha256")
        .update(await readFile(path))
        .digest("hex"),
    );
  }
  return hashes;
}
