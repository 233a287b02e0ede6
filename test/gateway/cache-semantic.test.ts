import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

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

describe("semantic cache", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let embedder: Server;
  const embedded: string[] = [];
  const threshold =
    (cosine(ngramVector(ORIGINAL), ngramVector(PARAPHRASE)) + cosine(ngramVector(ORIGINAL), ngramVector(UNRELATED))) /
    2;

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
          JSON.stringify({ object: "list", data: [{ object: "embedding", index: 0, embedding: ngramVector(input) }] }),
        );
      });
    });
    await new Promise<void>((r) => embedder.listen(0, "127.0.0.1", r));
    const embedderUrl = `http://127.0.0.1:${(embedder.address() as AddressInfo).port}/v1`;
    mock = await startMockUpstream();
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      configure: (c) => {
        const openai = c.providers.find((p) => p.name === "openai");
        assert.ok(openai);
        c.providers.push({ ...openai, name: "embedder", baseUrl: embedderUrl, models: ["ngram"], modelPatterns: [] });
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
      },
    });
  });
  after(async () => {
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
});
