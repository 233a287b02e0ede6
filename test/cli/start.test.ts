import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Every child started, so a failed test cannot leave one running (and the test file waiting for it). */
const children = new Set<ChildProcess>();

/** Runs `tollgate start` as a real process and waits for its "listening" line. */
async function start(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [MAIN, "start", "--port", "0", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  // Generous: on a loaded 2-core CI machine a cold start (migrations, price database) can take well over 15 s.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = /Tollgate listening on (http:\/\/\S+)/.exec(out);
    if (m?.[1]) return { child, url: m[1], output: () => out };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tollgate did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("tollgate start", () => {
  let mock: MockUpstream;
  let dataDir: string;

  before(async () => {
    mock = await startMockUpstream();
    dataDir = await mkdtemp(join(tmpdir(), "tollgate-cli-"));
  });
  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await mock.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("serves, prints a generated admin token once, and flushes every log row on SIGTERM", async () => {
    const env = { OPENAI_API_KEY: "k", TOLLGATE_OPENAI_BASE_URL: `${mock.url}/v1`, TOLLGATE_DATA_DIR: dataDir };
    const gw = await start(env);
    const token = /admin token .*: (tg-admin-\S+)/.exec(gw.output())?.[1];
    assert.ok(token, `admin token printed:\n${gw.output()}`);
    const tokenFile = join(dataDir, "admin-token");
    // The banner: where the data is, the providers found, the dashboard, and the new token with its file.
    const banner = gw.output().split("\n");
    assert.ok(banner.includes(`  data: ${dataDir}`), gw.output());
    assert.ok(banner.includes("  providers: openai"), gw.output());
    assert.ok(banner.includes(`  dashboard: ${gw.url}/ (sign in with the admin token)`), gw.output());
    assert.ok(banner.includes(`  admin token (shown once, kept in ${tokenFile}): ${token}`), gw.output());
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    assert.equal((await readFile(tokenFile, "utf8")).trim(), token);

    assert.equal((await fetch(gw.url, { method: "HEAD" })).status, 200);
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
    assert.equal((await fetch(`${gw.url}/ready`)).status, 200);
    const sent = 25;
    await Promise.all(
      Array.from({ length: sent }, () =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer x" },
          body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
        }).then((r) => r.arrayBuffer()),
      ),
    );
    gw.child.kill("SIGTERM");
    const [code] = await once(gw.child, "exit");
    assert.equal(code, 0, gw.output());

    const db = new BetterSqlite3(join(dataDir, "tollgate.db"), { readonly: true });
    const { n } = db.prepare("select count(*) as n from request_logs").get() as { n: number };
    db.close();
    assert.equal(n, sent, "every request has its row after shutdown");

    // A restart keeps the token and does not print it again, only where it is kept; the banner names the dashboard.
    const again = await start(env);
    assert.ok(!again.output().includes(token), again.output());
    assert.match(again.output(), new RegExp(`admin token: ${tokenFile.replaceAll("/", "\\/")}`));
    assert.match(again.output(), new RegExp(`dashboard: ${again.url}/`));
    const api = await fetch(`${again.url}/api/logs?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(api.status, 200);
    again.child.kill("SIGINT");
    assert.equal((await once(again.child, "exit"))[0], 0);
  });

  it("--host and --data-dir: the flags win over the environment; the database and token go to that dir", async () => {
    const flagDir = join(dataDir, "from-flag");
    const envDir = join(dataDir, "from-env");
    const gw = await start({ TOLLGATE_DATA_DIR: envDir, TOLLGATE_HOST: "localhost" }, [
      "--host",
      "127.0.0.1",
      "--data-dir",
      flagDir,
    ]);
    assert.match(gw.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const banner = gw.output().split("\n");
    assert.ok(banner.includes(`  data: ${flagDir}`), gw.output());
    assert.ok(banner.includes("  providers: none (set e.g. ANTHROPIC_API_KEY)"), gw.output());
    assert.ok(banner.includes(`  dashboard: ${gw.url}/ (sign in with the admin token)`), gw.output());
    const tokenLine = `  admin token (shown once, kept in ${join(flagDir, "admin-token")}): tg-admin-`;
    assert.ok(
      banner.some((l) => l.startsWith(tokenLine)),
      gw.output(),
    );
    assert.ok((await stat(join(flagDir, "tollgate.db"))).isFile(), "the SQLite database is in --data-dir");
    assert.ok((await stat(join(flagDir, "admin-token"))).isFile());
    await assert.rejects(stat(envDir), { code: "ENOENT" }, "TOLLGATE_DATA_DIR is not used");
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
    gw.child.kill("SIGTERM");
    assert.equal((await once(gw.child, "exit"))[0], 0, gw.output());
  });

  it("stops with a clear message on an invalid config file", async () => {
    const config = join(dataDir, "bad.yaml");
    await writeFile(config, "port: eighty\nproviders:\n  x: { baseUrl: 5 }\n");
    const child = spawn(process.execPath, [MAIN, "start", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const [code] = await once(child, "exit");
    assert.equal(code, 1);
    assert.match(err, /is invalid/);
    assert.match(err, /port/);
    assert.match(err, /providers\.x/);
  });

  it("rejects unknown commands and flags", async () => {
    const child = spawn(process.execPath, [MAIN, "frobnicate"], { stdio: ["ignore", "pipe", "pipe"] });
    assert.equal((await once(child, "exit"))[0], 2);
  });
});
