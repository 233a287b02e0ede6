import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type MockUpstream, startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// A refusal names the budget that binds. With a team budget of $10 and a customer budget almost spent, a request
// whose worst case the customer's remainder cannot buy is refused as the customer's — not as the team's, which is the
// first budget the request counts against.
describe("budget refusals name the binding budget", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const admin = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    assert.ok(res.status < 300, JSON.stringify(json));
    return json;
  };

  it("a remainder too small for the minimum output names the customer's budget, its spend and limit", async () => {
    const customer = await admin("/customers", { name: "acme" });
    const team = await admin("/teams", { name: "red", customerId: customer.id });
    await admin("/budgets", { name: "team-daily", scopeType: "team", scopeId: team.id, limitUsd: "10", period: "1d" });
    await admin("/budgets", {
      name: "customer-daily",
      scopeType: "customer",
      scopeId: customer.id,
      limitUsd: "0.0005",
      period: "1d",
    });
    const key = await admin("/virtual-keys", { name: "k", teamId: team.id });
    const call = async (maxTokens: number) => {
      const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "x-api-key": String(key.secret),
          "x-mock-script": JSON.stringify({
            scenario: "text",
            text: "ok ok",
            usage: { input_tokens: 10, output_tokens: 10 },
          }),
        },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: maxTokens,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      return { status: res.status, body: await res.text() };
    };
    assert.equal((await call(10)).status, 200);
    await gw.waitForLogs(1);
    const refused = await call(64_000);
    assert.equal(refused.status, 402, refused.body);
    const message = (JSON.parse(refused.body) as { error: { message: string } }).error.message;
    assert.match(
      message,
      /^Budget "customer-daily" of customer "acme" is nearly exhausted: \$0\.000180000 spent of its \$0\.000500000 1d limit; what is left buys \d+ output tokens, fewer than the 256 a request needs\. It resets at /,
    );
  });
});
