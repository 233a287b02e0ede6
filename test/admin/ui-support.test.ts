import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { adminApi, claudeTurn } from "../ui/support/seed.ts";

/** The dashboard's read endpoints: `/api/ui/outcomes` and `/api/ui/budgets`. */

interface Outcomes {
  requests: number;
  errors: number;
  rejections: number;
  clientErrors: number;
}

interface Standing {
  id: string;
  scopeType: string;
  scopeId: string;
  scopeName: string | null;
  limitUsd: string;
  spentUsd: string;
  spentNanoUsd: number;
  usedFraction: number;
  resetsAt: string | null;
  forecast: { exhausted: boolean; projectedExhaustionAt: string | null };
}

describe("dashboard support API", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let secret = "";
  let keyId = "";

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    const key = await adminApi<{ id: string; secret: string }>(gw, "POST", "/virtual-keys", {
      name: "small",
      budgets: [
        { limitUsd: "0.05", period: "1d" },
        { limitUsd: "100", period: "1mo" },
      ],
    });
    secret = key.body.secret;
    keyId = key.body.id;
    assert.equal(await claudeTurn(gw, { session: "s1", key: secret }), 200);
    assert.equal(await claudeTurn(gw, { session: "s1", key: secret }), 200);
    mock.enqueue({ scenario: "error", status: 529 });
    assert.equal(await claudeTurn(gw, { session: "s1", key: secret }), 529);
    assert.equal(await claudeTurn(gw, { session: "s1", key: "sk-tg-not-a-key" }), 401);
    await gw.waitForLogs(4);
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  it("counts requests by outcome over a range", async () => {
    const all = await adminApi<Outcomes>(gw, "GET", "/ui/outcomes");
    assert.equal(all.status, 200);
    assert.deepEqual(
      {
        requests: all.body.requests,
        errors: all.body.errors,
        rejections: all.body.rejections,
        clientErrors: all.body.clientErrors,
      },
      { requests: 4, errors: 1, rejections: 1, clientErrors: 0 },
    );
    const before = await adminApi<Outcomes>(gw, "GET", `/ui/outcomes?from=0&to=${Date.now() - 3_600_000}`);
    assert.equal(before.body.requests, 0);
    const bad = await adminApi<{ error: { message: string } }>(gw, "GET", "/ui/outcomes?from=yesterday");
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^from: /);
  });

  it("lists budgets with their spend, reset and forecast, fullest first", async () => {
    const res = await adminApi<{ data: Standing[] }>(gw, "GET", "/ui/budgets");
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.data.map((b) => [b.scopeType, b.scopeId, b.scopeName, b.limitUsd]),
      [
        ["key", keyId, "small", "0.05"],
        ["key", keyId, "small", "100"],
      ],
    );
    const [daily, monthly] = res.body.data as [Standing, Standing];
    assert.ok(daily.spentNanoUsd > 0);
    assert.equal(daily.spentNanoUsd, monthly.spentNanoUsd);
    assert.ok(daily.usedFraction > monthly.usedFraction);
    assert.ok(daily.resetsAt !== null && Date.parse(daily.resetsAt) > Date.now());
    assert.equal(typeof daily.forecast.exhausted, "boolean");
    const filtered = await adminApi<{ data: Standing[] }>(gw, "GET", "/ui/budgets?scopeType=team");
    assert.deepEqual(filtered.body.data, []);
    const limited = await adminApi<{ data: Standing[] }>(
      gw,
      "GET",
      `/ui/budgets?scopeType=key&scopeId=${keyId}&limit=1`,
    );
    assert.deepEqual(
      limited.body.data.map((b) => b.limitUsd),
      ["0.05"],
    );
  });

  it("shows the log retention the gateway runs with", async () => {
    const res = await adminApi<{ retention: { logsDays: number; source: string } }>(gw, "GET", "/ui/settings");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.retention, { logsDays: 90, source: "default" });
  });
});
