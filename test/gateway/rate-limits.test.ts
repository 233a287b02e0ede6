import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

describe("rate limits on the data plane", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  const newKey = async (rateLimits: unknown[]) => {
    const res = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `k-${Math.random().toString(36).slice(2)}`, rateLimits }),
    });
    const body = (await res.json()) as { secret: string };
    assert.equal(res.status, 201, JSON.stringify(body));
    return body.secret;
  };
  const call = (secret: string, script: Record<string, unknown> = {}) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${secret}`,
        "x-mock-script": JSON.stringify({
          scenario: "text",
          usage: { prompt_tokens: 10, completion_tokens: 100, total_tokens: 110 },
          ...script,
        }),
      },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    });

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("requests per window: the next one is a 429 with retry-after, in the client's dialect", async () => {
    const secret = await newKey([{ name: "rpm", window: "1m", maxRequests: 3 }]);
    for (let i = 0; i < 3; i++) assert.equal((await call(secret)).status, 200);
    const refused = await call(secret);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 61, `retry-after ${retryAfter}`);
    const body = (await refused.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, "rate_limit_error");
    assert.match(body.error.message, /Rate limit "rpm" .*reached \(requests per 1m\)/);
  });

  it("requests per window hold under concurrency (exactly the limit admitted)", async () => {
    const secret = await newKey([{ name: "burst", window: "1m", maxRequests: 5 }]);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => call(secret).then((r) => r.status)));
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(","));
    assert.equal(statuses.filter((s) => s === 429).length, 15);
  });

  it("tokens per window: refused once the window's tokens are used up", async () => {
    const secret = await newKey([{ name: "tpm", window: "1m", maxTokens: 150 }]);
    // Tokens are charged when a response ends (before the client reads it, with in-process counters).
    assert.equal((await call(secret)).status, 200); // 110 tokens used
    assert.equal((await call(secret)).status, 200); // 110 ≤ 150 before it, 220 after
    assert.equal((await call(secret)).status, 429);
  });

  it("concurrent requests: at most N in flight, the slot is freed when a response ends", async () => {
    const secret = await newKey([{ name: "two-at-a-time", maxConcurrent: 2 }]);
    const slow = { firstByteDelayMs: 300 };
    const statuses = await Promise.all(Array.from({ length: 6 }, () => call(secret, slow).then((r) => r.status)));
    assert.equal(statuses.filter((s) => s === 200).length, 2, statuses.join(","));
    assert.equal((await call(secret)).status, 200, "slots are free again");
  });
});
