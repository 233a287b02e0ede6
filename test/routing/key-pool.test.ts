import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { seededRandom } from "./seeded-random.ts";

/**
 * Key pools through real traffic (issue 5, acceptance 3): of three keys one is refused (401) and one rate-limited
 * (429, retry-after 30 s). Every request still succeeds (the attempt moves to another key at once), traffic
 * converges on the healthy key, the refused key is flagged in /api/providers, and the rate-limited one comes back
 * when the gateway's clock passes its cooldown.
 */
describe("key pool: a refused, a rate-limited and a healthy key", () => {
  const hits = new Map<string, number>();
  let hotLimited = true;
  let server: Server;
  let gw: TestGateway;
  let dir: string;
  const clock = new ManualClock(Date.UTC(2026, 10, 27, 12));

  before(async () => {
    server = createServer((req, res) => {
      const key = String(req.headers["x-api-key"]);
      hits.set(key, (hits.get(key) ?? 0) + 1);
      req.resume();
      req.on("end", () => {
        if (key === "bad") {
          res.writeHead(401, { "content-type": "application/json" });
          res.end(
            JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }),
          );
        } else if (key === "hot" && hotLimited) {
          res.writeHead(429, { "content-type": "application/json", "retry-after": "30" });
          res.end(JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "slow down" } }));
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              id: "msg_pool",
              type: "message",
              role: "assistant",
              model: "claude-sonnet-4-5",
              content: [{ type: "text", text: `served by ${key}` }],
              stop_reason: "end_turn",
              stop_sequence: null,
              usage: { input_tokens: 10, output_tokens: 3 },
            }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), "tollgate-key-pool-"));
    const config = join(dir, "tollgate.json");
    await writeFile(
      config,
      JSON.stringify({
        providers: {
          pool: {
            preset: "anthropic",
            baseUrl: url,
            apiKeys: [
              { key: "bad", id: "pool-bad" },
              { key: "hot", id: "pool-hot" },
              { key: "good", id: "pool-good" },
            ],
          },
        },
      }),
    );
    gw = await startTestGateway({
      upstreamUrl: url,
      env: { TOLLGATE_CONFIG: config },
      clock,
      resilience: true,
      random: seededRandom(11),
      sleep: async () => {},
    });
  });
  after(async () => {
    await gw.close();
    await rm(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const ask = async () => {
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "client" },
      body: JSON.stringify({
        model: "pool/claude-sonnet-4-5",
        max_tokens: 16,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    const body = (await res.json()) as { content?: { text: string }[] };
    return { status: res.status, text: body.content?.[0]?.text };
  };
  const health = async () => {
    const res = await fetch(`${gw.url}/api/providers/pool`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
    const view = (await res.json()) as {
      health: { keys: { id: string; state: string; until?: number; reason?: string }[] };
    };
    return new Map(view.health.keys.map((k) => [k.id, k]));
  };

  it("every request succeeds while the pool learns; then only the healthy key is used", async () => {
    for (let i = 0; i < 50 && !(hits.has("bad") && hits.has("hot")); i++) {
      const reply = await ask();
      assert.deepEqual(reply, { status: 200, text: "served by good" });
    }
    assert.equal(hits.get("bad"), 1, "a refused key is tried once, then taken out");
    assert.equal(hits.get("hot"), 1, "a rate-limited key is tried once, then cools down");
    const before = hits.get("good") ?? 0;
    for (let i = 0; i < 30; i++) assert.equal((await ask()).status, 200);
    assert.equal(hits.get("good"), before + 30, "traffic converged on the healthy key");
    assert.equal(hits.get("bad"), 1);
    assert.equal(hits.get("hot"), 1);

    const keys = await health();
    assert.equal(keys.get("pool-bad")?.state, "flagged");
    assert.match(keys.get("pool-bad")?.reason ?? "", /401/);
    assert.equal(keys.get("pool-hot")?.state, "cooling");
    assert.equal(keys.get("pool-hot")?.until, clock.now() + 30_000);
    assert.equal(keys.get("pool-good")?.state, "ok");
    const rows = await gw.logs();
    const failedOver = rows.filter((r) => r.attempts.length > 1);
    assert.equal(failedOver.length >= 1, true);
    assert.ok(failedOver.every((r) => r.status === 200 && r.providerKeyId === "pool-good"));
  });

  it("the cooled-down key comes back after its cooldown; the flagged one stays out", async () => {
    hotLimited = false;
    clock.advance(30_001);
    assert.equal((await health()).get("pool-hot")?.state, "ok");
    const hotBefore = hits.get("hot") ?? 0;
    for (let i = 0; i < 60; i++) assert.deepEqual((await ask()).status, 200);
    assert.ok((hits.get("hot") ?? 0) > hotBefore, "the recovered key serves again");
    assert.equal(hits.get("bad"), 1);
    assert.equal((await health()).get("pool-bad")?.state, "flagged");
  });
});
