#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { CliError, EXIT } from "./exit.ts";

/**
 * The `tollgate` entry point. Commands are registered in `commands/index.ts` (one module per command).
 * An action reports its exit status by setting `process.exitCode` (or throwing a CliError).
 */
function createProgram(): Command {
  return (
    new Command("tollgate")
      .description("Self-hosted LLM gateway for coding agents")
      .version(VERSION, "-v, --version", "print the version")
      .showSuggestionAfterError()
      .exitOverride()
      // Commander strips the styling itself when the output is not a TTY (or NO_COLOR is set).
      .configureHelp({ styleTitle: (title) => `\x1b[1m${title}\x1b[22m` })
  );
}

/**
 * `tollgate statusline` runs on every Claude Code refresh and should take well under 100 ms, so it loads its own
 * module only; everything else loads the whole command list.
 */
async function buildProgram(args: string[]): Promise<Command> {
  const program = createProgram();
  if (args[0] === "statusline") {
    const { registerStatusline } = await import("./commands/statusline.ts");
    registerStatusline(program);
  } else {
    const { registerCommands } = await import("./commands/index.ts");
    registerCommands(program);
  }
  return program;
}

async function main(argv: string[]): Promise<number> {
  // `tollgate` alone serves the gateway, as before.
  const args = argv.length === 0 ? ["start"] : argv;
  try {
    await (await buildProgram(args)).parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; any other parse error is a usage error.
      return err.exitCode === 0 ? 0 : EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`tollgate: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(EXIT.failure);
  },
);
