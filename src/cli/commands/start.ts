import { setFlagsFromString } from "node:v8";
import { type Command, InvalidArgumentError } from "commander";
import { CliError } from "../exit.ts";

interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  config?: string;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError(`must be a port number, got "${value}"`);
  return port;
}

export function registerStart(program: Command): void {
  program
    .command("start")
    .description("serve the gateway (default 127.0.0.1:8080, data in ./.tollgate)")
    .option("--port <n>", "listen port; 0 picks a free one (env TOLLGATE_PORT)", parsePort)
    .option("--host <host>", "listen address (env TOLLGATE_HOST)")
    .option("--data-dir <dir>", "where the database and admin token live (env TOLLGATE_DATA_DIR)")
    .option("--config <file>", "config file, JSON or YAML (env TOLLGATE_CONFIG)")
    .action((options: StartOptions) => start(options));
}

/**
 * Agent turns are large request bodies (0.5–5 MB), held as Buffers outside the JS heap. By default V8 runs a full
 * mark-compact whenever such external memory has grown by 64 MB since the last one — every ~60 Claude Code turns —
 * and each one walks the gateway's whole heap: that cost more CPU than everything else a 519 kB request does
 * (bench: `--workload cache`, stream-claude-code). Counting external memory in V8's global heap limit instead
 * spaces those collections by heap size. Set before the gateway allocates anything.
 */
function tuneGarbageCollector(): void {
  setFlagsFromString("--external-memory-accounted-in-global-limit");
}

async function start(options: StartOptions): Promise<void> {
  tuneGarbageCollector();
  // Imported here: the gateway's dependency tree would slow every other command's start.
  const [{ createGateway }, { ConfigError, loadConfig }] = await Promise.all([
    import("../../app.ts"),
    import("../../config/load.ts"),
  ]);
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await loadConfig({
      env: process.env,
      flags: { port: options.port, host: options.host, dataDir: options.dataDir, config: options.config },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const gateway = await createGateway(config);
  const url = await gateway.listen();
  const providers = gateway.runtime.registry.list().map((p) => p.name);
  const banner = [
    `Tollgate listening on ${url}`,
    `  data: ${config.dataDir}${config.databaseUrl ? " (logs in PostgreSQL)" : ""}`,
    `  providers: ${providers.join(", ") || "none (set e.g. ANTHROPIC_API_KEY)"}`,
  ];
  banner.push(`  dashboard: ${url}/ (sign in with the admin token)`);
  if (gateway.adminToken.created) {
    banner.push(`  admin token (shown once, kept in ${gateway.adminToken.path}): ${gateway.adminToken.token}`);
  } else {
    banner.push(`  admin token: ${gateway.adminToken.path ?? "TOLLGATE_ADMIN_TOKEN (environment or config)"}`);
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
  await new Promise<never>(() => {});
}
