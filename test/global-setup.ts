/**
 * node:test global setup (`node --test --test-global-setup=test/global-setup.ts …`): installs the pinned
 * coding-agent CLIs for the e2e tests once per version set, into the git-ignored `.cache/e2e-clis/`, and hands
 * their bin folder to the test processes through the environment (they inherit the runner's). Cached runs only
 * stat a few files. Outside CI a failed install makes the e2e tests skip with the reason; under CI=true it fails
 * the run.
 */
import { CLI_DIR_ENV, prepareClis, publishAvailability } from "./e2e/support/cli-install.ts";
import { ensureUiBuilt } from "./ui/support/build-ui.ts";

export async function globalSetup(): Promise<void> {
  // The browser tests drive the built dashboard: rebuilt only when web/ changed since (~3 s), else a few stats.
  const uiMs = ensureUiBuilt();
  if (uiMs > 0) process.stderr.write(`[global-setup] built the dashboard in ${uiMs} ms\n`);
  const started = Date.now();
  const availability = await prepareClis();
  publishAvailability(availability);
  if (availability.kind === "skip") {
    process.stderr.write(`[global-setup] e2e tests will be skipped: ${availability.reason}\n`);
  } else if (Date.now() - started > 2000) {
    process.stderr.write(`[global-setup] installed the e2e CLIs in ${Date.now() - started} ms (${CLI_DIR_ENV})\n`);
  }
}
