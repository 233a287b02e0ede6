import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { trackChild } from "./cleanup.ts";

export interface ChildSpec {
  /** Short name used in messages ("mock", "gateway"). */
  name: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Returns the base URL once a stdout line says the child is listening, else undefined. */
  readyUrl: (line: string) => string | undefined;
  readyTimeoutMs: number;
}

export interface RunningChild {
  name: string;
  pid: number;
  /** Base URL the child is listening on, always on the loopback interface. */
  url: string;
  process: ChildProcess;
  /** The last lines the child printed (stdout and stderr), for error messages. */
  recentOutput: () => string;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the child ignored SIGTERM and had to be killed. */
  killed: boolean;
}

const keptOutputLines = 40;

/** Starts `node <args>` and resolves once it prints its ready line. */
export async function startNodeChild(spec: ChildSpec): Promise<RunningChild> {
  const child = spawn(process.execPath, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${spec.name}: spawn failed`);

  // Both streams are drained for the child's whole life: a full pipe would block a child that logs per request.
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > keptOutputLines) lines.shift();
  };
  const recentOutput = (): string => lines.join("\n");
  createInterface({ input: child.stderr }).on("line", (line) => keep(`[stderr] ${line}`));
  const stdout = createInterface({ input: child.stdout });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`${spec.name} printed no ready line within ${spec.readyTimeoutMs} ms`));
    }, spec.readyTimeoutMs);
    const onLine = (line: string): void => {
      keep(line);
      const found = spec.readyUrl(line);
      if (found === undefined) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      stdout.off("line", onLine);
      stdout.on("line", keep);
      resolve(found);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      fail(new Error(`${spec.name} exited before it was ready (code ${code}, signal ${signal})`));
    };
    const fail = (error: Error): void => {
      clearTimeout(timer);
      stdout.off("line", onLine);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n--- ${spec.name} output ---\n${recentOutput()}`));
    };
    stdout.on("line", onLine);
    child.once("exit", onExit);
  });

  assertLoopback(spec.name, url);
  return { name: spec.name, pid, url, process: child, recentOutput };
}

/** Throws, with the child's last output, when a child that should be serving has exited. */
export function assertRunning(child: RunningChild): void {
  const { exitCode, signalCode } = child.process;
  if (exitCode === null && signalCode === null) return;
  throw new Error(
    `${child.name} (pid ${child.pid}) exited unexpectedly (code ${exitCode}, signal ${signalCode})\n--- ${child.name} output ---\n${child.recentOutput()}`,
  );
}

/** SIGTERM, then wait up to `timeoutMs` for a graceful exit before SIGKILL. */
export async function stopChild(child: RunningChild, timeoutMs: number): Promise<ChildExit> {
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return { code: proc.exitCode, signal: proc.signalCode, killed: false };
  }
  const exited = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  proc.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first !== "timeout") return { code: first[0], signal: first[1], killed: false };
  proc.kill("SIGKILL");
  const [code, signal] = await exited;
  return { code, signal, killed: true };
}

/** The bench only ever sends load to this machine. */
function assertLoopback(name: string, url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
    throw new Error(`${name} reported ${url}; the bench only targets the loopback interface`);
  }
}
