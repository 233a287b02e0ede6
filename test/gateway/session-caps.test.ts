import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// Each call costs $0.00153 on claude-sonnet-4-5 (10 input + 100 output tokens).
describe("session caps for runaway agents", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  const newKey = async (sessionCaps: unknown) => {
    const res = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `k-${Math.random().toString(36).slice(2)}`, sessionCaps }),
    });
    const body = (await res.json()) as { secret: string; sessionCaps: unknown };
    assert.equal(res.status, 201, JSON.stringify(body));
    return body.secret;
  };
  const call = (secret: string, session: string | null, content = `hi ${Math.random()}`) =>
    fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": secret,
        ...(session ? { "x-claude-code-session-id": session } : {}),
        "x-mock-script": JSON.stringify({ scenario: "text", usage: { input_tokens: 10, output_tokens: 100 } }),
      },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content }] }),
    });

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("the loop guard refuses the same body seen `repeats` times in a session", async () => {
    const secret = await newKey({ loopGuard: { repeats: 3, window: "1m" } });
    assert.equal((await call(secret, "s-loop", "same")).status, 200);
    assert.equal((await call(secret, "s-loop", "same")).status, 200);
    const refused = await call(secret, "s-loop", "same");
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /sent 3 times in session s-loop within 1m: refused as a probable agent loop/);
    assert.equal((await call(secret, "s-loop", "different")).status, 200, "other requests go on");
    assert.equal((await call(secret, "s-other", "same")).status, 200, "other sessions are not affected");
  });

  it("caps the requests of one session; other sessions and session-less requests are not capped", async () => {
    const secret = await newKey({ maxRequests: 3 });
    for (let i = 0; i < 3; i++) assert.equal((await call(secret, "s-count")).status, 200);
    const refused = await call(secret, "s-count");
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, "rate_limit_error");
    assert.match(body.error.message, /Session s-count of key "k-\w+" reached its cap of 3 requests/);
    assert.equal((await call(secret, "s-next")).status, 200);
    assert.equal((await call(secret, null)).status, 200);
  });

  it("caps the spend of one session", async () => {
    const secret = await newKey({ maxUsd: "0.004" });
    assert.equal((await call(secret, "s-spend")).status, 200);
    assert.equal((await call(secret, "s-spend")).status, 200);
    const refused = await call(secret, "s-spend");
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /reached its \$0\.004000000 cap \(\$0\.003060000 spent\)/);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => call(secret, "s-parallel").then((r) => r.status)),
    );
    const rows = (await gw.logs()).filter((r) => r.sessionId === "s-parallel" && r.status === 200);
    assert.ok(rows.reduce((sum, r) => sum + (r.costNanoUsd ?? 0), 0) <= 4_000_000, statuses.join(","));
  });

  it("rejects invalid caps with a field-level 400", async () => {
    const res = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "bad-caps",
        sessionCaps: { maxRequests: 0, loopGuard: { repeats: 1, window: "1mo" } },
      }),
    });
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.match(text, /sessionCaps\.maxRequests/);
    assert.match(text, /sessionCaps\.loopGuard/);
  });
});
