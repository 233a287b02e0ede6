import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const USAGE = { input_tokens: 1000, output_tokens: 200 };
// Claude Sonnet 4.5: 1000×3 + 200×15 = 6000 USD per million = $0.006.
const COST_NANO = 6_000_000;

/** The sum of a metric's samples whose labels contain `match`. */
function metricSum(exposition: string, name: string, match: string): number {
  let sum = 0;
  for (const line of exposition.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes(match)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

const redisUrl = testRedisUrl();
const redisSkip = await requireRedis(redisUrl);

for (const backend of ["sqlite", "redis"] as const) {
  describe(`exact cache (${backend})`, { skip: backend === "redis" ? (redisSkip ?? false) : false }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    let share: "key" | "team" | "customer" = "key";
    const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;

    before(async () => {
      mock = await startMockUpstream();
      gw = await startTestGateway({
        upstreamUrl: mock.url,
        ...(backend === "redis" ? { env: { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix } } : {}),
        configure: (c) => {
          c.cache = {
            exact: true,
            ttlSeconds: 600,
            maxEntries: 100,
            get share() {
              return share;
            },
          };
        },
      });
    });
    after(async () => {
      await adminDelete("/cache");
      await gw.close();
      await mock.close();
    });
    beforeEach(async () => {
      mock.reset();
      await adminDelete("/cache");
    });

    async function adminDelete(path: string): Promise<{ purged: number }> {
      const res = await fetch(`${gw.url}/api${path}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${gw.adminToken}` },
      });
      assert.equal(res.status, 200);
      return (await res.json()) as { purged: number };
    }

    async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
      const res = await fetch(`${gw.url}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${gw.adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json()) as Record<string, unknown>;
      assert.ok(res.status < 300, JSON.stringify(json));
      return json;
    }

    it("serves the same request three times (stream, whole, other dialect) with one upstream call", async () => {
      mock.enqueue({ scenario: "text", text: "the function adds two numbers", usage: USAGE });
      const anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
      const request = {
        model: "claude-sonnet-4-5",
        max_tokens: 300,
        system: "Be brief.",
        messages: [{ role: "user" as const, content: "explain this function" }],
      };

      const stream = anthropic.messages.stream(request);
      const first = await stream.finalMessage();
      assert.equal(first.content[0]?.type === "text" && first.content[0].text, "the function adds two numbers");
      const firstId = (await stream.withResponse()).response.headers.get("x-tollgate-request-id");
      assert.ok(firstId);
      await gw.gateway.runtime.cache?.idle();

      const { data: second, response } = await anthropic.messages.create(request).withResponse();
      assert.equal(response.headers.get("x-tollgate-cache"), "hit-exact");
      assert.equal(response.headers.get("x-tollgate-cache-source"), firstId);
      assert.equal(response.headers.get("x-tollgate-cost-usd"), "0.000000000");
      assert.equal(second.content[0]?.type === "text" && second.content[0].text, "the function adds two numbers");
      assert.notEqual(second.id, first.id, "fresh ids");
      assert.equal(second.usage.output_tokens, 200);
      assert.equal(second.stop_reason, "end_turn");

      // The replay as a stream, accepted by the SDK's stream parser.
      const replayed = anthropic.messages.stream(request);
      const third = await replayed.finalMessage();
      assert.equal((await replayed.withResponse()).response.headers.get("x-tollgate-cache"), "hit-exact");
      assert.equal(third.content[0]?.type === "text" && third.content[0].text, "the function adds two numbers");
      assert.equal(third.usage.output_tokens, 200);

      const openai = new OpenAI({ apiKey: "client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const chat = await openai.chat.completions
        .create({
          model: "claude-sonnet-4-5",
          max_tokens: 300,
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "explain this function" },
          ],
        })
        .withResponse();
      assert.equal(chat.response.headers.get("x-tollgate-cache"), "hit-exact");
      assert.equal(chat.data.choices[0]?.message.content, "the function adds two numbers");
      assert.equal(chat.data.usage?.completion_tokens, 200);

      const chatStream = await openai.chat.completions.create({
        model: "claude-sonnet-4-5",
        max_tokens: 300,
        stream: true,
        stream_options: { include_usage: true },
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "explain this function" },
        ],
      });
      let text = "";
      let usage: number | undefined;
      for await (const chunk of chatStream) {
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) usage = chunk.usage.completion_tokens;
      }
      assert.equal(text, "the function adds two numbers");
      assert.equal(usage, 200);

      assert.equal(mock.requests.length, 1, "one upstream call");
      const rows = await gw.waitForLogs(5);
      const original = rows.find((r) => r.id === firstId);
      assert.equal(original?.costNanoUsd, COST_NANO);
      const hits = rows.filter((r) => r.warnings.some((w) => w.startsWith("cache hit-exact")));
      assert.equal(hits.length, 4);
      for (const hit of hits) {
        assert.equal(hit.costNanoUsd, 0);
        assert.equal(hit.status, 200);
        assert.ok(hit.warnings.includes(`cache hit-exact: saved $0.006000000; source ${firstId}`), hit.warnings.join());
        assert.equal(hit.cacheHit, "exact");
        assert.equal(hit.cacheSavedNanoUsd, COST_NANO);
      }
      assert.equal(original?.cacheHit, null);
      assert.equal(original?.cacheSavedNanoUsd, null);

      // Metrics: hits by layer, and the saving summed exactly from the rows' nano-dollars.
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      assert.equal(metricSum(metrics, "tollgate_cache_hits_total", 'layer="exact"'), 4);
      assert.equal(metricSum(metrics, "tollgate_cache_hits_total", 'layer="semantic"'), 0);
      assert.equal(metricSum(metrics, "tollgate_cache_saved_usd_total", 'layer="exact"'), 0.024);
      assert.equal(metricSum(metrics, "tollgate_cost_usd_total", ""), 0.006, "hits cost nothing");
    });

    it("stores only complete, successful answers (not errors, in-stream errors or cut streams)", async () => {
      const anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
      const request = {
        model: "claude-sonnet-4-5",
        max_tokens: 60,
        messages: [{ role: "user" as const, content: "bad" }],
      };
      mock.enqueue({ scenario: "error", status: 500 });
      await assert.rejects(anthropic.messages.create(request));
      mock.enqueue({ scenario: "stream-error" });
      await assert.rejects(anthropic.messages.stream(request).finalMessage());
      mock.enqueue({ scenario: "cut" });
      await assert.rejects(anthropic.messages.stream(request).finalMessage());
      await gw.gateway.runtime.cache?.idle();
      mock.enqueue({ scenario: "text", text: "finally" });
      const ok = await anthropic.messages.create(request).withResponse();
      assert.equal(ok.response.headers.get("x-tollgate-cache"), null, "nothing failed was stored");
      await gw.gateway.runtime.cache?.idle();
      const hit = await anthropic.messages.create(request).withResponse();
      assert.equal(hit.response.headers.get("x-tollgate-cache"), "hit-exact");
      assert.equal(hit.data.content[0]?.type === "text" && hit.data.content[0].text, "finally");
      assert.equal(mock.requests.length, 4);
    });

    it("honours x-tollgate-cache: off, namespaces and purges by namespace", async () => {
      const anthropic = new Anthropic({ apiKey: "client-key", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
      const request = {
        model: "claude-sonnet-4-5",
        max_tokens: 50,
        messages: [{ role: "user" as const, content: "ns" }],
      };
      const ns = { headers: { "x-tollgate-cache-key": "project-a" } };
      await anthropic.messages.create(request, ns);
      await gw.gateway.runtime.cache?.idle();
      await anthropic.messages.create(request, {
        headers: { "x-tollgate-cache": "off", "x-tollgate-cache-key": "project-a" },
      });
      assert.equal(mock.requests.length, 2, "off bypasses the cache");
      const hit = await anthropic.messages.create(request, ns).withResponse();
      assert.equal(hit.response.headers.get("x-tollgate-cache"), "hit-exact");
      await anthropic.messages.create(request);
      await gw.gateway.runtime.cache?.idle();
      assert.equal(mock.requests.length, 3, "another namespace is another entry");
      assert.equal((await adminDelete("/cache?namespace=project-a")).purged, 1);
      await anthropic.messages.create(request, ns);
      await gw.gateway.runtime.cache?.idle();
      assert.equal(mock.requests.length, 4, "purged");
      const again = await anthropic.messages.create(request).withResponse();
      assert.equal(again.response.headers.get("x-tollgate-cache"), "hit-exact", "the other namespace stays");
    });

    it("a hit reserves no budget: served after the budget is spent, while a new request is refused", async () => {
      // $0.006 per call against a $0.007 budget: the first call spends most of it.
      const key = await api("POST", "/virtual-keys", {
        name: `budgeted-${backend}`,
        budgets: [{ name: "daily", limitUsd: "0.007", period: "1d" }],
      });
      const client = new Anthropic({ apiKey: String(key.secret), baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
      const request = (content: string) => ({
        model: "claude-sonnet-4-5",
        max_tokens: 300,
        messages: [{ role: "user" as const, content }],
      });
      try {
        mock.enqueue({ scenario: "text", text: "paid", usage: USAGE });
        await client.messages.create(request("budget"));
        await gw.gateway.runtime.cache?.idle();
        const hit = await client.messages.create(request("budget")).withResponse();
        assert.equal(hit.response.headers.get("x-tollgate-cache"), "hit-exact");
        await assert.rejects(
          client.messages.create(request("something new")),
          (err: { status?: number }) => err.status === 402,
        );
        assert.equal(mock.requests.length, 1);
      } finally {
        await api("DELETE", `/virtual-keys/${String(key.id)}`);
      }
    });

    it("a hit counts against the session's request cap and loop guard, never its spend cap; its row bills no tokens", async () => {
      // $0.006 per call: the first call alone passes the $0.005 session spend cap (committed after the fact).
      const key = await api("POST", "/virtual-keys", {
        name: `session-capped-${backend}`,
        sessionCaps: { maxUsd: "0.005", maxRequests: 4, loopGuard: { repeats: 3, window: "1h" } },
      });
      const client = new Anthropic({ apiKey: String(key.secret), baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
      const send = (content: string) =>
        client.messages
          .create(
            { model: "claude-sonnet-4-5", max_tokens: 300, messages: [{ role: "user", content }] },
            { headers: { "x-claude-code-session-id": `s-cache-${backend}` } },
          )
          .withResponse();
      try {
        mock.enqueue({ scenario: "text", text: "looped", usage: USAGE });
        await send("loop");
        await gw.gateway.runtime.cache?.idle();
        // Over the spend cap now, yet the hit is served: it costs nothing.
        const hit = await send("loop");
        assert.equal(hit.response.headers.get("x-tollgate-cache"), "hit-exact");
        const hitId = hit.response.headers.get("x-tollgate-request-id");
        // The third identical body in the session: the loop guard refuses it, cached or not.
        await assert.rejects(send("loop"), (err: { status?: number; message?: string }) => {
          return err.status === 429 && /probable agent loop/.test(err.message ?? "");
        });
        // A new request would need spend: refused by the spend cap.
        await assert.rejects(send("new"), (err: { status?: number }) => err.status === 429);
        assert.equal(mock.requests.length, 1);
        let row: Awaited<ReturnType<typeof gw.waitForLogs>>[number] | undefined;
        for (let i = 0; i < 250 && !row; i++) {
          row = (await gw.waitForLogs(0)).find((r) => r.id === hitId);
          if (!row) await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(row?.costNanoUsd, 0);
        assert.equal(row?.cacheSavedNanoUsd, COST_NANO);
        assert.deepEqual(
          [row?.inputTokens, row?.outputTokens, row?.cacheReadTokens],
          [0, 0, 0],
          "billed tokens: none (the source row has the served ones)",
        );
      } finally {
        await api("DELETE", `/virtual-keys/${String(key.id)}`);
      }
    });

    it("never shares across customers; shares in a team only with share: team", async () => {
      const acme = await api("POST", "/customers", { name: `Acme-${backend}` });
      const globex = await api("POST", "/customers", { name: `Globex-${backend}` });
      const payments = await api("POST", "/teams", { name: `Payments-${backend}`, customerId: acme.id });
      const other = await api("POST", "/teams", { name: `Other-${backend}`, customerId: globex.id });
      const k1 = await api("POST", "/virtual-keys", { name: `k1-${backend}`, teamId: payments.id });
      const k2 = await api("POST", "/virtual-keys", { name: `k2-${backend}`, teamId: payments.id });
      const k3 = await api("POST", "/virtual-keys", { name: `k3-${backend}`, teamId: other.id });
      const call = async (secret: unknown) => {
        const client = new Anthropic({ apiKey: String(secret), baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
        const { response } = await client.messages
          .create({ model: "claude-sonnet-4-5", max_tokens: 20, messages: [{ role: "user", content: "iso" }] })
          .withResponse();
        await gw.gateway.runtime.cache?.idle();
        return response.headers.get("x-tollgate-cache");
      };
      try {
        share = "key";
        assert.equal(await call(k1.secret), null);
        assert.equal(await call(k1.secret), "hit-exact");
        assert.equal(await call(k2.secret), null, "another key in the team: not shared by default");
        assert.equal(mock.requests.length, 2);
        share = "team";
        assert.equal(await call(k1.secret), null, "the team scope is a new entry");
        assert.equal(await call(k2.secret), "hit-exact", "shared within the team");
        assert.equal(await call(k3.secret), null, "another customer never shares");
        share = "customer";
        assert.equal(await call(k1.secret), null);
        assert.equal(await call(k3.secret), null, "customer sharing stays inside the customer");
        assert.equal(mock.requests.length, 6);
      } finally {
        share = "key";
        for (const k of [k1, k2, k3]) await api("DELETE", `/virtual-keys/${String(k.id)}`);
      }
    });
  });
}
