import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigRuleSchema } from "../../../src/routing/rules/schemas.ts";
import type { RoutingRule } from "../../../src/routing/rules/types.ts";
import { startMockUpstream } from "../../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../../helpers/gateway.ts";
import { adminClient } from "./api-cases.ts";

describe("routing rules from the config file across restarts (reconciled by name)", () => {
  let mock: MockUpstream;
  let dataDir: string;
  let gw: TestGateway | null = null;
  const admin = adminClient(() => gw as TestGateway);

  const start = async (rules: unknown[]) => {
    await gw?.close();
    gw = null;
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      dataDir,
      configure: (config) => {
        config.routingRules = { rules: rules.map((r) => ConfigRuleSchema.parse(r)) };
      },
    });
  };
  const list = async () => (await admin("GET", "/routing-rules")).body.data as RoutingRule[];

  before(async () => {
    mock = await startMockUpstream();
    dataDir = await mkdtemp(join(tmpdir(), "tollgate-rules-"));
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("updates changed rules in place, deletes dropped ones, writes nothing for an unchanged file", async () => {
    await start([
      { name: "a", expression: "true", targets: ["openai/gpt-4o"] },
      { name: "b", expression: "has_tools", targets: ["anthropic/claude-sonnet-4-5"] },
    ]);
    const first = await list();
    assert.deepEqual(
      first.map((r) => r.name),
      ["a", "b"],
    );
    const a = first.find((r) => r.name === "a") as RoutingRule;

    await start([
      { name: "a", expression: "true", targets: ["openai/gpt-4o"], priority: 3 },
      { name: "c", expression: "false", targets: ["gemini/gemini-2.5-pro"] },
    ]);
    const second = await list();
    assert.deepEqual(
      second.map((r) => r.name),
      ["a", "c"],
    );
    const a2 = second.find((r) => r.name === "a") as RoutingRule;
    assert.equal(a2.id, a.id, "same id");
    assert.equal(a2.priority, 3);

    await start([
      { name: "a", expression: "true", targets: ["openai/gpt-4o"], priority: 3 },
      { name: "c", expression: "false", targets: ["gemini/gemini-2.5-pro"] },
    ]);
    assert.deepEqual(await list(), second, "unchanged: nothing written");
  });

  it("a config rule named like an API rule is refused at start; scopes may name their entity", async () => {
    const created = await admin("POST", "/routing-rules", { name: "mine", expression: "true", targets: ["a/b"] });
    assert.equal(created.status, 201);
    await assert.rejects(
      start([{ name: "mine", expression: "true", targets: ["openai/gpt-4o"] }]),
      /routing\.rules\.0 \("mine"\): a routing rule with this name was created through the API/,
    );
    // Scope by name: the team is created through the API, then referenced by name from the file.
    await start([]);
    const team = await admin("POST", "/teams", { name: "Payments" });
    assert.equal(team.status, 201, JSON.stringify(team.body));
    await start([
      { name: "team rule", expression: "true", targets: ["openai/gpt-4o"], scope: { type: "team", name: "Payments" } },
    ]);
    const rule = (await list()).find((r) => r.name === "team rule");
    assert.deepEqual(rule?.scope, { type: "team", id: team.body.id });
    await assert.rejects(
      start([{ name: "x", expression: "true", targets: ["a/b"], scope: { type: "team", name: "Nobody" } }]),
      /no team named "Nobody"/,
    );
  });
});
