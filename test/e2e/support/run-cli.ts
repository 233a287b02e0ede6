import { spawn } from "node:child_process";

export interface CliRunOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  timeoutMs: number;
}

export interface CliRun {
  commandLine: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** How long output may keep arriving after the CLI itself has exited. */
const DRAIN_MS = 2000;

/** Kills the whole process group: the CLIs start shells and helper processes that must not outlive the test. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Runs a CLI non-interactively (stdin is /dev/null) in its own process group, capturing its output, and kills
 * it and everything it started when it exceeds the timeout or once it has exited.
 */
export function runCli(options: CliRunOptions): Promise<CliRun> {
  const started = performance.now();
  const commandLine = [options.command, ...options.args].map((a) => (/^[\w./:=@-]+$/.test(a) ? a : JSON.stringify(a)));
  return new Promise((resolve, reject) => {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null; durationMs: number } | null = null;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(drainTimer);
      resolve({
        commandLine: commandLine.join(" "),
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout,
        stderr,
        timedOut,
        durationMs: exit?.durationMs ?? Math.round(performance.now() - started),
      });
    };
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal, durationMs: Math.round(performance.now() - started) };
      killGroup(child.pid);
      // A helper that left the process group (Gemini CLI runs shell commands in their own group) could hold the
      // pipes open forever; give the output a moment to drain, then stop waiting for it.
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, DRAIN_MS);
    });
    child.on("close", finish);
  });
}

const TAIL_CHARS = 12_000;

function tail(text: string): string {
  return text.length > TAIL_CHARS ? `…(${text.length - TAIL_CHARS} chars cut)…\n${text.slice(-TAIL_CHARS)}` : text;
}

/** Everything needed to diagnose a failed run from a CI log. */
export function describeRun(run: CliRun): string {
  return [
    `$ ${run.commandLine}`,
    `exit code ${run.exitCode}, signal ${run.signal}, ${run.timedOut ? "TIMED OUT, " : ""}${run.durationMs} ms`,
    "--- stdout ---",
    tail(run.stdout),
    "--- stderr ---",
    tail(run.stderr),
  ].join("\n");
}
