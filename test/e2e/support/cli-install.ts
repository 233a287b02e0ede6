import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { access, constants, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The coding-agent CLIs the e2e tests drive, pinned to the versions whose offline behaviour
 * /work/shared/CLIENTS.md documents. Changing a version changes the cache folder, so the next run reinstalls.
 */
export const PINNED_CLIS = [
  { bin: "claude", pkg: "@anthropic-ai/claude-code", version: "2.1.197", postinstall: "install.cjs" },
  { bin: "codex", pkg: "@openai/codex", version: "0.169.0", postinstall: null },
  { bin: "gemini", pkg: "@google/gemini-cli", version: "0.61.0", postinstall: null },
  { bin: "opencode", pkg: "opencode-ai", version: "1.18.33", postinstall: "postinstall.mjs" },
] as const;

export type CliName = (typeof PINNED_CLIS)[number]["bin"];

/** Bumped when the install recipe below changes in a way that invalidates existing cache folders. */
const RECIPE_VERSION = 1;
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const MARKER_FILE = "installed.json";

/** Environment variables through which the global setup hands its result to the test processes. */
export const CLI_DIR_ENV = "TOLLGATE_E2E_CLI_DIR";
export const SKIP_ENV = "TOLLGATE_E2E_SKIP";
/** Set to 0 to skip the e2e tests (and the CLI install) on purpose. */
export const OPT_OUT_ENV = "TOLLGATE_E2E";

export type CliAvailability = { kind: "ready"; binDir: string } | { kind: "skip"; reason: string };

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** `<repo>/.cache/e2e-clis/<hash>`: one folder per set of pinned versions and platform (the CLIs ship native binaries). */
export function cliInstallDir(): string {
  const key = JSON.stringify({
    recipe: RECIPE_VERSION,
    platform: process.platform,
    arch: process.arch,
    clis: PINNED_CLIS.map((c) => `${c.pkg}@${c.version}`),
  });
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 16);
  return join(repoRoot, ".cache", "e2e-clis", hash);
}

function binDirOf(installDir: string): string {
  return join(installDir, "node_modules", ".bin");
}

async function isInstalled(installDir: string): Promise<boolean> {
  try {
    await access(join(installDir, MARKER_FILE));
    for (const cli of PINNED_CLIS) await access(join(binDirOf(installDir), cli.bin), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface CommandResult {
  code: number | null;
  output: string;
}

function runCommand(command: string, args: string[], cwd: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function mustRun(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const result = await runCommand(command, args, cwd, timeoutMs);
  if (result.code !== 0) {
    const name = `${basename(command)} ${args[0] ?? ""}`.trim();
    const full = `$ ${command} ${args.join(" ")}`;
    throw new Error(`\`${name}\` exited with ${result.code}\n${full}\n${result.output.slice(-4000)}`);
  }
  return result.output;
}

/**
 * Installs into a private temporary folder, then renames it into place, so concurrent runs never see a
 * half-installed folder. Install scripts are skipped and the two that matter (Claude Code and opencode copy
 * their native binary over the bin placeholder) are run explicitly: this behaves the same on npm 10, npm 11's
 * advisory `allowScripts` policy and a future npm that blocks unreviewed scripts, and avoids compiling the
 * optional native modules Gemini CLI lists (node-pty, keytar), which it does not need here.
 */
async function install(installDir: string): Promise<void> {
  const staging = `${installDir}.partial-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(staging, { recursive: true });
  try {
    // An own package.json stops npm from treating an enclosing folder as the project.
    await writeFile(join(staging, "package.json"), `${JSON.stringify({ name: "tollgate-e2e-clis", private: true })}\n`);
    const specs = PINNED_CLIS.map((c) => `${c.pkg}@${c.version}`);
    await mustRun(
      "npm",
      [
        "install",
        "--prefix",
        staging,
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--include=optional",
        ...specs,
      ],
      staging,
      INSTALL_TIMEOUT_MS,
    );
    for (const cli of PINNED_CLIS) {
      if (cli.postinstall === null) continue;
      await mustRun(process.execPath, [cli.postinstall], join(staging, "node_modules", cli.pkg), 60_000);
    }
    // Prove each CLI starts (catches a missing native binary or an unsupported Node version) before caching it.
    for (const cli of PINNED_CLIS) {
      const output = await mustRun(join(binDirOf(staging), cli.bin), ["--version"], staging, 60_000);
      if (!output.includes(cli.version)) throw new Error(`${cli.bin} --version printed ${JSON.stringify(output)}`);
    }
    await writeFile(join(staging, MARKER_FILE), `${JSON.stringify({ clis: specs }, null, 2)}\n`);
    try {
      await rename(staging, installDir);
    } catch (err) {
      // Another process won the race; its copy is as good as ours.
      if (!(await isInstalled(installDir))) throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Installs the pinned CLIs unless the cache folder already has them; returns their bin folder. */
export async function ensureClisInstalled(): Promise<string> {
  const installDir = cliInstallDir();
  if (!(await isInstalled(installDir))) {
    await mkdir(join(installDir, ".."), { recursive: true });
    // An incomplete folder (no marker, e.g. changed by hand) would make the final rename fail.
    await rm(installDir, { recursive: true, force: true });
    await install(installDir);
  }
  return binDirOf(installDir);
}

/**
 * Installs the CLIs or explains why the e2e tests must skip. Under CI=true an install failure throws: a CI run
 * must not silently lose its e2e coverage.
 */
export async function prepareClis(): Promise<CliAvailability> {
  if (process.env[OPT_OUT_ENV] === "0") return { kind: "skip", reason: `${OPT_OUT_ENV}=0` };
  // A bin folder provided from outside (e.g. a CI image with the CLIs preinstalled) is used as is.
  const preset = process.env[CLI_DIR_ENV];
  if (preset) return { kind: "ready", binDir: preset };
  try {
    return { kind: "ready", binDir: await ensureClisInstalled() };
  } catch (err) {
    if (process.env.CI === "true") throw err;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`[e2e] installing the coding-agent CLIs failed:\n${message}\n`);
    return { kind: "skip", reason: `could not install the coding-agent CLIs: ${message.split("\n")[0]}` };
  }
}

/** Hands the result to test processes, which inherit the runner's environment. */
export function publishAvailability(availability: CliAvailability): void {
  if (availability.kind === "ready") {
    process.env[CLI_DIR_ENV] = availability.binDir;
    delete process.env[SKIP_ENV];
  } else {
    process.env[SKIP_ENV] = availability.reason;
    delete process.env[CLI_DIR_ENV];
  }
}

/**
 * What a test file sees: the global setup's result, or (when a test file is run on its own without the global
 * setup) the same preparation done in-process.
 */
export async function cliAvailability(): Promise<CliAvailability> {
  const reason = process.env[SKIP_ENV];
  if (reason) return { kind: "skip", reason };
  return prepareClis();
}
