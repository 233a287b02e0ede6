import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const url = testRedisUrl();
const skip = await requireRedis(url);

/** A TCP proxy in front of Redis that a test can cut, as a network partition would. */
async function redisProxy(): Promise<{ url: string; cut: () => void; close: () => Promise<void> }> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("Redis unreachable mid-run: the configured policy decides", { skip: skip ?? false }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function gatewayBehindProxy(policy: "fail-closed" | "fail-open") {
    const mock: MockUpstream = await startMockUpstream();
    const proxy = await redisProxy();
    const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
    const gw: TestGateway = await startTestGateway({
      upstreamUrl: mock.url,
      env: { TOLLGATE_REDIS_URL: proxy.url, TOLLGATE_REDIS_PREFIX: prefix, TOLLGATE_REDIS_ON_UNAVAILABLE: policy },
    });
    cleanups.push(async () => {
      await gw.close();
      await proxy.close();
      await mock.close();
      const redis = new Redis(url);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });
    const created = await fetch(`${gw.url}/api/virtual-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `k-${policy}`, budgets: [{ name: "daily", limitUsd: "10", period: "1d" }] }),
    });
    const key = (await created.json()) as { secret: string };
    const call = () =>
      fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": key.secret },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 50,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
    return { gw, mock, proxy, call };
  }

  it("fail-closed (the default): a governed request is refused with a 503 in its dialect, nothing is sent", async () => {
    const { gw, mock, proxy, call } = await gatewayBehindProxy("fail-closed");
    assert.equal((await call()).status, 200);
    proxy.cut();
    const before = mock.requests.length;
    const refused = await call();
    assert.equal(refused.status, 503);
    const body = (await refused.json()) as { error: { type: string; message: string } };
    assert.match(body.error.message, /counters are unreachable/);
    assert.equal(mock.requests.length, before, "nothing reached the provider");
    assert.ok(
      gw.warnings.some((w) => /Redis counters unreachable.*fail-closed/.test(w)),
      gw.warnings.join("\n"),
    );
  });

  it("fail-open: the request is served uncounted, and its spend is still on the request log", async () => {
    const { gw, proxy, call } = await gatewayBehindProxy("fail-open");
    assert.equal((await call()).status, 200);
    proxy.cut();
    const served = await call();
    assert.equal(served.status, 200, await served.text());
    const rows = await gw.logs();
    assert.equal(rows.length, 2);
    assert.ok((rows.at(-1)?.costNanoUsd ?? 0) > 0, "metered as usual");
    assert.ok(
      gw.warnings.some((w) => /Redis counters unreachable.*fail-open/.test(w)),
      gw.warnings.join("\n"),
    );
  });
});
