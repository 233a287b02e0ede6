import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import type { KeyHealthView, ProviderHealthView } from "../../src/routing/provider-health.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tollgate-key-pools-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, body: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(body));
  return path;
}

const POOL = {
  kind: "openai",
  baseUrl: "http://127.0.0.1:9/v1",
  apiKeys: [
    "sk-plain-key-0000000001",
    { id: "heavy", key: "sk-heavy-key-0000000002", weight: 3, label: "main" },
    { id: "mini", key: "sk-mini-key-0000000003", models: ["gpt-4.1-mini", "o4-*"] },
  ],
  models: ["gpt-4.1", "gpt-4.1-mini"],
};

describe("key pools in the config file", () => {
  it("reads weights and model lists beside the plain forms; routing defaults resolve", async () => {
    const path = await configFile("pool.json", { providers: { pool: POOL } });
    const config = await loadConfig({ env: { TOLLGATE_CONFIG: path } });
    const keys = config.providers.find((p) => p.name === "pool")?.keys ?? [];
    assert.deepEqual(
      keys.map((k) => [k.id.startsWith("config-") ? "hashed" : k.id, k.weight ?? 1, k.models ?? null, k.label]),
      [
        ["hashed", 1, null, null],
        ["heavy", 3, null, "main"],
        ["mini", 1, ["gpt-4.1-mini", "o4-*"], null],
      ],
    );
    assert.deepEqual(config.routing, {
      retries: { budgetMs: 30_000, maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 8000 },
      keyCooldownMs: 60_000,
      breaker: { failureThreshold: 5, openMs: 30_000 },
    });
  });

  it("takes the routing section's retry, cooldown and breaker settings", async () => {
    const path = await configFile("routing.json", {
      routing: { retries: { budgetMs: 10_000, maxAttempts: 2 }, keyCooldownMs: 5000, breaker: { openMs: 1000 } },
    });
    const config = await loadConfig({ env: { TOLLGATE_CONFIG: path } });
    assert.deepEqual(config.routing, {
      retries: { budgetMs: 10_000, maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 8000 },
      keyCooldownMs: 5000,
      breaker: { failureThreshold: 5, openMs: 1000 },
    });
  });

  it("refuses a zero weight, an empty model name and unknown routing fields", async () => {
    const cases: [unknown, RegExp][] = [
      [{ providers: { pool: { ...POOL, apiKeys: [{ key: "sk-x-000000000000", weight: 0 }] } } }, /weight/],
      [{ providers: { pool: { ...POOL, apiKeys: [{ key: "sk-x-000000000000", models: [""] }] } } }, /models/],
      [{ routing: { retries: { maxAttempts: 0 } } }, /maxAttempts/],
      [{ routing: { breaker: { treshold: 3 } } }, /treshold/],
    ];
    for (const [i, [body, message]] of cases.entries()) {
      const path = await configFile(`bad-${i}.json`, body);
      await assert.rejects(loadConfig({ env: { TOLLGATE_CONFIG: path } }), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        return true;
      });
    }
  });
});

describe("/api/providers shows key health", () => {
  let gw: TestGateway;
  before(async () => {
    const path = await configFile("gateway.json", { providers: { pool: POOL } });
    gw = await startTestGateway({ upstreamUrl: "http://127.0.0.1:9", env: { TOLLGATE_CONFIG: path } });
  });
  after(async () => {
    await gw.close();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${gw.adminToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("editing a stored key or provider through the API clears its flag", async () => {
    const rt = gw.gateway.runtime;
    const created = await admin("POST", "/providers", {
      name: "stored",
      kind: "openai",
      baseUrl: "http://127.0.0.1:9/v1",
      apiKeys: [{ key: "sk-stored-key-000000001" }, { key: "sk-stored-key-000000002" }],
    });
    assert.equal(created.status, 201);
    const [one, two] = (created.body.keys as { id: string }[]).map((k) => k.id);
    assert.ok(one && two);
    const states = async () =>
      ((await admin("GET", "/providers/stored")).body.health as ProviderHealthView).keys.map((k) => k.state);
    rt.health.report("stored", one, { status: 403, latencyMs: 5 });
    rt.health.report("stored", two, { status: 401, latencyMs: 5 });
    assert.deepEqual(await states(), ["flagged", "flagged"]);
    assert.equal((await admin("PATCH", `/providers/stored/keys/${one}`, { disabled: false })).status, 200);
    assert.deepEqual(await states(), ["ok", "flagged"]);
    rt.health.report("stored", one, { status: 403, latencyMs: 5 });
    assert.equal((await admin("PATCH", "/providers/stored", { models: ["gpt-4.1"] })).status, 200);
    assert.deepEqual(await states(), ["ok", "ok"]);
  });

  it("flags, cools and resets keys as the runtime's ProviderHealth reports them", async () => {
    const rt = gw.gateway.runtime;
    const [plain, heavy, mini] = rt.registry.get("pool")?.keys ?? [];
    assert.ok(plain && heavy && mini);
    const before = await admin("GET", "/providers/pool");
    const fresh = before.body.health as ProviderHealthView;
    assert.equal(fresh.circuit, "closed");
    assert.deepEqual(
      fresh.keys.map((k) => [k.id, k.state]),
      [
        [plain.id, "ok"],
        ["heavy", "ok"],
        ["mini", "ok"],
      ],
    );

    rt.health.report("pool", plain.id, { status: 401, latencyMs: 20 });
    rt.health.report("pool", "mini", { status: 429, latencyMs: 20, retryAfterMs: 7000 });
    rt.health.report("pool", "heavy", { status: 200, latencyMs: 300 });
    const now = rt.clock.now();

    const list = await admin("GET", "/providers");
    const pool = (list.body.data as Record<string, unknown>[]).find((p) => p.name === "pool");
    assert.ok(pool);
    const keys = (pool.health as ProviderHealthView).keys;
    const byId = new Map(keys.map((k) => [k.id, k]));
    assert.equal(byId.get(plain.id)?.state, "flagged");
    assert.equal(byId.get(plain.id)?.reason, "401 Unauthorized");
    assert.equal(byId.get("mini")?.state, "cooling");
    assert.ok(Math.abs((byId.get("mini")?.until ?? 0) - (now + 7000)) < 1000);
    assert.equal(byId.get("heavy")?.state, "ok");
    assert.equal(byId.get("heavy")?.ewmaLatencyMs, 300);
    // The key list shows each key's weight and models; never a secret.
    const keyViews = pool?.keys as Record<string, unknown>[];
    assert.deepEqual(
      keyViews.map((k) => [k.id === plain.id ? "plain" : k.id, k.weight ?? 1, k.models ?? null]),
      [
        ["plain", 1, null],
        ["heavy", 3, null],
        ["mini", 1, ["gpt-4.1-mini", "o4-*"]],
      ],
    );
    assert.ok(!JSON.stringify(list.body).includes("sk-heavy-key"));

    // Traffic for gpt-4.1 can only go to the heavy key now.
    const live = rt.registry.get("pool");
    assert.ok(live);
    for (let i = 0; i < 50; i++) assert.equal(rt.health.pickKey(live, "gpt-4.1")?.id, "heavy");

    const reset = await admin("POST", `/providers/pool/keys/${plain.id}/reset`);
    assert.equal(reset.status, 200);
    assert.equal((reset.body as unknown as KeyHealthView).state, "ok");
    const shown = (await admin("GET", "/providers/pool")).body.health as ProviderHealthView;
    assert.equal(shown.keys.find((k) => k.id === plain.id)?.state, "ok");
    assert.equal((await admin("POST", "/providers/pool/keys/nope/reset")).status, 404);
  });
});
