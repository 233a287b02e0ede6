#!/usr/bin/env node
import { parseArgs } from "node:util";
import { createGateway } from "../app.ts";
import { ConfigError, loadConfig } from "../config/load.ts";
import { VERSION } from "../version.ts";

const USAGE = `Usage: tollgate <command> [options]

Commands:
  start            Serve the gateway (default 127.0.0.1:8080, data in ./.tollgate)
  version          Print the version

Options for start:
  --port N         TOLLGATE_PORT       (0 picks a free port)
  --host H         TOLLGATE_HOST
  --data-dir D     TOLLGATE_DATA_DIR
  --config FILE    TOLLGATE_CONFIG     (JSON or YAML)
`;

async function main(argv: string[]): Promise<number> {
  const [command = "start", ...rest] = argv;
  switch (command) {
    case "start":
      return start(rest);
    case "version":
    case "--version":
      console.log(VERSION);
      return 0;
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      config: { type: "string" },
    },
    strict: true,
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    console.error(`--port must be a port number, got "${values.port}"`);
    return 2;
  }
  const config = await loadConfig({
    env: process.env,
    flags: { port, host: values.host, dataDir: values["data-dir"], config: values.config },
  });
  const gateway = await createGateway(config);
  const url = await gateway.listen();
  const providers = gateway.runtime.registry.list().map((p) => p.name);
  const banner = [
    `Tollgate listening on ${url}`,
    `  data: ${config.dataDir}${config.databaseUrl ? " (logs in PostgreSQL)" : ""}`,
    `  providers: ${providers.join(", ") || "none (set e.g. ANTHROPIC_API_KEY)"}`,
  ];
  if (gateway.adminToken.created) {
    banner.push(`  admin token (shown once, kept in ${gateway.adminToken.path}): ${gateway.adminToken.token}`);
  }
  // One write: a process reading the output sees the whole banner at once.
  console.log(banner.join("\n"));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining requests and flushing the request log…`);
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("shutdown failed:", err);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return new Promise<number>(() => {});
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(err);
    process.exit(1);
  },
);
