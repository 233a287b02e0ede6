import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, randomSchemaName, requirePostgres, testPostgresUrl } from "../helpers/postgres.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

// claude-sonnet-4-5, 10 input + 100 output tokens: 1,530,000 nano-USD a call. Budget $0.005: two calls are 61.2 %
// (50 % crossed), three 91.8 % (80 % crossed).
const USAGE = { input_tokens: 10, output_tokens: 100 };
const CALL_NANO = 1_530_000;
const LIMIT_NANO = 5_000_000;
const HOUR = 3_600_000;
/** Midnight UTC of a day in March 2026: budgets default to calendar windows, so each test starts a fresh day. */
const day = (n: number) => Date.UTC(2026, 2, n);

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: Record<string, unknown>;
}

/** A webhook receiver: records every POST; `fail(path, n)` answers the next n POSTs to `path` with a 500. */
async function startReceiver() {
  const received: Received[] = [];
  const failures = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "/";
      received.push({ path, headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
      const left = failures.get(path) ?? 0;
      if (left > 0) failures.set(path, left - 1);
      res.writeHead(left > 0 ? 500 : 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    at: (path: string) => received.filter((r) => r.path === path),
    fail: (path: string, n: number) => failures.set(path, n),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function client(gw: () => TestGateway) {
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw().url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw().adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { admin };
}

async function call(gw: TestGateway, secret: string): Promise<number> {
  const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "x-api-key": secret,
      "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
    },
    body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

type Payload = {
  thresholdPercent: number;
  entity: { type: string; id: string; name: string };
  budget: { id: string; name: string; limitUsd: string; limitNanoUsd: number; period: string; windowStart: string };
  spend: { usd: string; nanoUsd: number };
  forecast: {
    spendRateNanoUsdPerHour: number;
    projectedExhaustionAt: string | null;
    exhausted: boolean;
    windowEnd: string | null;
  } | null;
};

describe("alert webhooks (one process, SQLite, manual clock)", () => {
  let mock: MockUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gw: TestGateway;
  const clock = new ManualClock(day(1));
  const { admin } = client(() => gw);
  const newKey = async (name: string) => {
    const key = await admin("POST", "/virtual-keys", {
      name,
      budgets: [{ name: `${name}-daily`, limitUsd: "0.005", period: "1d" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    return {
      id: String(key.body.id),
      secret: String(key.body.secret),
      budgetId: String((key.body.budgets as { id: string }[])[0]?.id),
    };
  };
  const spend = async (secret: string, calls: number, logsBefore: number) => {
    for (let i = 0; i < calls; i++) assert.equal(await call(gw, secret), 200);
    await gw.waitForLogs(logsBefore + calls);
  };

  before(async () => {
    mock = await startMockUpstream();
    receiver = await startReceiver();
    gw = await startTestGateway({ upstreamUrl: mock.url, clock });
  });
  after(async () => {
    await gw?.close();
    await receiver?.close();
    await mock?.close();
  });

  it("manages webhooks under /api/alerts/webhooks and never shows the secret", async () => {
    const bad = await admin("POST", "/alerts/webhooks", { url: "ftp://x", format: "json" });
    assert.equal(bad.status, 400);
    const noId = await admin("POST", "/alerts/webhooks", { url: `${receiver.url}/x`, scopeType: "team" });
    assert.equal(noId.status, 400);
    const created = await admin("POST", "/alerts/webhooks", {
      url: `${receiver.url}/crud`,
      secret: "s3cret",
      enabled: false,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.hasSecret, true);
    assert.equal("secret" in created.body, false);
    assert.deepEqual([created.body.format, created.body.scopeType, created.body.enabled], ["json", "global", false]);
    const id = String(created.body.id);
    const patched = await admin("PATCH", `/alerts/webhooks/${id}`, { format: "slack", secret: null });
    assert.deepEqual([patched.status, patched.body.format, patched.body.hasSecret], [200, "slack", false]);
    const list = await admin("GET", "/alerts/webhooks");
    assert.deepEqual(
      (list.body.data as { id: string }[]).map((w) => w.id),
      [id],
    );
    assert.equal((await admin("DELETE", `/alerts/webhooks/${id}`)).status, 200);
    assert.equal((await admin("GET", `/alerts/webhooks/${id}`)).status, 404);
  });

  it("retries a receiver that fails the first time, with backoff on the clock, and marks the alert delivered", async () => {
    clock.set(day(2));
    const hook = await admin("POST", "/alerts/webhooks", { url: `${receiver.url}/flaky` });
    assert.equal(hook.status, 201);
    receiver.fail("/flaky", 1);
    const key = await newKey("flaky");
    await spend(key.secret, 2, (await gw.logs()).length); // 61.2 %: the 50 % alert
    clock.advance(HOUR);
    const dispatcher = gw.gateway.alertDispatcher;
    await dispatcher.tick();
    assert.equal(receiver.at("/flaky").length, 1, "first attempt (answered 500)");
    await dispatcher.tick();
    assert.equal(receiver.at("/flaky").length, 1, "no retry before the backoff has passed");
    clock.advance(1000);
    await dispatcher.tick();
    await dispatcher.tick();
    const got = receiver.at("/flaky");
    assert.equal(got.length, 2, "one retry, then delivered");
    const { forecast: _f0, text: _t0, ...first } = got[0]?.body ?? {};
    const { forecast: _f1, text: _t1, ...second } = got[1]?.body ?? {};
    assert.deepEqual(first, second, "the retry sends the same alert (the forecast is as of sending)");
    assert.equal(got[0]?.headers["x-tollgate-signature"], undefined, "no secret, no signature");
    const p = got[1]?.body as unknown as Payload;
    assert.equal(p.thresholdPercent, 50);
    assert.deepEqual(p.entity, { type: "key", id: key.id, name: "flaky" });
    assert.deepEqual(
      [p.budget.id, p.budget.name, p.budget.limitNanoUsd, p.budget.period],
      [key.budgetId, "flaky-daily", LIMIT_NANO, "1d"],
    );
    assert.equal(p.spend.nanoUsd, 2 * CALL_NANO);
    const alerts = await admin("GET", `/alerts?budgetId=${key.budgetId}`);
    assert.ok((alerts.body.data as { deliveredAt: number | null }[]).every((a) => a.deliveredAt !== null));
    await admin("DELETE", `/alerts/webhooks/${String(hook.body.id)}`);
  });

  it("Slack format with an HMAC-SHA256 signature; entity scopes pick the webhooks", async () => {
    clock.set(day(3));
    const slack = await admin("POST", "/alerts/webhooks", {
      url: `${receiver.url}/slack`,
      format: "slack",
      secret: "hook-secret",
    });
    const key = await newKey("slacked");
    const mine = await admin("POST", "/alerts/webhooks", {
      url: `${receiver.url}/mine`,
      scopeType: "key",
      scopeId: key.id,
    });
    const other = await admin("POST", "/alerts/webhooks", {
      url: `${receiver.url}/other`,
      scopeType: "key",
      scopeId: "no-such-key",
    });
    for (const h of [slack, mine, other]) assert.equal(h.status, 201, JSON.stringify(h.body));
    await spend(key.secret, 3, (await gw.logs()).length); // 91.8 %: 50 and 80 %
    clock.advance(HOUR);
    await gw.gateway.alertDispatcher.tick();
    await gw.gateway.alertDispatcher.tick();

    const slackGot = receiver.at("/slack");
    assert.equal(slackGot.length, 2);
    for (const r of slackGot) {
      const expected = `sha256=${createHmac("sha256", "hook-secret").update(r.raw).digest("hex")}`;
      assert.equal(r.headers["x-tollgate-signature"], expected);
      assert.deepEqual(Object.keys(r.body).sort(), ["blocks", "text"]);
      assert.match(String(r.body.text), /Budget "slacked-daily" of key slacked reached (50|80) %/);
      assert.ok(Array.isArray(r.body.blocks) && r.body.blocks.length > 0);
    }
    assert.deepEqual(
      receiver
        .at("/mine")
        .map((r) => (r.body as unknown as Payload).thresholdPercent)
        .sort(),
      [50, 80],
    );
    assert.equal(receiver.at("/other").length, 0, "a webhook scoped to another key hears nothing");
    for (const h of [slack, mine, other]) await admin("DELETE", `/alerts/webhooks/${String(h.body.id)}`);
  });

  it("GET /api/budgets/{id}/forecast: window-average rate and projected exhaustion", async () => {
    clock.set(day(4));
    const key = await newKey("forecast");
    const start = clock.now();
    const before0 = await admin("GET", `/budgets/${key.budgetId}/forecast`);
    assert.equal(before0.status, 200);
    assert.deepEqual([before0.body.spendRateNanoUsdPerHour, before0.body.projectedExhaustionAt], [0, null]);
    await spend(key.secret, 2, (await gw.logs()).length);
    clock.advance(2 * HOUR);
    const f = await admin("GET", `/budgets/${key.budgetId}/forecast`);
    // 3,060,000 nano in 2 h = 1,530,000 nano/h; 1,940,000 left → 1.268 h more.
    assert.equal(f.body.spentNanoUsd, 2 * CALL_NANO);
    assert.equal(f.body.spendRateNanoUsdPerHour, CALL_NANO);
    const eta = Date.parse(String(f.body.projectedExhaustionAt)) - clock.now();
    assert.ok(Math.abs(eta - (1_940_000 / CALL_NANO) * HOUR) <= 1, `eta ${eta}`);
    assert.equal(f.body.windowEnd, new Date(start + 24 * HOUR).toISOString());
    // Slower: after 22 h of the window the same spend will not exhaust it before the reset.
    clock.advance(20 * HOUR);
    const slow = await admin("GET", `/budgets/${key.budgetId}/forecast`);
    assert.equal(slow.body.projectedExhaustionAt, null);
    assert.equal((await admin("GET", "/budgets/nope/forecast")).status, 404);
  });
});

describe("alert webhooks declared in the config file", () => {
  it("a config webhook (secret from the environment) receives the alerts, signed", async () => {
    const mock = await startMockUpstream();
    const receiver = await startReceiver();
    const dir = await mkdtemp(join(tmpdir(), "tollgate-alerts-config-"));
    const clock = new ManualClock(day(5));
    let gw: TestGateway | undefined;
    try {
      const configPath = join(dir, "tollgate.json");
      await writeFile(
        configPath,
        JSON.stringify({
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's env interpolation
          alerts: { webhooks: [{ name: "ops", url: `${receiver.url}/config`, secret: "${ALERT_SECRET}" }] },
        }),
      );
      gw = await startTestGateway({
        upstreamUrl: mock.url,
        clock,
        env: { TOLLGATE_CONFIG: configPath, ALERT_SECRET: "from-env" },
      });
      const started = gw;
      const { admin } = client(() => started);
      const key = await admin("POST", "/virtual-keys", {
        name: "cfg",
        budgets: [{ name: "cfg-daily", limitUsd: "0.005", period: "1d" }],
      });
      const secret = String(key.body.secret);
      for (let i = 0; i < 2; i++) assert.equal(await call(started, secret), 200);
      await started.waitForLogs(2);
      clock.advance(HOUR);
      await started.gateway.alertDispatcher.tick();
      await started.gateway.alertDispatcher.tick();
      const got = receiver.at("/config");
      assert.equal(got.length, 1);
      const [only] = got;
      assert.ok(only);
      assert.equal((only.body as unknown as Payload).thresholdPercent, 50);
      const expected = `sha256=${createHmac("sha256", "from-env").update(only.raw).digest("hex")}`;
      assert.equal(only.headers["x-tollgate-signature"], expected);
    } finally {
      await gw?.close();
      await receiver.close();
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const redisUrl = testRedisUrl();
const pgUrl = testPostgresUrl();
const skip = (await requireRedis(redisUrl)) ?? (await requirePostgres(pgUrl));

describe("alert webhooks from two processes sharing PostgreSQL and Redis: exactly once per threshold per period", {
  skip: skip ?? false,
}, () => {
  let mock: MockUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let a: TestGateway;
  let b: TestGateway;
  const clock = new ManualClock(day(2));
  const schema = randomSchemaName("alert_webhooks");
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const start = () =>
    startTestGateway({
      upstreamUrl: mock.url,
      clock,
      env: { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix },
      databaseUrl: pgUrl,
      databaseSchema: schema,
    });

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

  it("each threshold reaches the receiver once, with entity, budget, spend and forecast", async () => {
    const { admin } = client(() => a);
    const hook = await admin("POST", "/alerts/webhooks", { url: `${receiver.url}/shared` });
    assert.equal(hook.status, 201);
    const key = await admin("POST", "/virtual-keys", {
      name: "shared",
      budgets: [{ name: "shared-daily", limitUsd: "0.005", period: "1d" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const secret = String(key.body.secret);
    const budgetId = String((key.body.budgets as { id: string }[])[0]?.id);
    const windowStart = clock.now();
    // B hears of the new key through Redis (a few ms).
    const deadline = Date.now() + 5000;
    while (!b.gateway.runtime.governance.byId.has(String(key.body.id))) {
      assert.ok(Date.now() < deadline, "B never loaded the new key");
      await new Promise((r) => setTimeout(r, 10));
    }

    // Both processes settle spend and both see the crossings; both dispatch at once, several times.
    const dispatchRace = async () => {
      for (let i = 0; i < 3; i++) {
        await Promise.all([a.gateway.alertDispatcher.tick(), b.gateway.alertDispatcher.tick()]);
      }
    };
    assert.equal(await call(a, secret), 200);
    assert.equal(await call(b, secret), 200); // 61.2 %
    await a.waitForLogs(2);
    await b.gateway.logWriter.flush();
    clock.advance(HOUR);
    await dispatchRace();
    assert.equal(await call(b, secret), 200); // 91.8 %
    await b.waitForLogs(3);
    clock.advance(HOUR);
    await dispatchRace();

    const got = receiver.at("/shared").map((r) => r.body as unknown as Payload);
    assert.deepEqual(
      got.map((p) => p.thresholdPercent).sort(),
      [50, 80],
      "one POST per threshold, not one per process",
    );
    const eighty = got.find((p) => p.thresholdPercent === 80);
    assert.ok(eighty);
    assert.deepEqual(eighty.entity, { type: "key", id: String(key.body.id), name: "shared" });
    assert.deepEqual(
      [eighty.budget.id, eighty.budget.name, eighty.budget.limitUsd, eighty.budget.windowStart],
      [budgetId, "shared-daily", "0.005", new Date(windowStart).toISOString()],
    );
    assert.equal(eighty.spend.nanoUsd, 3 * CALL_NANO);
    // 4,590,000 nano over 2 h: 2,295,000 nano/h; 410,000 left → ~10.7 minutes.
    assert.ok(eighty.forecast);
    assert.equal(eighty.forecast.spendRateNanoUsdPerHour, 2_295_000);
    const eta = Date.parse(String(eighty.forecast.projectedExhaustionAt)) - clock.now();
    assert.ok(Math.abs(eta - (410_000 / 2_295_000) * HOUR) <= 1, `eta ${eta}`);

    // The next period: the same thresholds alert again, once each.
    clock.set(windowStart + 24 * HOUR + HOUR);
    assert.equal(await call(a, secret), 200);
    assert.equal(await call(b, secret), 200);
    await a.waitForLogs(5);
    await b.gateway.logWriter.flush();
    clock.advance(HOUR);
    await dispatchRace();
    const all = receiver.at("/shared").map((r) => r.body as unknown as Payload);
    assert.deepEqual(all.map((p) => `${p.budget.windowStart}:${p.thresholdPercent}`).sort(), [
      `${new Date(windowStart).toISOString()}:50`,
      `${new Date(windowStart).toISOString()}:80`,
      `${new Date(windowStart + 24 * HOUR).toISOString()}:50`,
    ]);
    const deliveries = new Set(receiver.at("/shared").map((r) => String(r.headers["x-tollgate-delivery"])));
    assert.equal(deliveries.size, 3);
  });
});
