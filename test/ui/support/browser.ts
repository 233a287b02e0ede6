import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser). Locally a missing Chromium skips the
 * browser tests with a visible reason; under CI=true it fails them (CI installs it: .ci/run).
 */

export const CHROMIUM = process.env.TOLLGATE_TEST_CHROMIUM ?? "/usr/bin/chromium";

export function requireChromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
  if (process.env.CI === "true") throw new Error(`${reason}: required under CI=true`);
  process.stderr.write(`[ui tests] skipped: ${reason}\n`);
  return reason;
}

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** One persistent context in a fresh user-data-dir, removed on close. */
/** `bypassCSP` lets a test inject axe-core into the page (the dashboard's CSP allows only its own scripts). */
export async function launchBrowser(options: {
  width: number;
  height: number;
  bypassCSP?: boolean;
}): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), "tollgate-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: options.width, height: options.height },
    colorScheme: "light",
    locale: "en-GB",
    bypassCSP: options.bypassCSP ?? false,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The page's globals as test functions run in the browser use them: the tests are type-checked without the DOM
 * library, and string expressions are refused by the dashboard's CSP (no eval), so functions cast `globalThis`.
 */
export interface PageGlobals {
  document: {
    querySelector(selector: string): unknown;
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  };
  navigator: { clipboard: { readText(): Promise<string> } };
}
