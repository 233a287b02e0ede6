import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// A model no catalog or override prices. At the fallback ($3 input, $15 output per million tokens) each call's
// 10 input + 100 output tokens cost 10×3 + 100×15 = 1530 USD/M = $0.00153 = 1,530,000 nano-USD.
const MODEL = "claude-imaginary-9";
const USAGE = { input_tokens: 10, output_tokens: 100 };
const CALL_COST_NANO = 1_530_000;

describe("a budgeted request for a model without a price", () => {
  let mock: MockUpstream;
  let plain: TestGateway;
  let withFallback: TestGateway;

  const admin = async (gw: TestGateway, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const keyWithBudget = async (gw: TestGateway, name: string, limitUsd: string) => {
    const key = await admin(gw, "POST", "/virtual-keys", {
      name,
      budgets: [{ name: "daily", limitUsd, period: "1d" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    return { id: String(key.body.id), secret: String(key.body.secret) };
  };
  const call = (gw: TestGateway, secret: string) =>
    fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": secret,
        "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
      },
      body: JSON.stringify({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
    });

  before(async () => {
    mock = await startMockUpstream();
    plain = await startTestGateway({ upstreamUrl: mock.url });
    withFallback = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_PRICE_FALLBACK: "3,15" } });
  });
  after(async () => {
    await plain.close();
    await withFallback.close();
    await mock.close();
  });

  it("is refused with a 400 naming the model and how to add a price when no fallback is configured", async () => {
    const key = await keyWithBudget(plain, "no-fallback", "1");
    const sent = mock.requests.length;
    const res = await call(plain, key.secret);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, "error");
    assert.match(body.error.message, new RegExp(`Model "${MODEL}" on provider "anthropic" has no known price`));
    assert.match(body.error.message, /price override/);
    assert.equal(mock.requests.length, sent, "never sent upstream");
    const rows = (await plain.logs()).filter((r) => r.virtualKeyId === key.id);
    assert.deepEqual(
      rows.map((r) => [r.status, r.errorCode]),
      [[400, "TG_UNKNOWN_PRICE"]],
    );
  });

  it("is admitted, metered at the fallback price and counted against the budget with one", async () => {
    const key = await keyWithBudget(withFallback, "fallback", "0.004");
    assert.equal((await call(withFallback, key.secret)).status, 200);
    assert.equal((await call(withFallback, key.secret)).status, 200);
    // $0.00306 spent: the next call's estimate no longer fits in $0.004.
    const refused = await call(withFallback, key.secret);
    assert.equal(refused.status, 402);
    const body = (await refused.json()) as { error: { message: string } };
    assert.match(body.error.message, /Budget "daily" .* \$0\.003060000 spent of its \$0\.004000000 1d limit/);

    const rows = (await withFallback.logs()).filter((r) => r.virtualKeyId === key.id);
    assert.deepEqual(
      rows.map((r) => [r.status, r.costNanoUsd]),
      [
        [200, CALL_COST_NANO],
        [200, CALL_COST_NANO],
        [402, null],
      ],
    );
    assert.match(rows[0]?.priceVersion ?? "", /\+fallback:[0-9a-f]{8}$/);
    assert.ok(
      withFallback.warnings.includes(
        `price unknown for anthropic/${MODEL}: charged at the fallback price; add a price override to price it exactly`,
      ),
      withFallback.warnings.join("\n"),
    );
  });
});
