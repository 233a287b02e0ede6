import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// claude-sonnet-4-5: $3 input, $15 output per million tokens = 3,000 / 15,000 nano-USD per token.
// A full call (10 in + 100 out) costs 1,530,000 nano; a small one (10 in + 1 out) 45,000.
const FULL = { input_tokens: 10, output_tokens: 100 };
const SMALL = { input_tokens: 10, output_tokens: 1 };
const LIMIT_NANO = 5_000_000;

interface AlertView {
  budgetId: string;
  budgetName: string | null;
  scopeType: string;
  scopeId: string | null;
  scopeName: string | null;
  thresholdPercent: number;
  spendNanoUsd: number;
  limitNanoUsd: number;
  spendUsd: string;
  limitUsd: string;
  deliveredAt: number | null;
}

describe("budget threshold alerts through the gateway", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  const admin = async (method: string, path: string, body?: unknown, token = gw.adminToken) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const call = (secret: string, usage: typeof FULL, maxTokens: number) =>
    fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": secret,
        "x-mock-script": JSON.stringify({ scenario: "text", usage }),
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: maxTokens,
        messages: [{ role: "user", content: "hi" }],
      }),
    }).then(async (res) => {
      await res.arrayBuffer();
      return res.status;
    });
  /**
   * The budget's alerts. Settlement is dispatched when the request's log row is queued, so once `logs` rows are
   * visible the windows are queued; the route then flushes the alert queue before reading.
   */
  const alertsAfter = async (budgetId: string, logs: number): Promise<AlertView[]> => {
    await gw.waitForLogs(logs);
    const res = await admin("GET", `/alerts?budgetId=${encodeURIComponent(budgetId)}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data as AlertView[];
  };

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  it("spend past 50 % and 80 % records exactly those two alerts, once each", async () => {
    const key = await admin("POST", "/virtual-keys", {
      name: "alerted",
      budgets: [{ name: "daily", limitUsd: "0.005", period: "1d" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const secret = String(key.body.secret);
    const keyId = String(key.body.id);
    const budgetId = String((key.body.budgets as { id: string }[])[0]?.id);

    assert.equal(await call(secret, FULL, 100), 200); // 30.6 %
    assert.deepEqual(await alertsAfter(budgetId, 1), [], "below 50 %: no alert");
    assert.equal(await call(secret, FULL, 100), 200); // 61.2 %
    assert.deepEqual(
      (await alertsAfter(budgetId, 2)).map((a) => a.thresholdPercent),
      [50],
    );
    assert.equal(await call(secret, FULL, 100), 200); // 91.8 %
    assert.deepEqual(
      (await alertsAfter(budgetId, 3)).map((a) => a.thresholdPercent),
      [80, 50],
    );
    // More spend in the same window, still under 95 %: the window is read again and nothing is added.
    assert.equal(await call(secret, SMALL, 1), 200); // 92.7 %
    const alerts = await alertsAfter(budgetId, 4);
    assert.deepEqual(
      (await gw.logs()).filter((r) => r.virtualKeyId === keyId).map((r) => r.costNanoUsd),
      [1_530_000, 1_530_000, 1_530_000, 45_000],
    );
    assert.deepEqual(
      alerts.map((a) => [a.thresholdPercent, a.spendNanoUsd, a.limitNanoUsd, a.spendUsd, a.limitUsd]),
      [
        [80, 4_590_000, LIMIT_NANO, "0.00459", "0.005"],
        [50, 3_060_000, LIMIT_NANO, "0.00306", "0.005"],
      ],
    );
    for (const a of alerts) {
      assert.deepEqual(
        [a.budgetId, a.budgetName, a.scopeType, a.scopeId, a.scopeName, a.deliveredAt],
        [budgetId, "daily", "key", keyId, "alerted", null],
      );
    }
  });

  it("GET /api/alerts needs the admin token and validates its query", async () => {
    assert.equal((await admin("GET", "/alerts", undefined, "wrong")).status, 401);
    assert.equal((await admin("GET", "/alerts?limit=0")).status, 400);
    assert.equal((await admin("GET", "/alerts?colour=red")).status, 400);
    const page = await admin("GET", "/alerts?limit=1");
    assert.equal(page.status, 200);
    assert.ok((page.body.data as unknown[]).length <= 1);
  });
});
