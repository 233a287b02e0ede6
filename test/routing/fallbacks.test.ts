import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { seededRandom } from "./seeded-random.ts";

/**
 * Retries and fallbacks (issue 5, acceptance 2) against the scripted mock: each upstream fault either recovers on
 * the next attempt or comes back as the right error, and nothing is retried once content reached the client.
 * Backoff waits go through the gateway's injected `sleep`, recorded here instead of slept.
 */
describe("retries and fallbacks", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let dir: string;
  let client: Anthropic;
  const delays: number[] = [];

  before(async () => {
    mock = await startMockUpstream();
    dir = await mkdtemp(join(tmpdir(), "tollgate-fallbacks-"));
    const config = join(dir, "tollgate.json");
    await writeFile(
      config,
      JSON.stringify({
        providers: {
          backup: { preset: "anthropic", baseUrl: mock.url, apiKeys: ["backup-key"] },
          // Nothing listens on port 1: connect refused.
          dead: { preset: "anthropic", baseUrl: "http://127.0.0.1:1", apiKeys: ["dead-key"] },
        },
        routing: {
          rules: [
            {
              name: "solo",
              scope: { type: "global" },
              priority: 10,
              expression: '"x-test" in headers && headers["x-test"] == "solo"',
              targets: ["anthropic/claude-sonnet-4-5"],
            },
            {
              name: "dead-first",
              scope: { type: "global" },
              priority: 10,
              expression: '"x-test" in headers && headers["x-test"] == "dead"',
              targets: ["dead/claude-sonnet-4-5"],
              fallbacks: ["backup/claude-sonnet-4-5"],
            },
            {
              name: "sonnet-with-backup",
              scope: { type: "global" },
              expression: 'model.startsWith("claude-sonnet")',
              targets: ["anthropic/claude-sonnet-4-5"],
              fallbacks: ["backup/claude-sonnet-4-5"],
            },
          ],
        },
      }),
    );
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: { TOLLGATE_CONFIG: config },
      resilience: true,
      random: seededRandom(7),
      sleep: async (ms) => {
        delays.push(ms);
      },
      configure: (c) => {
        c.timeouts = { connectMs: 2000, firstByteMs: 300, idleMs: 2000 };
      },
    });
    client = new Anthropic({ apiKey: "x", baseURL: `${gw.url}/anthropic`, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    mock.reset();
    delays.length = 0;
  });

  const ask = (headers: Record<string, string> = {}) =>
    client.messages
      .create({ model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }, { headers })
      .withResponse();
  const keysUsed = () => mock.requests.map((r) => r.headers["x-api-key"]);
  const lastRow = async () => (await gw.logs()).at(-1);

  it("a 500 is retried on the same target after a jittered backoff", async () => {
    mock.enqueue({ scenario: "error", status: 500 }, { scenario: "text", text: "second time lucky" });
    const { data, response } = await ask();
    assert.equal(data.content[0]?.type === "text" && data.content[0].text, "second time lucky");
    assert.deepEqual(keysUsed(), ["test-anthropic-key", "test-anthropic-key"]);
    assert.equal(delays.length, 1);
    assert.ok((delays[0] as number) >= 0 && (delays[0] as number) <= 500, `first backoff ${delays[0]} within base`);
    assert.equal(response.headers.get("x-tollgate-attempts"), "2");
    assert.equal(response.headers.get("x-tollgate-route-rule"), "sonnet-with-backup");
    assert.equal(response.headers.get("x-tollgate-provider"), "anthropic");
    const row = await lastRow();
    assert.equal(row?.status, 200);
    assert.equal(row?.routingRule, "sonnet-with-backup");
    assert.deepEqual(
      row?.attempts.map((a) => [a.provider, a.status, a.error]),
      [
        ["anthropic", 500, "upstream_500"],
        ["anthropic", 200, null],
      ],
    );
    assert.ok(row?.attempts.every((a) => a.providerKeyId !== null && !a.providerKeyId.includes("test-")));
  });

  it("a 429 with a short retry-after waits exactly that long, then succeeds", async () => {
    mock.enqueue({ scenario: "error", status: 429, headers: { "retry-after": "2" } }, { scenario: "text" });
    const { response } = await ask();
    assert.equal(response.status, 200);
    assert.deepEqual(delays, [2000]);
    assert.equal(mock.requests.length, 2);
  });

  it("a 429 whose retry-after exceeds the retry budget moves to the fallback at once", async () => {
    mock.enqueue({ scenario: "error", status: 429, headers: { "retry-after": "120" } }, { scenario: "text" });
    const { response } = await ask();
    assert.equal(response.status, 200);
    assert.deepEqual(delays, []);
    assert.deepEqual(keysUsed(), ["test-anthropic-key", "backup-key"]);
    assert.equal(response.headers.get("x-tollgate-provider"), "backup");
    const row = await lastRow();
    assert.deepEqual(
      row?.attempts.map((a) => [a.provider, a.status]),
      [
        ["anthropic", 429],
        ["backup", 200],
      ],
    );
    assert.equal(row?.provider, "backup");
  });

  it("with no fallback left, the upstream's 429 and its retry-after reach the agent unchanged", async () => {
    mock.enqueue({ scenario: "error", status: 429, headers: { "retry-after": "120" } });
    await assert.rejects(ask({ "x-test": "solo" }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      assert.equal(err.headers?.get("retry-after"), "120");
      assert.equal(err.headers?.get("x-tollgate-attempts"), "1");
      return true;
    });
    assert.deepEqual(delays, []);
    assert.equal(mock.requests.length, 1);
    const row = await lastRow();
    assert.equal(row?.status, 429);
    assert.equal(row?.routingRule, "solo");
  });

  it("connect refused: retried with backoff, then the fallback provider serves", async () => {
    mock.enqueue({ scenario: "text", text: "from the backup" });
    const { data, response } = await ask({ "x-test": "dead" });
    assert.equal(data.content[0]?.type === "text" && data.content[0].text, "from the backup");
    assert.deepEqual(keysUsed(), ["backup-key"]);
    assert.equal(response.headers.get("x-tollgate-provider"), "backup");
    const row = await lastRow();
    const errors = row?.attempts.map((a) => [a.provider, a.status, a.error]);
    assert.deepEqual(errors, [
      ["dead", null, "TG_UPSTREAM_UNREACHABLE"],
      ["dead", null, "TG_UPSTREAM_UNREACHABLE"],
      ["dead", null, "TG_UPSTREAM_UNREACHABLE"],
      ["backup", 200, null],
    ]);
    assert.equal(delays.length, 2, "two backoffs between the three tries on the dead provider");
  });

  it("a timeout before the first byte is retried", async () => {
    mock.enqueue({ scenario: "hang" }, { scenario: "text", text: "awake now" });
    const { data } = await ask();
    assert.equal(data.content[0]?.type === "text" && data.content[0].text, "awake now");
    const row = await lastRow();
    assert.deepEqual(
      row?.attempts.map((a) => [a.status, a.error]),
      [
        [null, "TG_UPSTREAM_TIMEOUT"],
        [200, null],
      ],
    );
  });

  it("200 then overloaded before any content falls back, and the client sees one clean stream", async () => {
    const early = { scenario: "stream-error", errorBeforeContent: true } as const;
    mock.enqueue(early, early, early);
    mock.enqueue({ scenario: "text", text: "steady stream" });
    const stream = client.messages.stream({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      messages: [{ role: "user", content: "hi" }],
    });
    const message = await stream.finalMessage();
    assert.equal(message.content[0]?.type === "text" && message.content[0].text, "steady stream");
    assert.deepEqual(keysUsed(), ["test-anthropic-key", "test-anthropic-key", "test-anthropic-key", "backup-key"]);
    const row = await lastRow();
    assert.equal(row?.status, 200);
    assert.equal(row?.errorCode, null);
    assert.deepEqual(
      row?.attempts.map((a) => [a.provider, a.status, a.error]),
      [
        ["anthropic", 200, "overloaded_error"],
        ["anthropic", 200, "overloaded_error"],
        ["anthropic", 200, "overloaded_error"],
        ["backup", 200, null],
      ],
    );
    assert.ok(row && row.outputTokens > 0);
  });

  it("a failure after content reached the client is not retried, and is reported cleanly", async () => {
    mock.enqueue({ scenario: "cut", text: "one two three four five six seven eight", cutAfterEvents: 5 });
    mock.enqueue({ scenario: "text", text: "must not be used" });
    const stream = client.messages.stream({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      messages: [{ role: "user", content: "hi" }],
    });
    await assert.rejects(stream.finalMessage());
    assert.equal(mock.requests.length, 1, "no retry after content");
    const row = await gw.waitForLogs(1).then((rows) => rows.at(-1));
    assert.equal(row?.status, 200);
    assert.notEqual(row?.errorCode, null);
    assert.deepEqual(
      row?.attempts.map((a) => [a.provider, a.status]),
      [["anthropic", 200]],
    );
    assert.equal(row?.attempts[0]?.error, row?.errorCode);
  });

  it("a 400 (the client's fault) is never retried", async () => {
    mock.enqueue({ scenario: "error", status: 400 }, { scenario: "text" });
    await assert.rejects(ask(), (err: unknown) => err instanceof Anthropic.BadRequestError);
    assert.equal(mock.requests.length, 1);
    assert.deepEqual(delays, []);
  });
});
