import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import { Redis } from "ioredis";
import { type Database, openDatabase } from "../../src/store/database.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { queryLogs } from "../../src/store/logs-repo.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import { TEST_ADMIN_TOKEN } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";
import {
  BOUND_NANO,
  LEFT_NANO,
  LIMIT_NANO,
  MAX_TOKENS,
  MODEL,
  NANO,
  runSessions,
  type Standing,
  sleep,
  standingIn,
  TOO_SMALL,
  usd,
} from "./claude-code-sessions.ts";

// Issue acceptance 1 and 2 with real OS processes: three `tollgate start` processes sharing one PostgreSQL schema and
// one Redis (counters, governance snapshot sync, session hints), as a real cluster runs. budget-concurrency.test.ts
// runs the same traffic against three gateways inside one Node process; this file proves nothing there depends on
// sharing a process (module state, one event loop, one clock).
//
// The traffic and how refusals are read are budget-concurrency.test.ts's (claude-code-sessions.ts). claude-sonnet-4-6 is priced as claude-sonnet-4-5: $3 input, $15 output, $0.30 cache read, $3.75 cache
// write (5 min) per million tokens; a ~125k-token turn costs ≈ $0.05–$0.09, ~75 turns drain $5.
const PROCESSES = 3;
/** How long one process may take to print its "listening" line (a cold start on a loaded 2-core machine is slow). */
const START_DEADLINE_MS = 60_000;

// ---------------------------------------------------------------------------------------------------------------
// The processes.

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

interface GatewayProcess {
  name: string;
  child: ChildProcess;
  url: string;
  dataDir: string;
  /** The process's output so far (the last 64 kB). */
  output(): string;
}

/** Every child started, so a failed test cannot leave one running (and the test file waiting for it). */
const children = new Set<ChildProcess>();

/** Runs `tollgate start` as a real process and waits for its "listening" line; kills it when that takes too long. */
async function startProcess(name: string, env: Record<string, string>, dataDir: string): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [MAIN, "start", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let out = "";
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    const m = /Tollgate listening on (http:\/\/\S+)/.exec(out);
    if (m?.[1]) return { name, child, url: m[1], dataDir, output: () => out };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await kill(child);
      throw new Error(`process ${name} did not start within ${START_DEADLINE_MS} ms:\n${out}`);
    }
    await sleep(25);
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

async function admin(gw: GatewayProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.ok(
    res.status === 200 || res.status === 201,
    `${gw.name}: ${method} ${path}: ${res.status} ${JSON.stringify(json)}`,
  );
  return json;
}

interface BudgetView {
  name: string;
  limitUsd: string;
  spentUsd: string;
  heldUsd: string;
}

async function budgetsOf(gw: GatewayProcess, secret: string): Promise<BudgetView[]> {
  const res = await fetch(`${gw.url}/tollgate/usage`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(res.status, 200, `${gw.name}: usage view`);
  return ((await res.json()) as { budgets: BudgetView[] }).budgets;
}

/** As budget-concurrency.test.ts: lowered caps that cut an answer short while more than 2 % was unspent. */
function truncatedByLoweredCaps(upstream: readonly RecordedRequest[], served: readonly RequestLogRecord[]) {
  const ended = served.map((r) => ({ at: r.startedAt + r.latencyMs, cost: r.costNanoUsd ?? 0 }));
  const bySession = new Map<string, RequestLogRecord[]>();
  for (const r of [...served].sort((a, b) => a.startedAt - b.startedAt)) {
    const list = bySession.get(r.sessionId ?? "") ?? [];
    list.push(r);
    bySession.set(r.sessionId ?? "", list);
  }
  const seen = new Map<string, number>();
  let truncated = 0;
  let mostUnspent = 0;
  for (const req of upstream) {
    const session = String(req.headers["x-claude-code-session-id"] ?? "");
    const nth = seen.get(session) ?? 0;
    seen.set(session, nth + 1);
    const cap = (req.json as { max_tokens: number }).max_tokens;
    const row = bySession.get(session)?.[nth];
    if (row === undefined || (req.script?.text ?? "").split(" ").length <= cap) continue;
    const unspent = LIMIT_NANO - ended.filter((e) => e.at <= row.startedAt).reduce((sum, e) => sum + e.cost, 0);
    if (unspent <= LEFT_NANO) continue;
    truncated++;
    mostUnspent = Math.max(mostUnspent, unspent);
  }
  return { truncated, mostUnspent };
}

/** Every log row of one key in the shared schema, oldest first. */
async function rowsOf(db: Database, keyId: string): Promise<RequestLogRecord[]> {
  const all: RequestLogRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await queryLogs(db.db, { virtualKeyId: keyId, limit: 1000, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all.reverse();
}

// ---------------------------------------------------------------------------------------------------------------

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skip = (await requireRedis(redisUrl)) ?? (await requirePostgres(pgUrl));

describe("three `tollgate start` processes sharing PostgreSQL and Redis", { skip: skip ?? false }, () => {
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const schema = randomSchemaName("gwprocs");
  let mock: MockUpstream;
  let root = "";
  let db: Database | undefined;
  const gateways: GatewayProcess[] = [];

  before(async () => {
    mock = await startMockUpstream();
    root = await mkdtemp(join(tmpdir(), "tollgate-processes-"));
    // Creates the schema and runs the migrations, so the three processes can start side by side (concurrent
    // migrations of one schema would race). `tollgate start` has no schema flag: the schema comes with the URL
    // (libpq `options`), as an operator would give it.
    db = await openDatabase({ url: pgUrl, dataDir: root, schema });
    const url = new URL(pgUrl);
    url.searchParams.set("options", `-c search_path=${schema}`);
    const env = {
      ANTHROPIC_API_KEY: "test-anthropic-key",
      TOLLGATE_ANTHROPIC_BASE_URL: mock.url,
      TOLLGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      TOLLGATE_DATABASE_URL: url.toString(),
      TOLLGATE_REDIS_URL: redisUrl,
      TOLLGATE_REDIS_PREFIX: prefix,
    };
    const started = performance.now();
    const up = await Promise.allSettled(["A", "B", "C"].map((name) => startProcess(name, env, join(root, name))));
    for (const result of up) {
      if (result.status === "rejected") throw result.reason;
      gateways.push(result.value);
    }
    process.stderr.write(`[gateway-processes] three processes up in ${(performance.now() - started).toFixed(0)} ms\n`);
  });

  after(async () => {
    await Promise.all([...children].map(kill));
    await db?.close();
    await mock?.close();
    if (root) await rm(root, { recursive: true, force: true });
    await dropSchema(pgUrl, schema);
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const process0 = () => {
    const a = gateways[0];
    assert.ok(a, "process A is up");
    return a;
  };

  async function createKey(name: string, budgets?: unknown[]): Promise<{ id: string; secret: string }> {
    const key = await admin(process0(), "POST", "/virtual-keys", { name, ...(budgets ? { budgets } : {}) });
    return { id: String(key.id), secret: String(key.secret) };
  }

  /** Until every process has the key created on A (snapshot sync). */
  async function everywhere(secret: string): Promise<void> {
    const deadline = Date.now() + 5000;
    for (const gw of gateways) {
      for (;;) {
        const res = await fetch(`${gw.url}/tollgate/usage`, { headers: { authorization: `Bearer ${secret}` } });
        await res.arrayBuffer();
        if (res.status === 200) break;
        assert.ok(Date.now() < deadline, `the key reached process ${gw.name}`);
        await sleep(10);
      }
    }
  }

  it("a $5 key budget, 20 Claude-Code-shaped sessions round-robin over the processes: ≤ $5 + 20 × 1¢, admitted until < 2 % was left", async (t) => {
    const key = await createKey("claude-code-processes", [{ name: "daily", limitUsd: "5", period: "1d" }]);
    await everywhere(key.secret);
    mock.reset();
    const runStarted = performance.now();
    const traffic = await runSessions(
      (i) => ({ gateway: gateways[i % PROCESSES] ?? process0(), secret: key.secret }),
      5,
    );
    const runMs = performance.now() - runStarted;
    const upstream = mock.requests.filter((r) => r.route === "anthropic-messages");

    // Each process writes its rows in batches (≤ ~1 s behind): wait for all of them in the shared schema.
    assert.ok(db);
    const want = upstream.length + traffic.refusals.length;
    const rowsDeadline = Date.now() + 10_000;
    let rows = await rowsOf(db, key.id);
    while (rows.length < want && Date.now() < rowsDeadline) {
      await sleep(100);
      rows = await rowsOf(db, key.id);
    }
    const served = rows.filter((r) => r.status === 200);
    const committed = served.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
    const lowered = upstream.filter((r) => (r.json as { max_tokens: number }).max_tokens < MAX_TOKENS);
    const caps = lowered.map((r) => (r.json as { max_tokens: number }).max_tokens);
    const early = truncatedByLoweredCaps(upstream, served);
    // The Redis counter as each process reports it (one shared counter: the three must agree).
    const views = await Promise.all(gateways.map((gw) => budgetsOf(gw, key.secret)));
    const most = (messages: readonly string[], pick: (s: Standing) => number) => {
      const values = messages.flatMap((m) => {
        const standing = standingIn(m);
        return standing ? [pick(standing)] : [];
      });
      return values.length ? usd(Math.max(...values)) : "-";
    };

    t.diagnostic(`traffic ran ${(runMs / 1000).toFixed(1)} s`);
    t.diagnostic(
      `committed ${usd(committed)} of ${usd(LIMIT_NANO)}: overshoot ${usd(committed - LIMIT_NANO)} ` +
        `(bound ${usd(BOUND_NANO)}); admitted ${upstream.length} (completed ${traffic.completed}, ` +
        `cut ${traffic.cuts.length}); refused ${traffic.refusals.length}; rows ${rows.length}`,
    );
    t.diagnostic(
      `free (limit − spent − held) at most ${most(traffic.refusals, (s) => s.free)} at a refusal, ` +
        `${most(traffic.cuts, (s) => s.free)} at a cut; unspent (limit − spent) at most ` +
        `${most(traffic.refusals, (s) => s.unspent)} at a refusal, ${most(traffic.cuts, (s) => s.unspent)} at a cut`,
    );
    t.diagnostic(
      `max_tokens lowered ${lowered.length} times (lowest ${caps.length ? Math.min(...caps) : "-"}), ` +
        `${traffic.stoppedAtMaxTokens} streams stopped there; lowered caps that cut an answer short while more ` +
        `than 2 % was unspent: ${early.truncated} (most unspent then ${early.truncated ? usd(early.mostUnspent) : "-"})`,
    );
    t.diagnostic(`in flight: at most ${traffic.maxInFlight}, mean ${traffic.meanInFlight.toFixed(1)}`);
    gateways.forEach((gw, i) => {
      for (const v of views[i] ?? [])
        t.diagnostic(`${gw.name}: budget "${v.name}": spent $${v.spentUsd}, held $${v.heldUsd} of $${v.limitUsd}`);
    });

    assert.deepEqual(traffic.unexpected, [], "only budget refusals and budget cuts");
    assert.ok(committed <= BOUND_NANO, `committed ${usd(committed)} > ${usd(BOUND_NANO)}`);
    assert.ok(committed >= LIMIT_NANO - LEFT_NANO, `committed ${usd(committed)}: refused with more than 2 % left`);
    assert.ok(traffic.refusals.length > 0, "the run ended on refusals");
    for (const message of [...traffic.refusals, ...traffic.cuts]) {
      const standing = standingIn(message);
      // "Nearly exhausted": the remainder could not buy the input and the minimum output (its own test, below).
      if (TOO_SMALL.test(message)) continue;
      assert.ok(standing !== null, `no standing in: ${message}`);
      assert.ok(standing.free < LEFT_NANO, `refused or cut with ${usd(standing.free)} free: ${message}`);
    }
    assert.ok(lowered.length + traffic.cuts.length > 0, "no lowered max_tokens and no cut");
    // Every upstream call left a priced row, whichever process served it.
    assert.equal(served.length, upstream.length, "one 200 row per upstream call");
    assert.equal(traffic.completed + traffic.cuts.length, upstream.length);
    for (const r of served) assert.ok((r.costNanoUsd ?? 0) > 0, `unmetered row ${r.id} (${r.errorCode})`);
    assert.equal(rows.filter((r) => r.status === 402).length, traffic.refusals.length);
    const cutRows = served.filter((r) => r.errorCode === "TG_BUDGET_EXHAUSTED");
    assert.equal(cutRows.length, traffic.cuts.length, "one TG_BUDGET_EXHAUSTED row per cut");
    // The shared Redis counter: the same on every process, equal to the log, nothing held afterwards.
    gateways.forEach((gw, i) => {
      const view = views[i]?.find((v) => v.name === "daily");
      assert.ok(view, `${gw.name}: the daily budget on the key's usage view`);
      assert.equal(Math.round(Number(view.spentUsd) * NANO), committed, `${gw.name}: Redis counter = log`);
      assert.equal(view.heldUsd, "0.000000000", `${gw.name}: no hold left behind`);
    });
    for (const gw of gateways) assert.ok(gw.child.exitCode === null, `${gw.name} still runs:\n${gw.output()}`);
  });

  it("a key revoked through A's admin API is refused by B and C (401, Anthropic dialect) within 1 s", async (t) => {
    const key = await createKey("to-revoke-processes");
    await everywhere(key.secret);
    const [a, b, c] = gateways;
    assert.ok(a && b && c);
    const script = JSON.stringify({ scenario: "text", usage: { input_tokens: 10, output_tokens: 20 } });
    /** One call with the Anthropic SDK: 200, or the status and error type of the SDK's APIError. */
    const probe = async (gw: GatewayProcess): Promise<{ status: number; type?: string; message?: string }> => {
      const client = new Anthropic({ apiKey: key.secret, baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
      try {
        await client.messages.create(
          { model: MODEL, max_tokens: 20, messages: [{ role: "user", content: "hi" }] },
          { headers: { "x-mock-script": script } },
        );
        return { status: 200 };
      } catch (err) {
        if (!(err instanceof Anthropic.APIError)) throw err;
        const body = err.error as { type?: string; error?: { type?: string; message?: string } } | undefined;
        return {
          status: err.status ?? 0,
          ...(body?.error?.type ? { type: body.error.type } : {}),
          ...(body?.error?.message ? { message: body.error.message } : {}),
        };
      }
    };
    for (const gw of [b, c]) assert.equal((await probe(gw)).status, 200, `${gw.name} admits the key before`);

    // Timed from the moment the revocation is sent, not from A's answer.
    const revokedAt = performance.now();
    await admin(a, "POST", `/virtual-keys/${key.id}/revoke`);
    const refusedAfter = new Map<string, number>();
    const last = new Map<string, { status: number; type?: string; message?: string }>();
    while (refusedAfter.size < 2 && performance.now() - revokedAt < 3_000) {
      await Promise.all(
        [b, c].map(async (gw) => {
          if (refusedAfter.has(gw.name)) return;
          const seen = await probe(gw);
          last.set(gw.name, seen);
          if (seen.status !== 200) refusedAfter.set(gw.name, performance.now() - revokedAt);
        }),
      );
      if (refusedAfter.size < 2) await sleep(50);
    }
    for (const gw of [b, c]) {
      const ms = refusedAfter.get(gw.name);
      const seen = last.get(gw.name);
      t.diagnostic(
        `${gw.name} refused the revoked key after ${ms?.toFixed(1) ?? "never (3 s)"} ms: ${JSON.stringify(seen)}`,
      );
      assert.ok(ms !== undefined && ms < 1000, `${gw.name}: refused within 1 s (${ms} ms)`);
      assert.equal(seen?.status, 401, `${gw.name}: 401`);
      assert.equal(seen?.type, "authentication_error", `${gw.name}: Anthropic error shape`);
    }
    assert.equal((await probe(a)).status, 401, "A refuses it too");
  });
});
