import type { Command } from "commander";
import { bearer, parseJson, quickGet, resolveGateway, resolveKey } from "../gateway-client.ts";

/**
 * `tollgate statusline`: Claude Code's `statusLine` command. Claude Code runs it after every assistant message with
 * its status JSON on stdin and shows the first line printed. It runs inside Claude Code's environment, so a
 * `tollgate launch claude` session finds the gateway and key there (TOLLGATE_URL / TOLLGATE_KEY), as does a
 * hand-wired one (ANTHROPIC_BASE_URL / ANTHROPIC_AUTH_TOKEN). Whatever fails, it prints a short fallback and exits
 * 0 within its deadline: a status line must never hang or error.
 */

const DEADLINE_MS = 300;
export const FALLBACK = "tollgate: usage unavailable";

interface StatuslineOptions {
  gateway?: string;
  key?: string;
}

export function registerStatusline(program: Command): void {
  program
    .command("statusline")
    .description("one status line for Claude Code: this session's cost and the key's remaining budget")
    .option("--gateway <url>", "gateway URL (env TOLLGATE_URL, else derived from ANTHROPIC_BASE_URL)")
    .option("--key <key>", "Tollgate key (env TOLLGATE_KEY, else ANTHROPIC_AUTH_TOKEN)")
    .addHelpText(
      "after",
      `
Reads Claude Code's status JSON (its session_id) on stdin. In ~/.claude/settings.json:
  "statusLine": { "type": "command", "command": "tollgate statusline" }
or start Claude Code with \`tollgate launch claude --statusline\`.`,
    )
    .action(async (options: StatuslineOptions) => {
      process.stdout.write(`${await statusLine(options)}\n`);
    });
}

/** The gateway root from the flag, TOLLGATE_URL, or Claude Code's ANTHROPIC_BASE_URL without its /anthropic. */
function gatewayOf(options: StatuslineOptions): string {
  const env = process.env;
  if (!options.gateway && !env.TOLLGATE_URL && env.ANTHROPIC_BASE_URL) {
    return resolveGateway(env.ANTHROPIC_BASE_URL.replace(/\/+$/, "").replace(/\/anthropic$/, ""));
  }
  return resolveGateway(options.gateway);
}

function keyOf(options: StatuslineOptions): string | null {
  return resolveKey(options.key) ?? resolveKey(process.env.ANTHROPIC_AUTH_TOKEN);
}

/** All of stdin, or "" when it is a terminal, closed, or slower than `ms`. */
function readStdin(ms: number): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve("");
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      process.stdin.off("data", onData);
      process.stdin.pause();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const timer = setTimeout(finish, ms);
    process.stdin.on("data", onData);
    process.stdin.once("end", finish);
    process.stdin.once("error", finish);
  });
}

interface Usage {
  budgets?: Array<{ name?: string; limitUsd?: string; remainingUsd?: string; period?: string }>;
  session?: { costUsd?: string; requests?: number };
}

/**
 * `$0.0031` below a dollar (sessions are often cents), `$12.34` above. A remainder is cut, not rounded: $9.9999
 * left is not "$10.00 left".
 */
export function money(text: string | undefined, how: "round" | "cut" = "round"): string {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n)) return "$?";
  const digits = n !== 0 && Math.abs(n) < 1 ? 4 : 2;
  if (how === "round" || n < 0) return `$${n.toFixed(digits)}`;
  const [whole = "0", fraction = ""] = text.trim().split(".");
  return `$${whole}.${fraction.padEnd(digits, "0").slice(0, digits)}`;
}

/** The line for a `/tollgate/usage` answer: the session's cost, then the tightest budget's remainder. */
export function formatStatus(usage: Usage): string {
  const parts: string[] = [];
  if (usage.session) parts.push(`session ${money(usage.session.costUsd)}`);
  const budgets = usage.budgets ?? [];
  const tightest = budgets.reduce<(typeof budgets)[number] | undefined>(
    (min, b) => (min === undefined || Number(b.remainingUsd) < Number(min.remainingUsd) ? b : min),
    undefined,
  );
  if (tightest) {
    const period = tightest.period && tightest.period !== "never" ? `/${tightest.period}` : "";
    parts.push(`${money(tightest.remainingUsd, "cut")} left of ${money(tightest.limitUsd)}${period}`);
  } else {
    parts.push("no budget");
  }
  return `tollgate: ${parts.join(" · ")}`;
}

async function statusLine(options: StatuslineOptions): Promise<string> {
  const started = Date.now();
  let gateway: string;
  try {
    gateway = gatewayOf(options);
  } catch {
    return FALLBACK;
  }
  const key = keyOf(options);
  const input = parseJson(await readStdin(100)) as { session_id?: unknown } | undefined;
  const session = typeof input?.session_id === "string" ? input.session_id : null;
  const path = session ? `/tollgate/usage?session=${encodeURIComponent(session)}` : "/tollgate/usage";
  try {
    const reply = await quickGet(
      `${gateway}${path}`,
      { ...bearer(key), accept: "application/json" },
      Math.max(50, DEADLINE_MS - (Date.now() - started)),
    );
    if (reply.status === 401) return "tollgate: key not accepted";
    if (reply.status !== 200) return FALLBACK;
    const usage = parseJson(reply.text) as Usage | undefined;
    return usage ? formatStatus(usage) : FALLBACK;
  } catch {
    return FALLBACK;
  }
}
