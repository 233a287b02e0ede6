import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import type { GatewayConfig } from "../../src/config/load.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { requireRedis, testRedisUrl } from "../helpers/redis.ts";

const redisUrl = testRedisUrl();
const redisSkip = await requireRedis(redisUrl);

const DIM = 256;

/** The test embedding model: hashed character trigrams of the lower-cased text, so similar wording means similar vectors. */
function ngramVector(text: string): number[] {
  const v = new Array<number>(DIM).fill(0);
  const t = ` ${text.toLowerCase()} `;
  for (let i = 0; i + 3 <= t.length; i++) {
    const h = createHash("sha256")
      .update(t.slice(i, i + 3))
      .digest();
    const slot = h.readUInt16BE(0) % DIM;
    v[slot] = (v[slot] ?? 0) + 1;
  }
  return v;
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

const ORIGINAL = "Please explain what this function does";
const PARAPHRASE = "please explain what this function does!";
const UNRELATED = "Write a haiku about the sea at night";

for (const backend of ["sqlite", "redis"] as const) {
  describe(`semantic cache (${backend})`, { skip: backend === "redis" ? (redisSkip ?? false) : false }, () => {
    const redisEnv =
      backend === "redis"
        ? { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: `tollgate-test:${randomBytes(6).toString("hex")}:` }
        : null;
    let mock: MockUpstream;
    let gw: TestGateway;
    let embedder: Server;
    const embedderUrl = () => `http://127.0.0.1:${(embedder.address() as AddressInfo).port}/v1`;
    const embedded: string[] = [];
    const threshold =
      (cosine(ngramVector(ORIGINAL), ngramVector(PARAPHRASE)) + cosine(ngramVector(ORIGINAL), ngramVector(UNRELATED))) /
      2;

    const configure = (c: GatewayConfig) => {
      const openai = c.providers.find((p) => p.name === "openai");
      assert.ok(openai);
      c.providers.push({ ...openai, name: "embedder", baseUrl: embedderUrl(), models: ["ngram"], modelPatterns: [] });
      c.cache = {
        exact: false,
        ttlSeconds: 600,
        maxEntries: 100,
        share: "key",
        semantic: {
          embeddingModel: "embedder/ngram",
          threshold: 0.5,
          allowTemperature: false,
          allowToolResults: false,
        },
      };
    };
    before(async () => {
      embedder = createServer((req, res) => {
        let raw = "";
        req.on("data", (c: Buffer) => {
          raw += c.toString("utf8");
        });
        req.on("end", () => {
          const input = (JSON.parse(raw) as { input: string }).input;
          embedded.push(input);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              object: "list",
              data: [{ object: "embedding", index: 0, embedding: ngramVector(input) }],
            }),
          );
        });
      });
      await new Promise<void>((r) => embedder.listen(0, "127.0.0.1", r));
      mock = await startMockUpstream();
      gw = await startTestGateway({ upstreamUrl: mock.url, configure, ...(redisEnv ? { env: redisEnv } : {}) });
    });
    after(async () => {
      await gw.gateway.runtime.cache?.purge({});
      await gw.close();
      await mock.close();
      await new Promise<void>((r) => embedder.close(() => r()));
    });
    beforeEach(() => {
      mock.reset();
    });

    const body = (question: string, over: Record<string, unknown> = {}) => ({
      model: "claude-sonnet-4-5",
      max_tokens: 200,
      temperature: 0,
      system: "Be brief.",
      messages: [
        { role: "user", content: "I am reading some code." },
        { role: "assistant", content: "Show me." },
        { role: "user", content: question },
      ],
      ...over,
    });

    async function call(json: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-api-key": "client-key",
          "anthropic-version": "2023-06-01",
          "x-tollgate-cache": "semantic",
          "x-tollgate-cache-threshold": String(threshold),
          ...headers,
        },
        body: JSON.stringify(json),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      return {
        cache: res.headers.get("x-tollgate-cache"),
        similarity: res.headers.get("x-tollgate-cache-similarity"),
        json: JSON.parse(text) as { content: Array<{ text: string }> },
      };
    }

    it("a paraphrase above the threshold hits; one below misses; other model, system, tools or earlier turn never hit", async () => {
      // The threshold sits between the paraphrase's similarity and the unrelated question's.
      assert.ok(cosine(ngramVector(ORIGINAL), ngramVector(PARAPHRASE)) > threshold);
      assert.ok(cosine(ngramVector(ORIGINAL), ngramVector(UNRELATED)) < threshold);

      mock.enqueue({ scenario: "text", text: "It adds two numbers." });
      const first = await call(body(ORIGINAL));
      assert.equal(first.cache, null);
      assert.equal(embedded.at(-1), ORIGINAL);
      await gw.gateway.runtime.cache?.idle();

      const hit = await call(body(PARAPHRASE));
      assert.equal(hit.cache, "hit-semantic");
      assert.ok(Number(hit.similarity) >= threshold && Number(hit.similarity) < 1);
      assert.equal(hit.json.content[0]?.text, "It adds two numbers.");
      assert.equal(mock.requests.length, 1);

      const earlier = body(PARAPHRASE);
      (earlier.messages as Array<{ role: string; content: string }>)[0] = {
        role: "user",
        content: "I am reading a poem.",
      };
      const misses = [
        body(UNRELATED),
        body(PARAPHRASE, { model: "claude-haiku-4-5" }),
        body(PARAPHRASE, { system: "Be verbose." }),
        body(PARAPHRASE, { tools: [{ name: "lookup", input_schema: { type: "object" } }] }),
        earlier,
        // Not served semantically at temperature > 0.
        body(PARAPHRASE, { temperature: 0.8 }),
      ];
      for (const [i, m] of misses.entries()) {
        mock.enqueue({ scenario: "text", text: `fresh ${i}` });
        const r = await call(m);
        assert.equal(r.cache, null, `case ${i} should miss`);
        assert.equal(r.json.content[0]?.text, `fresh ${i}`);
      }
      assert.equal(mock.requests.length, 1 + misses.length);

      // Exact mode does not serve a paraphrase.
      mock.enqueue({ scenario: "text", text: "exact only" });
      const exact = await call(body(PARAPHRASE), { "x-tollgate-cache": "exact" });
      assert.equal(exact.cache, null);
    });

    // SQLite only: with Redis the index is rebuilt from the shared entries (the next test).
    const sqliteOnly = backend === "redis" ? () => {} : it;
    const redisOnly = backend === "redis" ? it : () => {};
    sqliteOnly("the index is saved in the data dir on shutdown and serves hits after a restart", async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "tollgate-semantic-restart-"));
      try {
        const first = await startTestGateway({ upstreamUrl: mock.url, configure, dataDir });
        mock.enqueue({ scenario: "text", text: "Saved before the restart." });
        const saved = await fetch(`${first.url}/anthropic/v1/messages`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-api-key": "client-key",
            "anthropic-version": "2023-06-01",
            "x-tollgate-cache": "semantic",
            "x-tollgate-cache-threshold": String(threshold),
          },
          body: JSON.stringify(body("Summarise the module layout please")),
        });
        assert.equal(saved.status, 200, await saved.text());
        await first.close();
        assert.ok(existsSync(join(dataDir, "cache", "semantic", "index.json")), "index saved in the data dir");

        const second = await startTestGateway({ upstreamUrl: mock.url, configure, dataDir });
        try {
          await second.gateway.runtime.cache?.semantic?.ready;
          assert.equal(second.gateway.runtime.cache?.semantic?.index.size, 1);
          const res = await fetch(`${second.url}/anthropic/v1/messages`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-api-key": "client-key",
              "anthropic-version": "2023-06-01",
              "x-tollgate-cache": "semantic",
              "x-tollgate-cache-threshold": String(threshold),
            },
            body: JSON.stringify(body("summarise the module layout, please!")),
          });
          const json = (await res.json()) as { content: Array<{ text: string }> };
          assert.equal(res.headers.get("x-tollgate-cache"), "hit-semantic");
          assert.equal(json.content[0]?.text, "Saved before the restart.");
          assert.equal(mock.requests.length, 1);
        } finally {
          await second.close();
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });

    redisOnly(
      "a second gateway process sharing Redis serves the first one's entries once its index caught up",
      async () => {
        const other = await startTestGateway({
          upstreamUrl: mock.url,
          configure,
          ...(redisEnv ? { env: redisEnv } : {}),
        });
        try {
          await other.gateway.runtime.cache?.semantic?.ready;
          const ask = async (target: TestGateway, question: string) => {
            const res = await fetch(`${target.url}/anthropic/v1/messages`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "x-api-key": "client-key",
                "anthropic-version": "2023-06-01",
                "x-tollgate-cache": "semantic",
                "x-tollgate-cache-threshold": String(threshold),
              },
              body: JSON.stringify(body(question)),
            });
            const json = (await res.json()) as { content: Array<{ text: string }> };
            return { cache: res.headers.get("x-tollgate-cache"), text: json.content[0]?.text };
          };
          mock.enqueue({ scenario: "text", text: "stored by the first process" });
          assert.equal((await ask(gw, "What does the retry loop in this file do")).cache, null);
          await gw.gateway.runtime.cache?.idle();
          // The poll runs every second; the test applies the change stream at once instead of waiting for it.
          await other.gateway.runtime.cache?.semantic?.catchUp();
          const hit = await ask(other, "what does the retry loop in this file do?");
          assert.deepEqual(hit, { cache: "hit-semantic", text: "stored by the first process" });
          assert.equal(mock.requests.length, 1);
        } finally {
          await other.close();
        }
      },
    );

    // Last in this file: creating keys ends anonymous access for the tests above.
    it("enabled per team or key by the tollgate.cache label (cache off in the config file), the key's own label first", async () => {
      const admin = async (method: string, path: string, json?: unknown) => {
        const res = await fetch(`${gw.url}/api${path}`, {
          method,
          headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
          ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        });
        const out = (await res.json()) as Record<string, unknown>;
        assert.ok(res.status < 300, JSON.stringify(out));
        return out;
      };
      const team = await admin("POST", "/teams", { name: "cached-team", labels: { "tollgate.cache": "semantic" } });
      const member = await admin("POST", "/virtual-keys", { name: "member", teamId: team.id });
      const optedOut = await admin("POST", "/virtual-keys", {
        name: "opted-out",
        teamId: team.id,
        labels: { "tollgate.cache": "off" },
      });
      const loner = await admin("POST", "/virtual-keys", { name: "loner" });
      // No x-tollgate-cache header: the label decides.
      const ask = async (secret: unknown, question: string) => {
        const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-api-key": String(secret),
            "anthropic-version": "2023-06-01",
            "x-tollgate-cache-threshold": String(threshold),
          },
          body: JSON.stringify(body(question)),
        });
        assert.equal(res.status, 200, await res.clone().text());
        await res.arrayBuffer();
        await gw.gateway.runtime.cache?.idle();
        return res.headers.get("x-tollgate-cache");
      };
      for (const [secret, who] of [
        [member.secret, "member"],
        [optedOut.secret, "opted-out"],
        [loner.secret, "loner"],
      ] as const) {
        mock.enqueue({ scenario: "text", text: `answer for ${who}` });
        if (who !== "member") mock.enqueue({ scenario: "text", text: `second answer for ${who}` });
        assert.equal(await ask(secret, "How do I read this stack trace"), null, who);
        const second = await ask(secret, "how do I read this stack trace?");
        assert.equal(second, who === "member" ? "hit-semantic" : null, who);
      }
      // member: 1 upstream call; opted-out and loner: 2 each.
      assert.equal(mock.requests.length, 5);
    });
  });
}
