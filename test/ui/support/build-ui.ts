import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Builds the dashboard (`vite build` → dist/ui) when it is missing or older than its sources (web/ and the shared
 * modules it imports), so the browser tests always drive the current UI. A current build costs a few stats.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const UI_INDEX = join(root, "dist/ui/index.html");

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === "node_modules") continue;
    max = Math.max(max, newest(join(path, name)));
  }
  return max;
}

export function uiBuildIsCurrent(): boolean {
  let built: number;
  try {
    built = statSync(UI_INDEX).mtimeMs;
  } catch {
    return false;
  }
  const sources = Math.max(newest(join(root, "web")), newest(join(root, "src/shared")));
  return built >= sources;
}

/** Returns the build time in ms, or 0 when the build was current. Test files building at once take turns. */
export function ensureUiBuilt(): number {
  if (uiBuildIsCurrent()) return 0;
  const lock = join(root, "dist/.ui-build-lock");
  mkdirSync(join(root, "dist"), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another process is building: wait for it, then use its build.
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (uiBuildIsCurrent()) return 0;
    const started = Date.now();
    execFileSync(
      process.execPath,
      [join(root, "node_modules/vite/bin/vite.js"), "build", "-c", "web/vite.config.ts", "--logLevel", "warn"],
      { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
    );
    return Date.now() - started;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
