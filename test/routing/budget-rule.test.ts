import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

/**
 * Issue 5, acceptance 1: a rule `budget_used > 85` sends a key's traffic to a cheaper model exactly when its budget
 * crosses 85 % — inside one agent session whose earlier requests stuck to one provider and key (affinity chooses
 * provider and key, never the model). Each scripted reply costs ~$0.285 of a $1 budget (95,000 input tokens at
 * Sonnet's $3/M), so the fourth request is the first one made past the threshold.
 */
describe("a budget threshold rule inside one long session", () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url, resilience: true });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("downgrades at the threshold, names the rule in headers and on the row, and the session keeps working", async () => {
    const key = await admin("POST", "/virtual-keys", {
      name: "ada",
      budgets: [{ name: "daily", limitUsd: "1", period: "1d" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const rule = await admin("POST", "/routing-rules", {
      name: "cheaper-past-85",
      scope: { type: "key", id: key.body.id },
      expression: "budget_used > 85",
      targets: ["anthropic/claude-haiku-4-5"],
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    const client = new Anthropic({ apiKey: String(key.body.secret), baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
    const served: string[] = [];
    const ruleHeaders: (string | null)[] = [];
    for (let turn = 0; turn < 4; turn++) {
      mock.enqueue({ scenario: "text", text: `turn ${turn}`, usage: { input_tokens: 95_000 } });
      const { data, response } = await client.messages
        .create(
          { model: "claude-sonnet-4-5", max_tokens: 32, messages: [{ role: "user", content: `turn ${turn}` }] },
          { headers: { "x-claude-code-session-id": "session-long" } },
        )
        .withResponse();
      assert.equal(data.content[0]?.type === "text" && data.content[0].text, `turn ${turn}`);
      served.push(String((mock.requests.at(-1)?.json as { model?: string } | undefined)?.model));
      ruleHeaders.push(response.headers.get("x-tollgate-route-rule"));
    }
    assert.deepEqual(served, ["claude-sonnet-4-5", "claude-sonnet-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"]);
    assert.deepEqual(ruleHeaders, [null, null, null, "cheaper-past-85"]);

    const rows = (await gw.logs()).filter((r) => r.virtualKeyId === key.body.id);
    assert.equal(rows.length, 4);
    // The spend before each request decides: ≤ 85 % for the first three, > 85 % for the fourth.
    let spent = 0;
    for (const [i, row] of rows.entries()) {
      const usedBefore = (spent / 1e9) * 100;
      assert.equal(row.routingRule, usedBefore > 85 ? "cheaper-past-85" : null, `turn ${i} at ${usedBefore} %`);
      assert.equal(row.requestedModel, "claude-sonnet-4-5", "the log keeps the model the client asked for");
      spent += row.costNanoUsd ?? 0;
    }
    assert.equal(rows[3]?.servedModel, "claude-haiku-4-5");
    assert.ok(rows.every((r) => r.sessionId === "session-long" && r.status === 200));
    // Affinity kept the session on one provider key throughout.
    assert.equal(new Set(rows.map((r) => r.providerKeyId)).size, 1);
  });

  it("explain shows the decision and the budget figure the rule saw", async () => {
    const keys = await admin("GET", "/virtual-keys");
    const ada = (keys.body.data as { id: string; name: string }[]).find((k) => k.name === "ada");
    const explained = await admin("POST", "/routing/explain", { model: "claude-sonnet-4-5", key: ada?.id });
    assert.equal(explained.status, 200, JSON.stringify(explained.body));
    const body = explained.body as {
      decision: { rule: { name: string } | null; target: { model: string } | null };
      variables: { budget_used?: number };
    };
    assert.equal(body.decision.rule?.name, "cheaper-past-85");
    assert.equal(body.decision.target?.model, "claude-haiku-4-5");
    assert.ok((body.variables.budget_used ?? 0) > 85);
  });
});
