import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// claude-sonnet-4-5: $3 input, $15 output per million tokens. Each call reports 10 input + 100 output tokens:
// 10×3 + 100×15 = 1530 USD/M = $0.00153. The reservation estimate is larger (input from the body size, output
// capped by max_tokens = 100), so parallel requests cannot overshoot through a too-small estimate.
const USAGE = { input_tokens: 10, output_tokens: 100 };
const CALL_COST_NANO = 1_530_000;

describe("budgets on the data plane", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dataDir: string;

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const call = (secret: string) =>
    fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": secret,
        "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      }),
    });

  before(async () => {
    mock = await startMockUpstream();
    dataDir = await mkdtemp(join(tmpdir(), "tollgate-budgets-"));
    gw = await startTestGateway({ upstreamUrl: mock.url, dataDir });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses with a 402 in the client's dialect once the key's budget cannot cover the next request", async () => {
    const key = await admin("POST", "/virtual-keys", {
      name: "small",
      budgets: [{ name: "daily", limitUsd: "0.004", period: "1d" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const secret = String(key.body.secret);
    assert.equal((await call(secret)).status, 200);
    assert.equal((await call(secret)).status, 200);
    const refused = await call(secret);
    assert.equal(refused.status, 402);
    const body = (await refused.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, "error");
    assert.match(
      body.error.message,
      /Budget "daily" .* is exhausted: \$0\.003060000 spent of its \$0\.004000000 1d limit\. It resets at/,
    );
    const rows = (await gw.logs()).filter((r) => r.virtualKeyId === key.body.id);
    assert.deepEqual(
      rows.map((r) => r.status),
      [200, 200, 402],
    );
    assert.equal(rows[2]?.errorCode, "TG_BUDGET_EXHAUSTED");
  });

  it("holds under concurrency: 20 parallel requests never commit more than the limit", async () => {
    const key = await admin("POST", "/virtual-keys", {
      name: "parallel",
      budgets: [{ name: "burst", limitUsd: "0.01", period: "1d" }],
    });
    const secret = String(key.body.secret);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => call(secret).then((r) => r.status)));
    const ok = statuses.filter((s) => s === 200).length;
    assert.ok(
      statuses.every((s) => s === 200 || s === 402),
      statuses.join(","),
    );
    const rows = (await gw.logs()).filter((r) => r.virtualKeyId === key.body.id && r.status === 200);
    const committed = rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0);
    assert.equal(rows.length, ok);
    assert.ok(committed <= 10_000_000, `committed ${committed} nano-USD > limit`);
    assert.ok(ok >= 5, `the budget stays usable: ${ok} admitted (each costs ${CALL_COST_NANO} of 10,000,000)`);
  });

  it("GET /tollgate/usage shows the key's budgets and one session's cost to the key holder", async () => {
    const key = await admin("POST", "/virtual-keys", {
      name: "status-line",
      budgets: [{ name: "daily", limitUsd: "1", period: "1d" }],
    });
    const secret = String(key.body.secret);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "x-api-key": secret,
          "x-claude-code-session-id": "sess-status",
          "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
        },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 100,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(res.status, 200);
    }
    const usage = await fetch(`${gw.url}/tollgate/usage?session=sess-status`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(usage.status, 200);
    const body = (await usage.json()) as {
      key: { name: string };
      budgets: { name: string; limitUsd: string; spentUsd: string; remainingUsd: string; resetsAt: string }[];
      session: { requests: number; costUsd: string };
    };
    assert.equal(body.key.name, "status-line");
    assert.deepEqual(
      body.budgets.map((b) => [b.name, b.limitUsd, b.spentUsd, b.remainingUsd]),
      [["daily", "1.000000000", "0.003060000", "0.996940000"]],
    );
    assert.ok(Date.parse(body.budgets[0]?.resetsAt ?? "") > Date.now());
    assert.deepEqual([body.session.requests, body.session.costUsd], [2, "0.003060000"]);
    assert.equal((await fetch(`${gw.url}/tollgate/usage`)).status, 401);
  });

  it("keeps the spend across a restart (counters rebuilt from the request log)", async () => {
    const key = await admin("POST", "/virtual-keys", {
      name: "restart",
      budgets: [{ name: "daily", limitUsd: "0.004", period: "1d" }],
    });
    const secret = String(key.body.secret);
    assert.equal((await call(secret)).status, 200);
    assert.equal((await call(secret)).status, 200);
    await gw.close();
    gw = await startTestGateway({ upstreamUrl: mock.url, dataDir });
    assert.equal((await call(secret)).status, 402, "spent before the restart still counts");
  });
});
