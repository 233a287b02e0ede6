import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { shellQuote } from "../../src/shared/agent-wiring.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { MAIN, runTollgate, type TollgateRun } from "./support/run-tollgate.ts";

/**
 * What only a terminal gets: colours (and the FORCE_COLOR / NO_COLOR conventions that override the guess) and
 * transient progress lines. Pipes are what the other CLI tests use; a real terminal comes from util-linux
 * `script`, which runs the command on a pseudo-terminal.
 */

const ESC = "\u001b[";
const TERMINAL = { TERM: "xterm-256color" };
const hasScript = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
const needsTerminal = hasScript ? {} : { skip: "util-linux `script` is not installed (no pseudo-terminal)" };

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * `tollgate <args>` on a pseudo-terminal: stdout and stderr both go to the terminal (its output is returned)
 * unless `redirect` sends one of them to a file.
 */
function onTerminal(
  args: string[],
  env: Record<string, string>,
  redirect = "",
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, MAIN, ...args].map(shellQuote).join(" ") + redirect;
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const explain = (run: TollgateRun) => `exit ${run.code}\nstdout: ${JSON.stringify(run.stdout)}\nstderr: ${run.stderr}`;

describe("terminal output: colours and progress lines", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let down: string;
  let dir: string;
  /** The admin token, for the management commands. */
  let admin: Record<string, string>;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    admin = { TOLLGATE_ADMIN_TOKEN: gw.adminToken };
    down = `http://127.0.0.1:${await closedPort()}`;
    dir = await mkdtemp(join(tmpdir(), "tollgate-terminal-"));
    const res = await fetch(`${gw.url}/api/customers`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Acme" }),
    });
    assert.equal(res.status, 201, await res.text());
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("FORCE_COLOR=1 colours even a pipe: doctor's marks, table headers, help titles", async () => {
    const env = { FORCE_COLOR: "1" };
    const doctor = await runTollgate(["doctor", "--gateway", down, "--key", "k"], { env });
    assert.equal(doctor.code, 3, explain(doctor));
    assert.ok(doctor.stdout.includes(`${ESC}31m✗${ESC}39m gateway down`), explain(doctor));
    const table = await runTollgate(["customers", "list", "--gateway", gw.url], { env: { ...env, ...admin } });
    assert.equal(table.code, 0, explain(table));
    const header = table.stdout.split("\n")[0] ?? "";
    assert.ok(header.startsWith(`${ESC}1mID `) && header.endsWith(` CREATED${ESC}22m`), explain(table));
    const help = await runTollgate(["keys", "--help"], { env });
    assert.equal(help.code, 0, explain(help));
    assert.ok(help.stdout.startsWith(`${ESC}1mUsage:${ESC}22m tollgate keys`), explain(help));
  });

  it("a pipe without FORCE_COLOR, or with NO_COLOR=1, gets no escape codes", async () => {
    for (const env of [{}, { NO_COLOR: "1" }] as Array<Record<string, string>>) {
      const runs = await Promise.all([
        runTollgate(["doctor", "--gateway", down, "--key", "k"], { env }),
        runTollgate(["customers", "list", "--gateway", gw.url], { env: { ...env, ...admin } }),
        runTollgate(["keys", "--help"], { env }),
      ]);
      for (const run of runs) assert.ok(!(run.stdout + run.stderr).includes(ESC), explain(run));
      assert.match(runs[0]?.stdout ?? "", /^✗ gateway down/m);
    }
  });

  it("a terminal gets colours unless NO_COLOR is set", needsTerminal, async () => {
    const coloured = await onTerminal(["doctor", "--gateway", down, "--key", "k"], TERMINAL);
    assert.equal(coloured.code, 3, coloured.output);
    assert.ok(coloured.output.includes(`${ESC}31m✗${ESC}39m gateway down`), JSON.stringify(coloured.output));
    const table = await onTerminal(["customers", "list", "--gateway", gw.url], { ...TERMINAL, ...admin });
    assert.equal(table.code, 0, table.output);
    assert.ok(table.output.includes(`${ESC}1mID`), JSON.stringify(table.output));

    const plain = await onTerminal(["doctor", "--gateway", down, "--key", "k"], { ...TERMINAL, NO_COLOR: "1" });
    assert.equal(plain.code, 3, plain.output);
    assert.match(plain.output, /✗ gateway down/);
    assert.ok(!plain.output.includes(`${ESC}31m`), JSON.stringify(plain.output));
    const plainTable = await onTerminal(["customers", "list", "--gateway", gw.url], {
      ...TERMINAL,
      ...admin,
      NO_COLOR: "1",
    });
    assert.ok(!plainTable.output.includes(ESC), JSON.stringify(plainTable.output));
    const plainHelp = await onTerminal(["keys", "--help"], { ...TERMINAL, NO_COLOR: "1" });
    assert.match(plainHelp.output, /^Usage: tollgate keys/);
    assert.ok(!plainHelp.output.includes(ESC), JSON.stringify(plainHelp.output));
  });

  it(
    "spend on a terminal: a progress line on stderr, erased; the report itself stays clean",
    needsTerminal,
    async () => {
      const file = join(dir, "spend.csv");
      const run = await onTerminal(
        ["spend", "--by", "team", "--format", "csv", "--gateway", gw.url],
        { ...TERMINAL, ...admin },
        ` > ${shellQuote(file)}`,
      );
      assert.equal(run.code, 0, run.output);
      assert.equal(run.output, `  asking ${gw.url} for the spend report…\r${ESC}2K`, JSON.stringify(run.output));
      const csv = await readFile(file, "utf8");
      assert.match(csv, /^team,requests,/);
      assert.ok(!csv.includes("asking") && !csv.includes(ESC), csv);
    },
  );

  it(
    "launch opencode on a terminal: a progress line while the model list is fetched, erased before the output",
    needsTerminal,
    async () => {
      const run = await onTerminal(["launch", "opencode", "--gateway", gw.url, "--key", "k", "--print-env"], TERMINAL);
      assert.equal(run.code, 0, run.output);
      const progress = `  fetching the model list from ${gw.url}…\r${ESC}2K`;
      assert.ok(run.output.startsWith(progress), JSON.stringify(run.output));
      assert.match(run.output.slice(progress.length), /^# opencode through Tollgate\r\nexport TOLLGATE_URL=/);
      assert.equal(run.output.split(progress).length, 2, "shown once");
    },
  );

  it("setup cursor on a terminal: the same progress line, erased", needsTerminal, async () => {
    const run = await onTerminal(["setup", "cursor", "--gateway", gw.url, "--key", "k"], TERMINAL);
    assert.equal(run.code, 0, run.output);
    const progress = `  fetching the model list from ${gw.url}…\r${ESC}2K`;
    assert.ok(run.output.startsWith(`${progress}Cursor through Tollgate`), JSON.stringify(run.output));
  });
});
