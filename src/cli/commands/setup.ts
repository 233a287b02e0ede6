import { type Command, InvalidArgumentError } from "commander";
import { cursorInstructions } from "../../shared/agent-wiring.ts";
import { fetchModelIds, resolveGateway, resolveKey } from "../gateway-client.ts";
import { withProgress } from "../progress.ts";

const TOOLS = ["cursor"] as const;
type Tool = (typeof TOOLS)[number];

interface SetupOptions {
  gateway?: string;
  key?: string;
}

function parseTool(value: string): Tool {
  if ((TOOLS as readonly string[]).includes(value)) return value as Tool;
  throw new InvalidArgumentError(
    `choose one of ${TOOLS.join(", ")} (for claude, codex, gemini and opencode use \`tollgate launch <agent>\`)`,
  );
}

export function registerSetup(program: Command): void {
  program
    .command("setup")
    .description("print how to point a tool that tollgate cannot launch (Cursor) at the gateway")
    .argument("<tool>", `the tool: ${TOOLS.join(", ")}`, parseTool)
    .option("--gateway <url>", "the gateway's public URL (env TOLLGATE_URL)")
    .option("--key <key>", "your Tollgate key (env TOLLGATE_KEY)")
    .action(async (_tool: Tool, options: SetupOptions) => {
      const gatewayUrl = resolveGateway(options.gateway);
      const key = resolveKey(options.key);
      const models = await withProgress(`fetching the model list from ${gatewayUrl}`, () =>
        fetchModelIds(gatewayUrl, key, 2000),
      ).catch(() => []);
      process.stdout.write(cursorInstructions({ gatewayUrl, key: key ?? "<your sk-tg-… key>", models }));
    });
}
