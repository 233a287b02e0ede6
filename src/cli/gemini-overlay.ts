import { cp, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { deepMerge } from "../shared/agent-wiring.ts";

/**
 * Gemini CLI reads its settings from `<home>/.gemini/settings.json`, and the only layer above that file (the system
 * settings, GEMINI_CLI_SYSTEM_SETTINGS_PATH) must be owned by root. To add a setting for one run without editing
 * the developer's file, `launch` points GEMINI_CLI_HOME at an overlay: a `.gemini` folder whose entries are symlinks
 * to the developer's own (history, chats, GEMINI.md, extensions, logins) except `settings.json`, which is their
 * settings with ours merged over. When the agent exits, whatever it created or replaced in the overlay is moved
 * into the real folder, and a settings change it made (e.g. `/theme`) is written back without our additions.
 */

const GEMINI_DIR = ".gemini";
const SETTINGS = "settings.json";

/** JSON with `//` and `/* *\/` comments (Gemini CLI allows them) → JSON. */
export function stripJsonComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += next ?? "";
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && next === "*") {
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) i++;
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `after` with every leaf of `ours` put back to its value in `original` (removed where `original` had none): the
 * developer's own settings changes, without the overlay's additions.
 */
export function withoutOurs(after: unknown, ours: unknown, original: unknown): unknown {
  if (!isPlainObject(ours)) return original;
  if (!isPlainObject(after)) return after;
  const out: Record<string, unknown> = { ...after };
  const orig = isPlainObject(original) ? original : {};
  for (const [k, v] of Object.entries(ours)) {
    if (!(k in after)) continue;
    const restored = withoutOurs(after[k], v, orig[k]);
    const emptied = isPlainObject(restored) && Object.keys(restored).length === 0 && !(k in orig);
    if (restored === undefined || emptied) delete out[k];
    else out[k] = restored;
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function move(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    await cp(from, to, { recursive: true, preserveTimestamps: true });
  }
}

export interface GeminiOverlay {
  env: { GEMINI_CLI_HOME: string };
  /** Moves the run's changes into the real folder. The caller removes `dir` afterwards. */
  finish(): Promise<void>;
}

/** Builds the overlay in `dir` (an empty private temporary folder). */
export async function prepareGeminiOverlay(
  dir: string,
  settings: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GeminiOverlay> {
  const realHome = env.GEMINI_CLI_HOME || homedir();
  const realDir = join(realHome, GEMINI_DIR);
  const overlayHome = join(dir, "gemini-home");
  const overlayDir = join(overlayHome, GEMINI_DIR);
  await mkdir(overlayDir, { recursive: true });

  const linked = new Map<string, string>();
  const names = await readdir(realDir).catch(() => [] as string[]);
  for (const name of names) {
    if (name === SETTINGS) continue;
    const target = join(realDir, name);
    await symlink(target, join(overlayDir, name));
    linked.set(name, target);
  }
  // Gemini CLI also reads ~/.env (after the project's and ~/.gemini/.env).
  if (await exists(join(realHome, ".env"))) await symlink(join(realHome, ".env"), join(overlayHome, ".env"));

  let original: unknown = {};
  let originalText: string | null = null;
  try {
    originalText = await readFile(join(realDir, SETTINGS), "utf8");
    original = JSON.parse(stripJsonComments(originalText)) as unknown;
  } catch {
    original = {};
  }
  const written = `${JSON.stringify(deepMerge(original, settings), null, 2)}\n`;
  await writeFile(join(overlayDir, SETTINGS), written, { mode: 0o600 });

  return {
    env: { GEMINI_CLI_HOME: overlayHome },
    async finish() {
      const entries = await readdir(overlayDir).catch(() => [] as string[]);
      const changed: string[] = [];
      for (const name of entries) {
        const path = join(overlayDir, name);
        if (name === SETTINGS) continue;
        const target = linked.get(name);
        const info = await lstat(path);
        // Still our symlink: the agent wrote through it, straight into the real folder.
        if (target && info.isSymbolicLink() && (await readlink(path)) === target) continue;
        changed.push(name);
      }
      if (changed.length > 0) await mkdir(realDir, { recursive: true });
      for (const name of changed) await move(join(overlayDir, name), join(realDir, name));

      const after = await readFile(join(overlayDir, SETTINGS), "utf8").catch(() => written);
      if (after !== written) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(stripJsonComments(after)) as unknown;
        } catch {
          return;
        }
        const own = withoutOurs(parsed, settings, original);
        const text = `${JSON.stringify(own, null, 2)}\n`;
        if (text !== originalText) {
          await mkdir(realDir, { recursive: true });
          await writeFile(join(realDir, SETTINGS), text);
        }
      }
    },
  };
}
