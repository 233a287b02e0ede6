import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Everything the bench creates outside itself: child processes to kill and temp dirs to remove, whatever way the
// bench ends (normal exit, thrown error, Ctrl-C).
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Synchronous so it can run inside process.on("exit"). */
export function cleanUpNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export function installCleanupHandlers(): void {
  process.on("exit", cleanUpNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children and removing temp dirs\n`);
      cleanUpNow();
      process.exit(130);
    });
  }
}
