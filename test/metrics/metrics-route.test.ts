import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { registerMetricsRoute } from "../../src/http/metrics-route.ts";

const endpoint = { contentType: "text/plain; version=0.0.4; charset=utf-8", scrape: async () => "tollgate_up 1\n" };

function setup(token: string | null, host: string) {
  const app = Fastify();
  const warnings: string[] = [];
  registerMetricsRoute(app, endpoint, { token, host, warn: (m) => warnings.push(m) });
  return { app, warnings };
}

describe("GET /metrics route", () => {
  it("warns when open beyond loopback, not on loopback or with a token", () => {
    assert.equal(setup(null, "0.0.0.0").warnings.length, 1);
    assert.match(setup(null, "0.0.0.0").warnings[0] ?? "", /TOLLGATE_METRICS_TOKEN/);
    assert.deepEqual(setup(null, "127.0.0.1").warnings, []);
    assert.deepEqual(setup(null, "localhost").warnings, []);
    assert.deepEqual(setup("t".repeat(16), "0.0.0.0").warnings, []);
  });

  it("compares the bearer token exactly", async () => {
    const { app } = setup("secret-token-0123456789", "127.0.0.1");
    const get = (authorization?: string) =>
      app.inject({ method: "GET", url: "/metrics", headers: authorization ? { authorization } : {} });
    assert.equal((await get()).statusCode, 401);
    assert.equal((await get("secret-token-0123456789")).statusCode, 401);
    assert.equal((await get("Bearer secret-token-012345678")).statusCode, 401);
    const ok = await get("Bearer secret-token-0123456789");
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, "tollgate_up 1\n");
    assert.equal(ok.headers["content-type"], endpoint.contentType);
  });
});
