import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { GatewayConfig } from "../../src/config/load.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const HOUR = 3_600_000;
const day = (n: number) => Date.UTC(2026, 4, n);
// claude-sonnet-4-5 ($3 in, $15 out per million): 10 in + 100 out = 1,530,000 nano; 10 in + 10 out = 180,000;
// 10 in + 4000 out = 60,030,000.
const CALL = { input_tokens: 10, output_tokens: 100 };
const CALL_NANO = 1_530_000;
const SMALL = { input_tokens: 10, output_tokens: 10 };
const BIG = { input_tokens: 10, output_tokens: 4000 };

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

async function startReceiver() {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface AnomalyPayload {
  type: string;
  kind: string;
  entity: { type: string; id: string; name: string };
  key: { id: string; name: string };
  team: { id: string; name: string | null } | null;
  hourStart: string;
  spend: { usd: string; nanoUsd: number };
  baseline: { averageHourlyUsd: string; averageHourlyNanoUsd: number; hours: number; totalNanoUsd: string };
  factor: number;
  ratio: number | null;
  text: string;
}

/** Anomaly settings for tests: factor 5, a $0.001 floor (1,000,000 nano). */
const configure = (c: GatewayConfig) => {
  c.alerts = {
    ...c.alerts,
    spendAnomalies: { enabled: true, factor: 5, minSpendUsd: 0.001, checkIntervalSeconds: 300 },
  };
};

function helpers(gw: () => TestGateway) {
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw().url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw().adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const call = async (secret: string, usage: Record<string, number>, via: TestGateway = gw()) => {
    const res = await fetch(`${via.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": secret,
        "x-mock-script": JSON.stringify({ scenario: "text", usage }),
      },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
  };
  const newKey = async (name: string, teamId?: string) => {
    const key = await admin("POST", "/virtual-keys", { name, ...(teamId ? { teamId } : {}) });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    return { id: String(key.body.id), secret: String(key.body.secret) };
  };
  return { admin, call, newKey };
}

describe("spend anomaly alerts (one process, SQLite, manual clock)", () => {
  let mock: MockUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gw: TestGateway;
  const clock = new ManualClock(day(1));
  const { admin, call, newKey } = helpers(() => gw);

  before(async () => {
    mock = await startMockUpstream();
    receiver = await startReceiver();
    gw = await startTestGateway({ upstreamUrl: mock.url, clock, configure });
  });
  after(async () => {
    await gw?.close();
    await receiver?.close();
    await mock?.close();
  });

  it("alerts once per (key, hour) when a key spends over 5× its 7-day hourly average and over the floor", async () => {
    const team = await admin("POST", "/teams", { name: "platform" });
    assert.equal(team.status, 201, JSON.stringify(team.body));
    const teamId = String(team.body.id);
    const hook = await admin("POST", "/alerts/webhooks", { url: `${receiver.url}/hook` });
    assert.equal(hook.status, 201);
    const spiky = await newKey("spiky", teamId);
    const busy = await newKey("busy");
    const small = await newKey("small");
    const fresh = await newKey("fresh");

    // The baseline week: spiky one call a day (7 × 1.53 M = 10.71 M nano, 63,750 an hour on average);
    // busy one big call (60.03 M nano, 357,321 an hour).
    for (let d = 1; d <= 7; d++) {
      clock.set(day(d) + 14 * HOUR);
      await call(spiky.secret, CALL);
      if (d === 3) await call(busy.secret, BIG);
    }
    await gw.waitForLogs(8);

    // Day 8, 12:30: in this hour each key makes one call.
    const hour = day(8) + 12 * HOUR;
    clock.set(hour + 30 * 60_000);
    await call(spiky.secret, CALL); // 1.53 M > 5 × 63,750: anomaly (24×)
    await call(busy.secret, CALL); // 1.53 M < 5 × 357,321 = 1.79 M: normal for this key
    await call(small.secret, SMALL); // 180,000: below the $0.001 floor
    await call(fresh.secret, CALL); // no baseline, over the floor: anomaly
    await gw.waitForLogs(12);
    await gw.gateway.logWriter.flush();

    const detector = gw.gateway.spendAnomalies;
    assert.ok(detector, "on by default");
    assert.equal(await detector.runOnce(), 2);
    assert.equal(await detector.runOnce(), 0, "the same hour never alerts twice");
    await call(spiky.secret, CALL);
    await gw.waitForLogs(13);
    assert.equal(await detector.runOnce(), 0, "more spend in the same hour: still one alert");
    await gw.gateway.alertDispatcher.tick();

    const got = receiver.received.map((r) => r.body as unknown as AnomalyPayload);
    assert.deepEqual(got.map((p) => p.key.name).sort(), ["fresh", "spiky"]);
    for (const r of receiver.received) assert.equal(r.headers["x-tollgate-event"], "spend_anomaly");
    const s = got.find((p) => p.key.name === "spiky");
    assert.ok(s);
    assert.equal(s.type, "spend_anomaly");
    assert.equal(s.kind, "spend_anomaly");
    assert.deepEqual(s.entity, { type: "key", id: spiky.id, name: "spiky" });
    assert.deepEqual(s.key, { id: spiky.id, name: "spiky" });
    assert.deepEqual(s.team, { id: teamId, name: "platform" });
    assert.equal(s.hourStart, new Date(hour).toISOString());
    assert.deepEqual(s.spend, { usd: "0.00153", nanoUsd: CALL_NANO });
    assert.deepEqual(s.baseline, {
      averageHourlyUsd: "0.00006375",
      averageHourlyNanoUsd: 63_750,
      hours: 168,
      totalNanoUsd: String(7 * CALL_NANO),
    });
    assert.equal(s.factor, 5);
    assert.equal(s.ratio, 24);
    assert.match(s.text, /spiky.*platform.*0\.00153.*24×/);
    const f = got.find((p) => p.key.name === "fresh");
    assert.ok(f);
    assert.equal(f.team, null);
    assert.equal(f.ratio, null);
    assert.equal(f.baseline.averageHourlyNanoUsd, 0);

    // GET /api/alerts lists them with their kind.
    const list = await admin("GET", "/alerts");
    const kinds = (list.body.data as { kind: string; budgetId: string }[]).map((a) => `${a.kind}:${a.budgetId}`);
    assert.deepEqual(
      kinds.sort(),
      [`spend_anomaly:spend_anomaly:${fresh.id}`, `spend_anomaly:spend_anomaly:${spiky.id}`].sort(),
    );

    // The next hour is a new (key, hour): spiky's baseline now includes the last hour's 3.06 M, still far below.
    clock.set(hour + HOUR + 5 * 60_000);
    await call(spiky.secret, CALL);
    await gw.waitForLogs(14);
    assert.equal(await detector.runOnce(), 1);
    await gw.gateway.alertDispatcher.tick();
    const later = receiver.received.map((r) => r.body as unknown as AnomalyPayload).slice(2);
    assert.equal(later.length, 1);
    assert.equal(later[0]?.key.name, "spiky");
    assert.equal(later[0]?.hourStart, new Date(hour + HOUR).toISOString());
    assert.equal(later[0]?.baseline.totalNanoUsd, String(9 * CALL_NANO));
  });

  it("spendAnomalies.enabled: false turns the detector off", async () => {
    const g = await startTestGateway({
      upstreamUrl: mock.url,
      clock,
      configure: (c) => {
        c.alerts = { spendAnomalies: { enabled: false, factor: 5, minSpendUsd: 1, checkIntervalSeconds: 300 } };
      },
    });
    try {
      assert.equal(g.gateway.spendAnomalies, null);
    } finally {
      await g.close();
    }
  });
});

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skip = (await requireRedis(redisUrl)) ?? (await requirePostgres(pgUrl));

describe("spend anomaly alerts from two processes sharing PostgreSQL and Redis: exactly once per (key, hour)", {
  skip: skip ?? false,
}, () => {
  let mock: MockUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let a: TestGateway;
  let b: TestGateway;
  const clock = new ManualClock(day(1));
  const schema = randomSchemaName("spend_anomalies");
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const start = () =>
    startTestGateway({
      upstreamUrl: mock.url,
      clock,
      configure,
      env: { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix },
      databaseUrl: pgUrl,
      databaseSchema: schema,
    });
  const { admin, call, newKey } = helpers(() => a);

  before(async () => {
    mock = await startMockUpstream();
    receiver = await startReceiver();
    a = await start();
    b = await start();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await receiver?.close();
    await mock?.close();
    await dropSchema(pgUrl, schema);
  });

  it("both processes detect the spike; the webhook gets one alert per key and hour", async () => {
    assert.equal((await admin("POST", "/alerts/webhooks", { url: `${receiver.url}/shared` })).status, 201);
    const key = await newKey("shared");
    const deadline = Date.now() + 5000;
    while (!b.gateway.runtime.governance.byId.has(key.id)) {
      assert.ok(Date.now() < deadline, "B never loaded the new key");
      await new Promise((r) => setTimeout(r, 10));
    }
    clock.set(day(3) + 9 * HOUR);
    await call(key.secret, CALL, a);
    const hour = day(8) + 12 * HOUR;
    clock.set(hour + 10 * 60_000);
    await call(key.secret, CALL, a);
    await call(key.secret, CALL, b);
    await a.waitForLogs(2);
    await b.gateway.logWriter.flush();
    await a.gateway.logWriter.flush();

    const race = async () => {
      for (let i = 0; i < 3; i++) {
        const [x, y] = await Promise.all([a.gateway.spendAnomalies?.runOnce(), b.gateway.spendAnomalies?.runOnce()]);
        assert.ok((x ?? 0) + (y ?? 0) <= 1);
        await Promise.all([a.gateway.alertDispatcher.tick(), b.gateway.alertDispatcher.tick()]);
      }
    };
    await race();
    clock.advance(20 * 60_000);
    await call(key.secret, CALL, b);
    await b.gateway.logWriter.flush();
    await race();
    // A fresh process (a restart) does not alert the hour again either.
    const c = await start();
    try {
      assert.equal(await c.gateway.spendAnomalies?.runOnce(), 0);
    } finally {
      await c.close();
    }

    const got = receiver.received.map((r) => r.body as unknown as AnomalyPayload);
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(got[0]?.key.id, key.id);
    assert.equal(got[0]?.hourStart, new Date(hour).toISOString());
    // Spend at detection: both processes' calls of the hour (the rollup is shared).
    assert.equal(got[0]?.spend.nanoUsd, 2 * CALL_NANO);
    assert.equal(got[0]?.baseline.totalNanoUsd, String(CALL_NANO));
    assert.equal(new Set(receiver.received.map((r) => String(r.headers["x-tollgate-delivery"]))).size, 1);
  });
});
