import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { launchBrowser, requireChromium, type TestBrowser } from "./support/browser.ts";
import { ensureUiBuilt } from "./support/build-ui.ts";
import { adminApi, claudeTurn, openAiCall } from "./support/seed.ts";

/**
 * Every dashboard page, on a laptop (1440×900, light) and a phone (390×844, dark): no serious or critical axe-core
 * violation, no console error, and a screenshot in .cache/ui-screenshots/ (git-ignored) for a human to look at.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = join(root, ".cache/ui-screenshots");
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const SESSION = "7e2b1d3c-0000-4000-8000-0000000000c3";
const skip = requireChromium();

const VIEWPORTS = [
  { name: "laptop", width: 1440, height: 900, theme: "light" },
  { name: "phone", width: 390, height: 844, theme: "dark" },
] as const;

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

describe("dashboard pages: accessibility, console, screenshots (Chromium)", { skip: skip ?? false }, () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  let pages: [string, string][] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    ensureUiBuilt();
    await mkdir(SHOTS, { recursive: true });
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    for (let i = 0; i < 2; i++) assert.equal(await claudeTurn(gw, { session: SESSION }), 200);
    assert.equal(await openAiCall(gw), 200);
    mock.enqueue({ scenario: "error", status: 529 });
    await claudeTurn(gw, { session: SESSION });
    const logs = await gw.waitForLogs(4);
    const customer = await adminApi<{ id: string }>(gw, "POST", "/customers", { name: "Acme" });
    const team = await adminApi<{ id: string }>(gw, "POST", "/teams", {
      name: "Payments",
      customerId: customer.body.id,
    });
    await adminApi(gw, "POST", "/developers", { name: "Ada", email: "ada@example.com", teamId: team.body.id });
    await adminApi(gw, "POST", "/budgets", { scopeType: "team", scopeId: team.body.id, limitUsd: "50", period: "1mo" });
    const key = await adminApi<{ id: string }>(gw, "POST", "/virtual-keys", {
      name: "ci-bot",
      teamId: team.body.id,
      budgets: [{ limitUsd: "5", period: "1d" }],
    });
    assert.equal(key.status, 201);
    await adminApi(gw, "POST", "/routing-rules", {
      name: "long-context",
      expression: "input_tokens > 150000",
      targets: ["anthropic/claude-sonnet-4-5"],
      fallbacks: ["openai/gpt-4.1"],
      priority: 5,
    });
    await adminApi(gw, "POST", "/alerts/webhooks", { url: "https://hooks.example.com/tollgate", format: "slack" });
    await adminApi(gw, "POST", "/pricing/overrides", { model: "my-model", inputPerMTok: "0.2", outputPerMTok: "0.6" });
    const logId = logs[0]?.id ?? "";
    pages = [
      ["overview", "overview"],
      ["logs", "logs"],
      ["log-detail", `logs/${logId}`],
      ["sessions", "sessions"],
      ["session-detail", `sessions/${SESSION}`],
      ["keys", "keys"],
      ["developers", "developers"],
      ["teams", "teams"],
      ["customers", "customers"],
      ["providers", "providers"],
      ["routing", "routing"],
      ["settings", "settings"],
    ];
    browser = await launchBrowser({ width: 1440, height: 900, bypassCSP: true });
    page = await browser.context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await mock?.close();
  });

  const axe = async (label: string): Promise<string[]> => {
    // Browser-side code as strings: the tests are type-checked without the DOM library.
    if (!(await page.evaluate('"axe" in window'))) await page.addScriptTag({ content: AXE_SOURCE });
    const options = { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } };
    const result = (await page.evaluate(`axe.run(document, ${JSON.stringify(options)})`)) as AxeResult;
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map(
        (v) => `${label}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`,
      );
  };

  const settle = async () => {
    await page.waitForFunction('document.querySelector(".spinner") === null');
    await page.waitForLoadState("networkidle");
  };

  for (const vp of VIEWPORTS) {
    it(`every page at ${vp.width}×${vp.height} (${vp.theme})`, async () => {
      await page.setViewportSize({ width: vp.width, height: vp.height });
      await page.emulateMedia({ colorScheme: vp.theme });
      const problems: string[] = [];
      // The sign-in page first (a fresh storage: signed out).
      await page.goto(gw.url);
      await page.evaluate("sessionStorage.clear(); localStorage.clear()");
      await page.reload();
      await page.getByLabel("Admin token").waitFor();
      problems.push(...(await axe(`sign-in ${vp.name}`)));
      await page.screenshot({ path: join(SHOTS, `sign-in-${vp.name}.png`), fullPage: true });
      await page.getByLabel("Admin token").fill(gw.adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Main" }).waitFor();
      for (const [name, hash] of pages) {
        await page.goto(`${gw.url}/#/${hash}`);
        await settle();
        problems.push(...(await axe(`${name} ${vp.name}`)));
        await page.screenshot({ path: join(SHOTS, `${name}-${vp.name}.png`), fullPage: true });
      }
      // A dialog open: the new key, shown once with its set-up snippets.
      await page.goto(`${gw.url}/#/keys`);
      await settle();
      await page.getByRole("button", { name: "New key" }).click();
      const form = page.getByRole("dialog", { name: "New virtual key" });
      await form.getByLabel("Name").fill(`phone-or-laptop-${vp.name}`);
      problems.push(...(await axe(`new-key-form ${vp.name}`)));
      await form.getByRole("button", { name: "Create key" }).click();
      await page.getByTestId("setup-snippet").waitFor();
      problems.push(...(await axe(`new-key-secret ${vp.name}`)));
      await page.screenshot({ path: join(SHOTS, `new-key-${vp.name}.png`) });
      await page
        .getByRole("dialog", { name: `Key phone-or-laptop-${vp.name}` })
        .getByRole("button", { name: "Close" })
        .click();
      // The edit dialog with its budget editor.
      await page.getByRole("button", { name: "Edit ci-bot" }).click();
      await page.getByRole("dialog", { name: "Edit ci-bot" }).getByLabel("1d budget limit (USD)").waitFor();
      problems.push(...(await axe(`edit-key ${vp.name}`)));
      await page.screenshot({ path: join(SHOTS, `edit-key-${vp.name}.png`) });
      assert.deepEqual(problems, []);
      assert.deepEqual(consoleErrors, []);
    });
  }

  it("serves hashed assets precompressed and immutable, index.html uncached, unknown /api paths as JSON 404", async () => {
    const index = await fetch(`${gw.url}/`, { headers: { "accept-encoding": "br, gzip" } });
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("cache-control"), "no-cache");
    assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, "index.html names its script");
    const asset = await fetch(`${gw.url}${script}`, { headers: { "accept-encoding": "br" } });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get("content-encoding"), "br");
    assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const missing = await fetch(`${gw.url}/assets/nope.js`);
    assert.equal(missing.status, 404);
    const api = await fetch(`${gw.url}/api/no-such-thing`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { type: string } }).error.type, "not_found");
  });
});
