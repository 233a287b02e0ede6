import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { ConfigRuleSchema } from "../../../src/routing/rules/schemas.ts";
import type { RoutingRule } from "../../../src/routing/rules/types.ts";
import { startMockUpstream } from "../../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../../fixtures/mock-upstream/types.ts";
import {
  startTestGateway,
  TEST_ADMIN_TOKEN,
  type TestGateway,
  type TestGatewayOptions,
} from "../../helpers/gateway.ts";

// biome-ignore lint/suspicious/noExplicitAny: reply bodies of several shapes, checked by the assertions
export type Admin = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

export function adminClient(gw: () => TestGateway): Admin {
  return async (method, path, body) => {
    const res = await fetch(`${gw().url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };
}

/** One Anthropic call with a virtual key: claude-sonnet-4-5, 10 in + 100 out = $0.00153. */
export async function spend(gw: TestGateway, secret: string): Promise<number> {
  const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "x-api-key": secret,
      "x-mock-script": JSON.stringify({ scenario: "text", usage: { input_tokens: 10, output_tokens: 100 } }),
    },
    body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The management API and config seeding of routing rules, on whichever database `options` name. */
export function routingApiCases(options: () => Omit<TestGatewayOptions, "upstreamUrl">, cleanup?: () => Promise<void>) {
  let mock: MockUpstream;
  let gw: TestGateway;
  const admin = adminClient(() => gw);
  const configRules = [
    ConfigRuleSchema.parse({
      name: "from config",
      expression: 'headers[?"x-tier"].orValue("") == "gold"',
      targets: [{ provider: "anthropic", model: "claude-opus-4-1", weight: 2 }],
      priority: 5,
    }),
  ];

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({
      ...options(),
      upstreamUrl: mock.url,
      configure: (config) => {
        config.routingRules = { rules: configRules };
      },
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await cleanup?.();
  });

  it("config rules are seeded, listed, read-only (409) and routed on", async () => {
    const list = await admin("GET", "/routing-rules");
    assert.equal(list.status, 200);
    const seeded = list.body.data as RoutingRule[];
    assert.equal(seeded.length, 1);
    const rule = seeded[0] as RoutingRule;
    assert.equal(rule.source, "config");
    assert.match(rule.id, /^rr_[0-9a-f]{32}$/);
    assert.deepEqual(rule.targets, [{ provider: "anthropic", model: "claude-opus-4-1", key: null, weight: 2 }]);
    const patch = await admin("PATCH", `/routing-rules/${rule.id}`, { enabled: false });
    assert.equal(patch.status, 409);
    assert.match(patch.body.error.message, /config file/);
    assert.equal((await admin("DELETE", `/routing-rules/${rule.id}`)).status, 409);
    const explained = await admin("POST", "/routing/explain", { model: "gpt-4o", headers: { "X-Tier": "gold" } });
    assert.equal(explained.status, 200);
    assert.deepEqual(explained.body.decision.rule, { id: rule.id, name: "from config" });
    assert.equal(gw.gateway.runtime.router.size, 1);
  });

  it("create, get, patch, delete; the router follows every write", async () => {
    const created = await admin("POST", "/routing-rules", {
      name: "long prompts",
      description: "big contexts to the cheap model",
      expression: "input_tokens > 50000",
      targets: ["openai/gpt-4o-mini", { provider: "anthropic", model: "claude-haiku-4-5", key: null, weight: 3 }],
      fallbacks: ["gemini/gemini-2.5-flash"],
      priority: 10,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const rule = created.body as RoutingRule;
    assert.equal(rule.source, "api");
    assert.equal(rule.enabled, true);
    assert.deepEqual(rule.scope, { type: "global", id: null });
    assert.deepEqual(rule.fallbacks, [{ provider: "gemini", model: "gemini-2.5-flash", key: null }]);
    assert.equal(gw.gateway.runtime.router.size, 2);
    const decided = gw.gateway.runtime.router.decide(
      {
        model: "x",
        provider: null,
        headers: {},
        key: null,
        agent: null,
        sessionId: null,
        estimatedInputTokens: 60_000,
        hasTools: false,
        now: Date.now(),
      },
      () => 0.9,
    );
    assert.equal(decided?.rule.name, "long prompts");
    assert.equal(decided?.target.model, "claude-haiku-4-5");

    const got = await admin("GET", `/routing-rules/${rule.id}`);
    assert.deepEqual(got.body, rule);
    const patched = await admin("PATCH", `/routing-rules/${rule.id}`, { enabled: false, priority: 1 });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.enabled, false);
    assert.equal(patched.body.priority, 1);
    assert.equal(patched.body.expression, "input_tokens > 50000");
    assert.equal(gw.gateway.runtime.router.size, 1, "disabled rules are not loaded");

    const dup = await admin("POST", "/routing-rules", { name: "long prompts", expression: "true", targets: ["a/b"] });
    assert.equal(dup.status, 409);
    assert.equal((await admin("DELETE", `/routing-rules/${rule.id}`)).body.deleted, rule.id);
    assert.equal((await admin("GET", `/routing-rules/${rule.id}`)).status, 404);
    assert.equal((await admin("DELETE", `/routing-rules/${rule.id}`)).status, 404);
    assert.equal((await admin("PATCH", "/routing-rules/rr_nope", { priority: 2 })).status, 404);
  });

  it("validation: 400 naming the field or the CEL error; /validate", async () => {
    const badCel = await admin("POST", "/routing-rules", {
      name: "x",
      expression: 'model == "a" &&',
      targets: ["a/b"],
    });
    assert.equal(badCel.status, 400);
    assert.equal(badCel.body.error.type, "invalid_request");
    assert.match(badCel.body.error.message, /^Invalid routing rule: expression: Invalid CEL expression at position 15/);
    const noTargets = await admin("POST", "/routing-rules", { name: "x", expression: "true", targets: [] });
    assert.equal(noTargets.status, 400);
    assert.match(noTargets.body.error.message, /targets/);
    const badScope = await admin("POST", "/routing-rules", {
      name: "x",
      expression: "true",
      targets: ["a/b"],
      scope: { type: "key", id: "vk_missing" },
    });
    assert.equal(badScope.status, 400);
    assert.match(badScope.body.error.message, /no virtual key "vk_missing"/);
    assert.equal((await admin("POST", "/routing-rules", [])).status, 400);
    assert.equal((await admin("POST", "/routing-rules", { name: "x", expression: "true" })).status, 400);

    assert.deepEqual((await admin("POST", "/routing-rules/validate", { expression: "budget_used > 80" })).body, {
      valid: true,
    });
    const invalid = await admin("POST", "/routing-rules/validate", { expression: "nope > 1" });
    assert.equal(invalid.status, 200);
    assert.equal(invalid.body.valid, false);
    assert.match(invalid.body.error, /Unknown variable: nope/);
  });

  it("explain with a key: scope order, budget_used through real spend", async () => {
    const keyRes = await admin("POST", "/virtual-keys", {
      name: "routed",
      budgets: [{ name: "small", limitUsd: "0.002", period: "never" }],
    });
    assert.equal(keyRes.status, 201, JSON.stringify(keyRes.body));
    const keyId = keyRes.body.id as string;
    const scoped = await admin("POST", "/routing-rules", {
      name: "near budget",
      scope: { type: "key", id: keyId },
      expression: "budget_used > 50.0",
      targets: ["openai/gpt-4o-mini"],
    });
    assert.equal(scoped.status, 201, JSON.stringify(scoped.body));
    const before = await admin("POST", "/routing/explain", { model: "claude-sonnet-4-5", key: keyId });
    assert.equal(before.body.decision.rule, null);
    assert.equal(before.body.variables.budget_used, 0);
    assert.equal(before.body.evaluated[0].name, "near budget", "the key's rule first");

    assert.equal(await spend(gw, keyRes.body.secret), 200);
    const afterSpend = await admin("POST", "/routing/explain", { model: "claude-sonnet-4-5", key: keyId });
    assert.equal(afterSpend.body.variables.budget_used, 76.5, "$0.00153 of $0.002");
    assert.equal(afterSpend.body.variables.budget.key, 76.5);
    assert.equal(afterSpend.body.variables.key.id, keyId);
    assert.deepEqual(afterSpend.body.decision.rule, { id: scoped.body.id, name: "near budget" });
    assert.deepEqual(afterSpend.body.decision.target, { provider: "openai", model: "gpt-4o-mini", key: null });
    assert.equal((await admin("POST", "/routing/explain", { model: "m", key: "vk_unknown" })).status, 404);
    assert.equal((await admin("POST", "/routing/explain", { key: keyId })).status, 400);
  });
}
