import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { formatUsd } from "../../src/pipeline/money.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { runTollgate, type TollgateRun } from "./support/run-tollgate.ts";

/**
 * `tollgate spend` end to end over more than one dimension: traffic from keys of two teams (and one without a
 * team), sent as different agents and sessions; each report is checked against the request log's own rows.
 */

interface SpendReport {
  groupBy: string[];
  data: Array<{ group: Record<string, string | null>; requests: number; costNanoUsd: number; costUsd: string }>;
  totals: { requests: number; costNanoUsd: number; costUsd: string };
}

const explain = (run: TollgateRun) => `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;

/** Requests and exact cost per group of log rows, keyed by the group's values joined with `|`. */
function expected(
  rows: readonly RequestLogRecord[],
  group: (row: RequestLogRecord) => Array<string | null>,
): Map<string, { requests: number; costNanoUsd: number }> {
  const sums = new Map<string, { requests: number; costNanoUsd: number }>();
  for (const row of rows) {
    const id = group(row)
      .map((v) => v ?? "")
      .join("|");
    const sum = sums.get(id) ?? { requests: 0, costNanoUsd: 0 };
    sum.requests += 1;
    sum.costNanoUsd += row.costNanoUsd ?? 0;
    sums.set(id, sum);
  }
  return sums;
}

describe("tollgate spend by several dimensions", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let rows: RequestLogRecord[];
  let teams: { payments: string; search: string };
  const spend = (...args: string[]) =>
    runTollgate(["spend", ...args, "--gateway", gw.url], { env: { TOLLGATE_ADMIN_TOKEN: gw.adminToken } });

  async function admin<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${gw.url}/api${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as T;
  }

  async function chat(secret: string, userAgent: string, session: string | null, content: string): Promise<void> {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${secret}`,
        "user-agent": userAgent,
        ...(session ? { "x-tollgate-session-id": session } : {}),
      },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content }] }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
  }

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    const payments = await admin<{ id: string }>("/teams", { name: "Payments" });
    const search = await admin<{ id: string }>("/teams", { name: "Search" });
    teams = { payments: payments.id, search: search.id };
    const paymentsKey = await admin<{ secret: string }>("/virtual-keys", { name: "pay", teamId: payments.id });
    const searchKey = await admin<{ secret: string }>("/virtual-keys", { name: "find", teamId: search.id });
    const loneKey = await admin<{ secret: string }>("/virtual-keys", { name: "lone" });
    // Differently sized prompts, so that every group's cost is its own sum and not a multiple of one price.
    const traffic: Array<[string, string, string | null, number]> = [
      [paymentsKey.secret, "claude-cli/2.0.14 (external, cli)", "sess-a", 1],
      [paymentsKey.secret, "claude-cli/2.0.14 (external, cli)", "sess-a", 7],
      [paymentsKey.secret, "opencode/0.15.2", "sess-b", 3],
      [searchKey.secret, "claude-cli/2.0.14 (external, cli)", "sess-c", 20],
      [searchKey.secret, "opencode/0.15.2", null, 11],
      [loneKey.secret, "opencode/0.15.2", null, 40],
    ];
    for (const [secret, ua, session, size] of traffic) await chat(secret, ua, session, "spend me ".repeat(size));
    rows = await gw.waitForLogs(traffic.length);
    assert.equal(rows.length, traffic.length);
    assert.ok(
      rows.every((r) => (r.costNanoUsd ?? 0) > 0),
      "every request is priced",
    );
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("--by team,day --format csv: one line per team and UTC day, exact costs, an empty team for keys without one", async () => {
    const run = await spend("--by", "team,day", "--since", "7d", "--format", "csv");
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.stderr, "", "no progress line off a terminal");
    const [header, ...lines] = run.stdout.split("\r\n").filter((l) => l !== "");
    const columns = (header ?? "").split(",");
    assert.deepEqual(columns.slice(0, 6), ["team", "day", "requests", "unpricedRequests", "costNanoUsd", "costUsd"]);
    const got = new Map(
      lines.map((line) => {
        const [team, day, requests, unpriced, costNano, costUsd] = line.split(",");
        assert.equal(unpriced, "0", line);
        assert.equal(costUsd, formatUsd(Number(costNano)), line);
        return [`${team}|${day}`, { requests: Number(requests), costNanoUsd: Number(costNano) }];
      }),
    );
    const want = expected(rows, (r) => [r.teamId, new Date(r.startedAt).toISOString().slice(0, 10)]);
    assert.deepEqual(got, want);
    // The three owners are all there: both teams and the key without a team.
    const owners = new Set([...got.keys()].map((k) => k.split("|")[0]));
    assert.deepEqual(owners, new Set([teams.payments, teams.search, ""]));
  });

  it("--by agent,session --format json: agents from the user agent, sessions from the header, exact costs", async () => {
    const run = await spend("--by", "agent,session", "--since", "7d", "--format", "json");
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.stderr, "");
    const report = JSON.parse(run.stdout) as SpendReport;
    assert.deepEqual(report.groupBy, ["agent", "session"]);
    const got = new Map(
      report.data.map((d) => {
        assert.equal(d.costUsd, formatUsd(d.costNanoUsd));
        return [
          `${d.group.agent ?? ""}|${d.group.session ?? ""}`,
          { requests: d.requests, costNanoUsd: d.costNanoUsd },
        ];
      }),
    );
    assert.deepEqual(
      got,
      expected(rows, (r) => [r.agent, r.sessionId]),
    );
    assert.deepEqual(
      [...got.keys()].sort(),
      ["claude-code|sess-a", "claude-code|sess-c", "opencode|", "opencode|sess-b"],
      "the log rows were attributed as sent",
    );
    assert.equal(got.get("claude-code|sess-a")?.requests, 2);
    const total = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
    assert.equal(report.totals.requests, rows.length);
    assert.equal(report.totals.costNanoUsd, total);
    assert.equal(report.totals.costUsd, formatUsd(total));
  });

  it("filters combine with grouping: --team Payments --by session", async () => {
    const report = JSON.parse(
      (await spend("--team", "Payments", "--by", "session", "--since", "7d", "--format", "json")).stdout,
    ) as SpendReport;
    const got = new Map(report.data.map((d) => [d.group.session ?? "", d.costNanoUsd]));
    const want = new Map(
      [
        ...expected(
          rows.filter((r) => r.teamId === teams.payments),
          (r) => [r.sessionId],
        ),
      ].map(([k, v]) => [k, v.costNanoUsd]),
    );
    assert.deepEqual(got, want);
    assert.deepEqual([...got.keys()].sort(), ["sess-a", "sess-b"]);
  });

  it("a period with no traffic: --since 7d --until 6d reports nothing", async () => {
    const report = JSON.parse(
      (await spend("--by", "team,day", "--since", "7d", "--until", "6d", "--format", "json")).stdout,
    ) as SpendReport;
    assert.deepEqual(report.data, []);
    assert.equal(report.totals.requests, 0);
  });
});
