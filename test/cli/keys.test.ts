import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { formatNanoUsd } from "../../src/metering/pricing/decimal.ts";
import { formatUsd } from "../../src/pipeline/money.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `tollgate` CLI as a child process; stdout is a pipe, so no colours. */
function tollgate(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function json<T>(run: Run): T {
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

interface CreatedKey {
  id: string;
  name: string;
  secret: string;
  status: string;
  budgets: Array<{ limitUsd: string; period: string; mode: string; scopeType: string; scopeId: string }>;
  rateLimits: Array<{ window: string | null; maxRequests: number | null; maxConcurrent: number | null }>;
}

interface SpendReport {
  groupBy: string[];
  data: Array<{ group: Record<string, string | null>; requests: number; costNanoUsd: number; costUsd: string }>;
  totals: { requests: number; costNanoUsd: number };
}

describe("tollgate keys / teams / customers / developers / spend against a running gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let cwd: string;
  /** The CLI with the gateway named by flag and the admin token from the environment. */
  let cli: (...args: string[]) => Promise<Run>;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    cwd = await mkdtemp(join(tmpdir(), "tollgate-cli-keys-"));
    cli = (...args) => tollgate([...args, "--gateway", gw.url], { TOLLGATE_ADMIN_TOKEN: gw.adminToken }, cwd);
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(cwd, { recursive: true, force: true });
  });

  function chat(secret: string, content: string): Promise<Response> {
    return fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content }] }),
    });
  }

  it("create a key with a budget and a rate limit → use it → spend --by key shows its exact cost → revoke → 401", async () => {
    const key = json<CreatedKey>(
      await cli("keys", "create", "ci-bot", "--budget", "5/day", "--rate", "60rpm", "--format", "json"),
    );
    assert.match(key.secret, /^sk-tg-/);
    assert.equal(key.status, "active");
    assert.deepEqual(
      key.budgets.map((b) => [b.scopeType, b.scopeId, b.limitUsd, b.period, b.mode]),
      [["key", key.id, "5", "1d", "calendar"]],
    );
    assert.deepEqual(
      key.rateLimits.map((r) => [r.window, r.maxRequests, r.maxConcurrent]),
      [["1m", 60, null]],
    );
    // A second key with a differently sized request: the report must keep the two apart.
    const other = json<CreatedKey>(await cli("keys", "create", "other", "--budget", "50/month", "--format", "json"));

    const reply = await chat(key.secret, "hello");
    assert.equal(reply.status, 200, await reply.clone().text());
    await reply.arrayBuffer();
    const otherReply = await chat(other.secret, "a much longer prompt ".repeat(50));
    assert.equal(otherReply.status, 200);
    await otherReply.arrayBuffer();

    const rows = await gw.waitForLogs(2);
    const row = rows.find((r) => r.virtualKeyId === key.id);
    const otherRow = rows.find((r) => r.virtualKeyId === other.id);
    assert.ok(row?.costNanoUsd && otherRow?.costNanoUsd, "both requests are priced");
    assert.notEqual(row.costNanoUsd, otherRow.costNanoUsd);

    const report = json<SpendReport>(await cli("spend", "--by", "key", "--since", "1h", "--format", "json"));
    assert.deepEqual(report.groupBy, ["key"]);
    const mine = report.data.filter((d) => d.group.key === key.id);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]?.costNanoUsd, row.costNanoUsd, "exactly that key's cost");
    assert.equal(mine[0]?.costUsd, formatUsd(row.costNanoUsd));
    assert.equal(mine[0]?.requests, 1);
    assert.equal(report.data.find((d) => d.group.key === other.id)?.costNanoUsd, otherRow.costNanoUsd);
    assert.equal(report.totals.costNanoUsd, row.costNanoUsd + otherRow.costNanoUsd);

    // Filtered by the key's name, the same figure; the table names the key; CSV carries the exact amount.
    const filtered = json<SpendReport>(await cli("spend", "--key", "ci-bot", "--format", "json"));
    assert.equal(filtered.totals.costNanoUsd, row.costNanoUsd);
    const table = await cli("spend", "--by", "key");
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      new RegExp(`ci-bot \\(${key.id}\\)\\s+1\\s+\\$${formatNanoUsd(row.costNanoUsd).replace(".", "\\.")}`),
    );
    assert.match(table.stdout, /TOTAL\s+2\s/);
    const csv = await cli("spend", "--by", "key", "--format", "csv");
    assert.equal(csv.code, 0, csv.stderr);
    const csvLine = `${key.id},1,0,${row.costNanoUsd},${formatUsd(row.costNanoUsd)},`;
    assert.ok(
      csv.stdout.split("\r\n").some((l) => l.startsWith(csvLine)),
      csv.stdout,
    );

    const revoked = await cli("keys", "revoke", "ci-bot");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`Revoked virtual key ${key.id}`));
    const refused = await chat(key.secret, "hello again");
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
    assert.equal(json<{ status: string }>(await cli("keys", "show", key.id, "--format", "json")).status, "revoked");
    // The other key is untouched.
    const still = await chat(other.secret, "still here");
    assert.equal(still.status, 200);
    await still.arrayBuffer();
  });

  it("rotate gives a new secret; with --grace 0 the old one stops at once", async () => {
    const key = json<CreatedKey>(await cli("keys", "create", "rotating", "--format", "json"));
    const rotated = json<{ secret: string }>(await cli("keys", "rotate", key.id, "--grace", "0", "--format", "json"));
    assert.notEqual(rotated.secret, key.secret);
    const old = await chat(key.secret, "old");
    assert.equal(old.status, 401);
    await old.arrayBuffer();
    const fresh = await chat(rotated.secret, "new");
    assert.equal(fresh.status, 200);
    await fresh.arrayBuffer();
  });

  it("customers, teams and developers: create (with limits) and list, as tables and JSON", async () => {
    const acme = json<{ id: string; budgets: Array<{ scopeType: string; limitUsd: string; period: string }> }>(
      await cli("customers", "create", "Acme", "--budget", "1000/month", "--label", "tier=gold", "--format", "json"),
    );
    assert.match(acme.id, /^cus_/);
    assert.deepEqual(
      acme.budgets.map((b) => [b.scopeType, b.limitUsd, b.period]),
      [["customer", "1000", "1mo"]],
    );

    const teamCreated = await cli(
      "teams",
      "create",
      "Payments",
      "--customer",
      "Acme",
      "--rate",
      "120rpm",
      "--rate",
      "5concurrent",
    );
    assert.equal(teamCreated.code, 0, teamCreated.stderr);
    const teamId = /Created team (team_\w+) \(Payments\)/.exec(teamCreated.stdout)?.[1];
    assert.ok(teamId, teamCreated.stdout);
    assert.match(teamCreated.stdout, /120 requests\/1m/);
    assert.match(teamCreated.stdout, /5 concurrent/);

    const dev = json<{ id: string; teamId: string; email: string }>(
      await cli(
        "developers",
        "create",
        "Ada Lovelace",
        "--email",
        "Ada@Example.com",
        "--team",
        "Payments",
        "--format",
        "json",
      ),
    );
    assert.equal(dev.teamId, teamId);
    assert.equal(dev.email, "ada@example.com");

    const customers = json<Array<{ id: string; name: string; labels: Record<string, string> }>>(
      await cli("customers", "list", "--format", "json"),
    );
    assert.deepEqual(
      customers.map((c) => [c.id, c.name, c.labels]),
      [[acme.id, "Acme", { tier: "gold" }]],
    );
    const teams = json<Array<{ id: string; customerId: string }>>(
      await cli("teams", "list", "--customer", acme.id, "--format", "json"),
    );
    assert.deepEqual(
      teams.map((t) => [t.id, t.customerId]),
      [[teamId, acme.id]],
    );
    const developers = json<Array<{ id: string }>>(
      await cli("developers", "list", "--team", "Payments", "--format", "json"),
    );
    assert.deepEqual(
      developers.map((d) => d.id),
      [dev.id],
    );

    const customerTable = await cli("customers", "list");
    assert.equal(customerTable.code, 0, customerTable.stderr);
    const [header, ...lines] = customerTable.stdout.trimEnd().split("\n");
    assert.match(header ?? "", /^ID\s+NAME\s+DESCRIPTION\s+LABELS\s+CREATED$/);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] ?? "",
      new RegExp(`^${acme.id}\\s+Acme\\s+-\\s+tier=gold\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}Z$`),
    );
    const teamTable = await cli("teams", "list");
    assert.match(teamTable.stdout, new RegExp(`^${teamId}\\s+Payments\\s+${acme.id}\\s`, "m"));
    const devTable = await cli("developers", "list");
    assert.match(devTable.stdout, new RegExp(`^${dev.id}\\s+Ada Lovelace\\s+ada@example\\.com\\s+${teamId}\\s`, "m"));
    assert.ok(!(customerTable.stdout + teamTable.stdout + devTable.stdout).includes("\u001b["), "no colours off a TTY");

    // A key owned by the team and used by the developer, named rather than by id.
    const key = json<{ teamId: string; developerId: string }>(
      await cli(
        "keys",
        "create",
        "ada-laptop",
        "--team",
        "Payments",
        "--developer",
        "Ada Lovelace",
        "--format",
        "json",
      ),
    );
    assert.deepEqual([key.teamId, key.developerId], [teamId, dev.id]);
    const keyTable = await cli("keys", "list", "--team", "Payments");
    assert.match(keyTable.stdout, /^vk_\w+\s+ada-laptop\s+active\s+sk-tg-/m);
    assert.equal(keyTable.stdout.trimEnd().split("\n").length, 2, keyTable.stdout);

    // The owner refuses to go while it owns something; the API's advice is given as the flag.
    const refused = await cli("customers", "delete", "Acme");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /has 1 team.*--cascade/);
  });

  it("usage errors exit 2, API errors 1, an unreachable gateway 3 — each with a clear message", async () => {
    const badBudget = await cli("keys", "create", "x", "--budget", "5/fortnight");
    assert.equal(badBudget.code, 2);
    assert.match(badBudget.stderr, /invalid budget "5\/fortnight"/);
    const badRate = await cli("keys", "create", "x", "--rate", "sixty");
    assert.equal(badRate.code, 2);
    assert.match(badRate.stderr, /invalid rate limit "sixty": expected e\.g\. 60rpm/);
    const unknownOption = await cli("teams", "list", "--colour");
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /unknown option '--colour'/);
    const missing = await cli("keys", "revoke");
    assert.equal(missing.code, 2);
    const badFormat = await cli("keys", "list", "--format", "yaml");
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /Allowed choices are table, json/);
    // Nothing was created by the refused commands.
    assert.equal(
      json<unknown[]>(await cli("keys", "list", "--format", "json")).some((k) => (k as { name: string }).name === "x"),
      false,
    );

    const invalid = await cli("developers", "create", "Bob", "--email", "not-an-email");
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /email: must be an email address/);
    const unknownTeam = await cli("keys", "create", "y", "--team", "team_nope");
    assert.equal(unknownTeam.code, 1);
    assert.match(unknownTeam.stderr, /no team "team_nope"/);

    const port = await freePort();
    const down = await tollgate(
      ["keys", "list", "--gateway", `http://127.0.0.1:${port}`],
      { TOLLGATE_ADMIN_TOKEN: "x" },
      cwd,
    );
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it("the admin token comes from the data dir when it is not in the environment", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "tollgate-cli-token-"));
    try {
      const none = await tollgate(["keys", "list", "--gateway", gw.url, "--data-dir", dataDir], {}, cwd);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no admin token: set TOLLGATE_ADMIN_TOKEN/);
      await writeFile(join(dataDir, "admin-token"), "wrong-token\n");
      const wrong = await tollgate(["keys", "list", "--gateway", gw.url, "--data-dir", dataDir], {}, cwd);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /refused the admin token/);
      await writeFile(join(dataDir, "admin-token"), `${gw.adminToken}\n`);
      const viaFlag = await tollgate(
        ["keys", "list", "--format", "json", "--gateway", gw.url, "--data-dir", dataDir],
        {},
        cwd,
      );
      assert.ok(Array.isArray(json(viaFlag)));
      // TOLLGATE_URL and TOLLGATE_DATA_DIR work as well as the flags.
      const viaEnv = await tollgate(
        ["customers", "list", "--format", "json"],
        { TOLLGATE_URL: gw.url, TOLLGATE_DATA_DIR: dataDir },
        cwd,
      );
      assert.ok(Array.isArray(json(viaEnv)));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("every command has help", async () => {
    for (const args of [
      ["keys", "--help"],
      ["keys", "create", "--help"],
      ["teams", "update", "--help"],
      ["spend", "--help"],
    ]) {
      const run = await tollgate(args, {}, cwd);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Usage: tollgate /);
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  return typeof address === "object" && address ? address.port : 1;
}
