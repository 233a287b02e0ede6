import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { runTollgate, type TollgateRun } from "./support/run-tollgate.ts";

/** `tollgate setup cursor`: instructions for a tool tollgate cannot launch. */

const explain = (run: TollgateRun) => `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;

describe("tollgate setup", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("cursor: the /cursor/v1 base URL, the key and the gateway's models; a loopback gateway is warned about", async () => {
    const run = await runTollgate(["setup", "cursor", "--gateway", `${gw.url}/`, "--key", "sk-tg-cursor-key"]);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, /^Cursor through Tollgate$/m);
    assert.ok(run.stdout.includes(`OpenAI API Key: sk-tg-cursor-key\n`), run.stdout);
    // The trailing slash of --gateway is trimmed before /cursor/v1 is appended.
    assert.ok(run.stdout.includes(`Base URL" and enter: ${gw.url}/cursor/v1\n`), run.stdout);
    assert.match(run.stdout, /\+ Add Custom Model", e\.g\. \S+/, "models listed by the gateway are suggested");
    assert.ok(
      run.stdout.includes(
        `Warning: ${gw.url} is not a public HTTPS URL; Cursor's servers will not be able to reach it.`,
      ),
      run.stdout,
    );
    assert.equal(run.stderr, "");
  });

  it("cursor: gateway and key from TOLLGATE_URL / TOLLGATE_KEY; a public HTTPS URL gets no warning", async () => {
    // Nothing answers at this name (no network in tests): the model list is left out, the rest is printed.
    const run = await runTollgate(["setup", "cursor"], {
      env: { TOLLGATE_URL: "https://tollgate.example.invalid", TOLLGATE_KEY: "sk-tg-from-env" },
    });
    assert.equal(run.code, 0, explain(run));
    assert.ok(run.stdout.includes("enter: https://tollgate.example.invalid/cursor/v1\n"), run.stdout);
    assert.ok(run.stdout.includes("OpenAI API Key: sk-tg-from-env\n"), run.stdout);
    assert.match(run.stdout, /\+ Add Custom Model"\.$/m);
    assert.ok(!run.stdout.includes("Warning:"), run.stdout);
  });

  it("cursor without a key prints a placeholder instead", async () => {
    const run = await runTollgate(["setup", "cursor", "--gateway", gw.url]);
    assert.equal(run.code, 0, explain(run));
    assert.ok(run.stdout.includes("OpenAI API Key: <your sk-tg-… key>\n"), run.stdout);
  });

  it("an unknown tool exits 2 and points launchable agents at `tollgate launch`", async () => {
    const run = await runTollgate(["setup", "vscode", "--gateway", gw.url]);
    assert.equal(run.code, 2, explain(run));
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /value 'vscode' is invalid for argument 'tool'/);
    assert.match(
      run.stderr,
      /choose one of cursor \(for claude, codex, gemini and opencode use `tollgate launch <agent>`\)/,
    );
    const missing = await runTollgate(["setup"]);
    assert.equal(missing.code, 2, explain(missing));
    assert.match(missing.stderr, /missing required argument 'tool'/);
  });
});
