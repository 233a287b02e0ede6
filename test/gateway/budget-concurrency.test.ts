import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it, type TestContext } from "node:test";
import { Redis } from "ioredis";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream, RecordedRequest } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

import {
  BOUND_NANO,
  GRANULARITY_NANO,
  type Lane,
  LEFT_NANO,
  LIMIT_NANO,
  MAX_TOKENS,
  NANO,
  runSessions,
  SESSIONS,
  type Standing,
  sleep,
  standingIn,
  TOO_SMALL,
  type Traffic,
  usd,
} from "./claude-code-sessions.ts";

interface BudgetView {
  name: string;
  limitUsd: string;
  spentUsd: string;
  heldUsd: string;
}

async function budgetsOf(gateway: TestGateway, secret: string): Promise<BudgetView[]> {
  const res = await fetch(`${gateway.url}/tollgate/usage`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { budgets: BudgetView[] }).budgets;
}

async function admin(gateway: TestGateway, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gateway.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.ok(res.status === 200 || res.status === 201, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Every row of the shared log (all writers flushed first). */
async function allRows(gateways: readonly TestGateway[]): Promise<RequestLogRecord[]> {
  for (const gw of gateways) await gw.gateway.logWriter.flush();
  const first = gateways[0];
  assert.ok(first);
  return first.logs();
}

/**
 * The acceptance checks for one run: `budgets` are the budget names that must hold (the key's, or the team's and
 * the customer's), `keyIds` the keys whose rows count against them.
 */
async function checkRun(
  t: TestContext,
  run: {
    traffic: Traffic;
    mock: MockUpstream;
    gateways: readonly TestGateway[];
    keyIds: readonly string[];
    probe: { gateway: TestGateway; secret: string };
    budgets: readonly string[];
    /** The budget that binds (the one refusals and cuts must name); default: every budget in `budgets` may. */
    binding?: { name: string; owner: string };
  },
): Promise<void> {
  const { traffic, mock } = run;
  const rows = (await allRows(run.gateways)).filter(
    (r) => r.virtualKeyId !== null && run.keyIds.includes(r.virtualKeyId),
  );
  const served = rows.filter((r) => r.status === 200);
  const committed = served.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
  const upstream = mock.requests.filter((r) => r.route === "anthropic-messages");
  const lowered = upstream.filter((r) => (r.json as { max_tokens: number }).max_tokens < MAX_TOKENS);
  const views = await budgetsOf(run.probe.gateway, run.probe.secret);
  const truncated = truncatedByLoweredCaps(upstream, served);
  const said = [...traffic.refusals, ...traffic.cuts].map((message) => ({ message, standing: standingIn(message) }));
  const most = (messages: readonly string[], pick: (s: Standing) => number) => {
    const values = messages.flatMap((m) => {
      const standing = standingIn(m);
      return standing ? [pick(standing)] : [];
    });
    return values.length ? usd(Math.max(...values)) : "-";
  };
  const caps = lowered.map((r) => (r.json as { max_tokens: number }).max_tokens);

  t.diagnostic(
    `committed ${usd(committed)} of ${usd(LIMIT_NANO)}: overshoot ${usd(committed - LIMIT_NANO)} ` +
      `(bound ${usd(BOUND_NANO)}); admitted ${upstream.length} (completed ${traffic.completed}, ` +
      `cut ${traffic.cuts.length}); refused ${traffic.refusals.length}`,
  );
  // Unspent counts what requests in flight hold (their real input mostly, which they will spend) as left.
  t.diagnostic(
    `free (limit − spent − held) at most ${most(traffic.refusals, (s) => s.free)} at a refusal, ` +
      `${most(traffic.cuts, (s) => s.free)} at a cut; unspent (limit − spent) at most ` +
      `${most(traffic.refusals, (s) => s.unspent)} at a refusal, ${most(traffic.cuts, (s) => s.unspent)} at a cut`,
  );
  const early = truncated.filter((c) => c.unspent > LEFT_NANO);
  t.diagnostic(
    `max_tokens lowered ${lowered.length} times (lowest ${caps.length ? Math.min(...caps) : "-"}), ` +
      `${traffic.stoppedAtMaxTokens} streams stopped there; answers a lowered cap cut short: ${truncated.length}, ` +
      `${early.length} of them while more than 2 % was unspent (most unspent then ` +
      `${early.length ? usd(Math.max(...early.map((c) => c.unspent))) : "-"}, most left after what the requests ` +
      `then in flight went on to spend ${truncated.length ? usd(Math.max(...truncated.map((c) => c.uncommitted))) : "-"})`,
  );
  t.diagnostic(`in flight: at most ${traffic.maxInFlight}, mean ${traffic.meanInFlight.toFixed(1)}`);
  for (const v of views) t.diagnostic(`budget "${v.name}": spent $${v.spentUsd}, held $${v.heldUsd} of $${v.limitUsd}`);

  assert.deepEqual(traffic.unexpected, [], "only budget refusals and budget cuts");
  // Committed spend stays within the stated bound, and the budget was used, not refused early.
  assert.ok(committed <= BOUND_NANO, `committed ${usd(committed)} > ${usd(BOUND_NANO)}`);
  // "Requests keep being admitted until less than 2 % of the budget is left", at the end of the run: every session
  // stopped after RETRIES + 1 refusals in a row, and the last refusal of the last session came with nothing in flight
  // (nothing held), so what was never spent is below what admission refuses at (the remainder buys fewer than
  // minOutputTokens on top of the input) — strictly less than 2 %.
  assert.ok(
    LIMIT_NANO - committed < LEFT_NANO,
    `committed ${usd(committed)}: the run ended with ${usd(LIMIT_NANO - committed)} unspent (≥ 2 %)`,
  );
  // Every refusal and every cut came when less than 2 % of the budget was free: admission refuses only when
  // limit − committed − held by requests in flight cannot pay the input plus minOutputTokens (256) of output, and a
  // stream is cut only when a top-up does not fit what is free.
  assert.ok(traffic.refusals.length > 0, "the run ended on refusals");
  for (const { message, standing } of said) {
    const tooSmall = TOO_SMALL.test(message);
    if (!tooSmall) {
      assert.ok(standing !== null, `no standing in: ${message}`);
      assert.ok(standing.free < LEFT_NANO, `refused or cut with ${usd(standing.free)} free: ${message}`);
    }
    if (run.binding) {
      // The budget that bound is the one named (not another budget the request also counted against).
      const text = message.replaceAll('\\"', '"');
      const { name, owner } = run.binding;
      const state = tooSmall ? "is nearly exhausted" : "is exhausted";
      assert.ok(text.includes(`Budget "${name}" of ${owner} ${state}`), message);
    }
  }
  // A lowered max_tokens cuts an answer short only when what was free at admission (limit − committed − held)
  // bought fewer output tokens than the answer had (≤ MAX_WORDS): input + MAX_WORDS × $15/MTok, less than 2 % here.
  // Held money is not visible afterwards, but it went to the requests then in flight: what was left once they
  // had spent theirs must be below that mark, up to what their holds overestimated (see TRUNCATION_SLACK_NANO).
  for (const c of truncated)
    assert.ok(
      c.uncommitted < LEFT_NANO + TRUNCATION_SLACK_NANO,
      `a lowered max_tokens (${c.cap}) cut an answer of ${c.words} words short with ${usd(c.unspent)} unspent and ` +
        `${usd(c.uncommitted)} left after the ${c.inFlight} requests in flight`,
    );
  // The end of the budget was enforced on running streams: lowered caps reached the upstream, or streams were cut.
  assert.ok(lowered.length + traffic.cuts.length > 0, "no lowered max_tokens and no cut");
  // Every upstream call left a priced row; the counters agree with the log and hold nothing afterwards.
  assert.equal(served.length, upstream.length, "one 200 row per upstream call");
  assert.equal(traffic.completed + traffic.cuts.length, upstream.length);
  for (const r of served) assert.ok((r.costNanoUsd ?? 0) > 0, `unmetered row ${r.id} (${r.errorCode})`);
  assert.equal(rows.filter((r) => r.status === 402).length, traffic.refusals.length);
  const cutRows = served.filter((r) => r.errorCode === "TG_BUDGET_EXHAUSTED");
  assert.equal(cutRows.length, traffic.cuts.length, "one TG_BUDGET_EXHAUSTED row per cut");
  for (const r of cutRows) assert.ok(r.usageEstimated, "a cut stream's output is counted from what was relayed");
  for (const name of run.budgets) {
    const view = views.find((v) => v.name === name);
    assert.ok(view, `budget ${name} on the key's usage view`);
    assert.equal(Math.round(Number(view.spentUsd) * NANO), committed, `budget ${name}: counter = log`);
    assert.equal(view.heldUsd, "0.000000000", `budget ${name}: no hold left behind`);
  }
}

/** An answer a lowered max_tokens cut short (the script had more words than the cap). */
interface Truncation {
  cap: number;
  words: number;
  /** limit − spend of the rows that had ended before the call started (holds not counted). */
  unspent: number;
  /** … minus what the requests in flight then (started before, ended after) went on to spend. */
  uncommitted: number;
  inFlight: number;
}

/**
 * What the holds of requests in flight may have held beyond what they went on to spend, in total, when an answer
 * was cut short: each holds its real input (after the true-up) plus the key's typical output (≈ the mean of
 * MIN_WORDS…MAX_WORDS tokens, $0.02) plus one top-up step, and may spend as little as MIN_WORDS of output. Summed
 * over the sessions in flight this is loose; measured runs stay far below it.
 */
const TRUNCATION_SLACK_NANO = SESSIONS * (GRANULARITY_NANO + 25_000_000);

/**
 * Answers that a lowered max_tokens cut short, with what was unspent when their call started. Upstream calls and 200
 * rows are paired per session, in order.
 */
function truncatedByLoweredCaps(
  upstream: readonly RecordedRequest[],
  served: readonly RequestLogRecord[],
): Truncation[] {
  const ended = served.map((r) => ({ start: r.startedAt, at: r.startedAt + r.latencyMs, cost: r.costNanoUsd ?? 0 }));
  const bySession = new Map<string, RequestLogRecord[]>();
  for (const r of [...served].sort((a, b) => a.startedAt - b.startedAt)) {
    const list = bySession.get(r.sessionId ?? "") ?? [];
    list.push(r);
    bySession.set(r.sessionId ?? "", list);
  }
  const seen = new Map<string, number>();
  const truncated: Truncation[] = [];
  for (const req of upstream) {
    const session = String(req.headers["x-claude-code-session-id"] ?? "");
    const nth = seen.get(session) ?? 0;
    seen.set(session, nth + 1);
    const cap = (req.json as { max_tokens: number }).max_tokens;
    const row = bySession.get(session)?.[nth];
    const words = (req.script?.text ?? "").split(" ").length;
    if (row === undefined || words <= cap) continue;
    const unspent = LIMIT_NANO - ended.filter((e) => e.at <= row.startedAt).reduce((sum, e) => sum + e.cost, 0);
    const running = ended.filter((e) => e.start < row.startedAt && e.at > row.startedAt);
    const uncommitted = unspent - running.reduce((sum, e) => sum + e.cost, 0);
    truncated.push({ cap, words, unspent, uncommitted, inFlight: running.length });
  }
  return truncated;
}

async function createKeyWithBudget(gateway: TestGateway, name: string) {
  const key = await admin(gateway, "POST", "/virtual-keys", {
    name,
    budgets: [{ name: "daily", limitUsd: "5", period: "1d" }],
  });
  return { id: String(key.id), secret: String(key.secret) };
}

describe("20 Claude-Code-shaped sessions against a $5 key budget, one gateway (in-process counters)", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  it("commits ≤ $5 + 20 × 1¢ and admits until less than 2 % is left", async (t) => {
    const key = await createKeyWithBudget(gw, "claude-code");
    const traffic = await runSessions(() => ({ gateway: gw, secret: key.secret }), 1);
    await checkRun(t, {
      traffic,
      mock,
      gateways: [gw],
      keyIds: [key.id],
      probe: { gateway: gw, secret: key.secret },
      budgets: ["daily"],
    });
  });

  it("team and customer budgets ($5 each) hold while two keys without budgets share them", async (t) => {
    mock.reset();
    const customer = await admin(gw, "POST", "/customers", { name: "acme" });
    const team = await admin(gw, "POST", "/teams", { name: "platform", customerId: customer.id });
    await admin(gw, "POST", "/budgets", {
      name: "team-daily",
      scopeType: "team",
      scopeId: team.id,
      limitUsd: "5",
      period: "1d",
    });
    await admin(gw, "POST", "/budgets", {
      name: "customer-daily",
      scopeType: "customer",
      scopeId: customer.id,
      limitUsd: "5",
      period: "1d",
    });
    const keys = await Promise.all(
      ["alice", "bob"].map(async (name) => {
        const key = await admin(gw, "POST", "/virtual-keys", { name, teamId: team.id });
        return { id: String(key.id), secret: String(key.secret) };
      }),
    );
    const [alice, bob] = keys;
    assert.ok(alice && bob);
    // Ten sessions on each key.
    const traffic = await runSessions((i) => ({ gateway: gw, secret: (i % 2 === 0 ? alice : bob).secret }), 2);
    await checkRun(t, {
      traffic,
      mock,
      gateways: [gw],
      keyIds: [alice.id, bob.id],
      probe: { gateway: gw, secret: alice.secret },
      budgets: ["team-daily", "customer-daily"],
    });
  });

  it("the customer budget binds ($5 over two teams of $10): it holds and its name is on every refusal", async (t) => {
    mock.reset();
    const setup = await customerBoundSetup(gw, "memory");
    const traffic = await runSessions((i) => setup.laneOf(gw, i), 5);
    await checkCustomerRun(t, setup, { traffic, mock, gateways: [gw], probe: gw });
  });
});

/**
 * One customer with a $5 budget over two teams with $10 budgets each, one key per team: the customer budget is the
 * one that binds, so a customer-level admission that let requests through would overshoot it.
 */
async function customerBoundSetup(gw: TestGateway, tag: string) {
  const customer = await admin(gw, "POST", "/customers", { name: `bound-${tag}` });
  const keys: { id: string; secret: string }[] = [];
  for (const name of ["red", "blue"]) {
    const team = await admin(gw, "POST", "/teams", { name: `${name}-${tag}`, customerId: customer.id });
    await admin(gw, "POST", "/budgets", {
      name: `team-${name}-daily`,
      scopeType: "team",
      scopeId: team.id,
      limitUsd: "10",
      period: "1d",
    });
    const key = await admin(gw, "POST", "/virtual-keys", { name: `${name}-key-${tag}`, teamId: team.id });
    keys.push({ id: String(key.id), secret: String(key.secret) });
  }
  await admin(gw, "POST", "/budgets", {
    name: "customer-daily",
    scopeType: "customer",
    scopeId: customer.id,
    limitUsd: "5",
    period: "1d",
  });
  const [red, blue] = keys;
  assert.ok(red && blue);
  return {
    customer: `bound-${tag}`,
    red,
    blue,
    /** Ten sessions on each team's key. */
    laneOf: (gateway: TestGateway, session: number): Lane => ({
      gateway,
      secret: (session % 2 === 0 ? red : blue).secret,
    }),
  };
}

async function checkCustomerRun(
  t: TestContext,
  setup: Awaited<ReturnType<typeof customerBoundSetup>>,
  run: { traffic: Traffic; mock: MockUpstream; gateways: readonly TestGateway[]; probe: TestGateway },
): Promise<void> {
  await checkRun(t, {
    ...run,
    keyIds: [setup.red.id, setup.blue.id],
    probe: { gateway: run.probe, secret: setup.red.secret },
    budgets: ["customer-daily"],
    binding: { name: "customer-daily", owner: `customer "${setup.customer}"` },
  });
  // Each team's budget took its own key's spend only, and was never near its $10.
  const rows = (await allRows(run.gateways)).filter((r) => r.status === 200);
  for (const [team, key] of [
    ["red", setup.red],
    ["blue", setup.blue],
  ] as const) {
    const spent = rows.filter((r) => r.virtualKeyId === key.id).reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
    const view = (await budgetsOf(run.probe, key.secret)).find((v) => v.name === `team-${team}-daily`);
    assert.ok(view, `team-${team}-daily on the usage view`);
    assert.equal(Math.round(Number(view.spentUsd) * NANO), spent, `team-${team}-daily: counter = log`);
    assert.equal(view.heldUsd, "0.000000000");
    assert.ok(spent > 0 && spent < LIMIT_NANO, `team ${team} spent ${usd(spent)}`);
  }
}

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skipShared = (await requireRedis(redisUrl)) ?? (await requirePostgres(pgUrl));

describe("the same across three gateway processes sharing PostgreSQL and Redis", { skip: skipShared ?? false }, () => {
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const schema = randomSchemaName("budgetconc");
  let mock: MockUpstream;
  const gateways: TestGateway[] = [];

  before(async () => {
    mock = await startMockUpstream();
    const env = { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix };
    // One after the other: the first runs the migrations.
    for (let i = 0; i < 3; i++)
      gateways.push(await startTestGateway({ upstreamUrl: mock.url, env, databaseUrl: pgUrl, databaseSchema: schema }));
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await mock?.close();
    await dropSchema(pgUrl, schema);
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** Until every process has the key created on the first (snapshot sync). */
  async function everywhere(secret: string): Promise<void> {
    const deadline = Date.now() + 5000;
    for (const gw of gateways) {
      for (;;) {
        const res = await fetch(`${gw.url}/tollgate/usage`, { headers: { authorization: `Bearer ${secret}` } });
        await res.arrayBuffer();
        if (res.status === 200) break;
        assert.ok(Date.now() < deadline, "the key reached every process");
        await sleep(10);
      }
    }
  }

  it("a $5 key budget: sessions spread round-robin over the processes", async (t) => {
    const [a] = gateways;
    assert.ok(a);
    const key = await createKeyWithBudget(a, "claude-code-shared");
    await everywhere(key.secret);
    const traffic = await runSessions((i) => ({ gateway: gateways[i % 3] ?? a, secret: key.secret }), 3);
    await checkRun(t, {
      traffic,
      mock,
      gateways,
      keyIds: [key.id],
      probe: { gateway: a, secret: key.secret },
      budgets: ["daily"],
    });
  });

  it("the customer budget binds ($5 over two teams of $10), sessions spread over the processes", async (t) => {
    mock.reset();
    const [a] = gateways;
    assert.ok(a);
    const setup = await customerBoundSetup(a, "redis");
    await everywhere(setup.red.secret);
    await everywhere(setup.blue.secret);
    const traffic = await runSessions((i) => setup.laneOf(gateways[i % 3] ?? a, i), 6);
    await checkCustomerRun(t, setup, { traffic, mock, gateways, probe: a });
  });

  // Sessions move between processes: what one process learnt about a session's prompt cache reaches the others
  // through Redis (governance/session-hints.ts), so a 500 KB turn is not estimated as uncached input elsewhere.
  it("a $5 key budget: each session's requests spread round-robin over the processes (no stickiness)", async (t) => {
    mock.reset();
    const [a] = gateways;
    assert.ok(a);
    const key = await createKeyWithBudget(a, "claude-code-unsticky");
    await everywhere(key.secret);
    const traffic = await runSessions(
      (i, attempt) => ({ gateway: gateways[(i + attempt) % 3] ?? a, secret: key.secret }),
      4,
    );
    await checkRun(t, {
      traffic,
      mock,
      gateways,
      keyIds: [key.id],
      probe: { gateway: a, secret: key.secret },
      budgets: ["daily"],
    });
  });
});
