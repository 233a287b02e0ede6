import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import type { MetricsConfig } from "../../src/config/load.ts";
import { DogStatsdMetrics } from "../../src/metrics/dogstatsd.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// ---------- a fake Datadog Agent: a UDP socket collecting DogStatsD lines ----------

interface Line {
  raw: string;
  name: string;
  value: number;
  type: string;
  tags: string[];
}

/** `name:value|type[|@rate][|#tag:v,…][|c:…]` */
function parseLine(raw: string): Line {
  const parts = raw.split("|");
  const head = parts[0] ?? "";
  const colon = head.lastIndexOf(":");
  assert.ok(colon > 0, `no value in ${raw}`);
  const tagPart = parts.find((p) => p.startsWith("#"));
  return {
    raw,
    name: head.slice(0, colon),
    value: Number(head.slice(colon + 1)),
    type: parts[1] ?? "",
    tags: tagPart ? tagPart.slice(1).split(",") : [],
  };
}

interface FakeAgent {
  port: number;
  lines: Line[];
  /** Polls (bounded) until `done` holds for the lines received; fails with what arrived otherwise. */
  waitFor(done: (lines: Line[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function startFakeAgent(): Promise<FakeAgent> {
  const socket = dgram.createSocket("udp4");
  const lines: Line[] = [];
  socket.on("message", (msg) => {
    for (const raw of msg.toString("utf8").split("\n")) if (raw !== "") lines.push(parseLine(raw));
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    lines,
    async waitFor(done, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(lines)) {
        if (Date.now() > deadline)
          assert.fail(`timed out waiting for ${what}; received:\n${lines.map((l) => l.raw).join("\n")}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

const named = (lines: Line[], name: string, ...tags: string[]) =>
  lines.filter((l) => l.name === name && tags.every((t) => l.tags.includes(t)));
const total = (lines: Line[], name: string, ...tags: string[]) =>
  named(lines, name, ...tags).reduce((a, l) => a + l.value, 0);

// ---------- through a gateway ----------

describe("DogStatsD metrics through the gateway", () => {
  const SESSION = "sess-dogstatsd-7d1e42";
  let mock: MockUpstream;
  let agent: FakeAgent;
  let gw: TestGateway;
  let rows: RequestLogRecord[];
  let teamId: string;
  let distributionsBeforeClose: Line[];

  before(async () => {
    mock = await startMockUpstream();
    agent = await startFakeAgent();
    gw = await startTestGateway({
      upstreamUrl: mock.url,
      configure: (c) => {
        c.metrics = {
          ...c.metrics,
          dogstatsd: { host: "127.0.0.1", port: agent.port, prefix: "tollgate.", globalTags: { env: "test" } },
        };
      },
    });
    const admin = async (path: string, body: unknown) => {
      const res = await fetch(`${gw.url}/api${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as Record<string, unknown>;
    };
    teamId = String((await admin("/teams", { name: "platform" })).id);
    const key = String((await admin("/virtual-keys", { name: "ci", teamId })).secret);
    const anthropic = async (secret: string, headers: Record<string, string>, stream: boolean) => {
      const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "x-api-key": secret,
          "user-agent": "claude-cli/2.0.0 (external, cli)",
          "x-claude-code-session-id": SESSION,
          ...headers,
        },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 200,
          stream,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      await res.text();
      return res.status;
    };
    const script = (s: Record<string, unknown>) => ({ "x-mock-script": JSON.stringify(s) });
    // Priced, streamed, every cache bucket.
    const usage = {
      input_tokens: 1200,
      cache_read_input_tokens: 3000,
      cache_creation_input_tokens: 150,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 50 },
    };
    assert.equal(await anthropic(key, script({ scenario: "text", usage }), true), 200);
    // Failed at the provider.
    assert.equal(await anthropic(key, script({ scenario: "error", status: 500 }), false), 500);
    // Refused by the gateway: an unknown virtual key.
    assert.equal(await anthropic("sk-tg-unknownunknownunknownunknown", {}, false), 401);
    rows = await gw.waitForLogs(3);
    assert.equal(rows.length, 3);
    // Durations go out per request through hot-shots' buffer (flushed every second), before any close.
    await agent.waitFor((l) => named(l, "tollgate.request.duration").length >= 3, "3 request.duration lines");
    distributionsBeforeClose = [...agent.lines];
    // Counts are summed in the process and sent every 10 s and on close.
    await gw.close();
    await agent.waitFor((l) => total(l, "tollgate.requests") >= 3, "requests counts summing to 3");
  });

  after(async () => {
    await gw?.close();
    await agent?.close();
    await mock?.close();
  });

  it("sends request durations as distributions in seconds, tagged provider, model, status_class only", () => {
    const d = named(distributionsBeforeClose, "tollgate.request.duration");
    assert.equal(d.length, 3);
    for (const l of d) {
      assert.equal(l.type, "d");
      assert.ok(l.value > 0 && l.value < 30, `duration ${l.value} s`);
      const names = l.tags.map((t) => t.slice(0, t.indexOf(":"))).sort();
      assert.ok(
        names.every((n) => ["env", "model", "provider", "status_class"].includes(n)),
        l.raw,
      );
    }
    // Upstream time only for the two requests that reached the provider.
    const up = named(distributionsBeforeClose, "tollgate.upstream.duration");
    assert.equal(up.length, 2);
    assert.deepEqual(up.map((l) => l.tags.find((t) => t.startsWith("status_class:"))).sort(), [
      "status_class:2xx",
      "status_class:5xx",
    ]);
    assert.ok(named(distributionsBeforeClose, "tollgate.time_to_first_token", "status_class:2xx").length >= 1);
    assert.equal(named(distributionsBeforeClose, "tollgate.requests").length, 0, "counts wait for the flush");
  });

  it("counts requests, tokens and cost equal to the request log, with the Prometheus tags", () => {
    const lines = agent.lines;
    assert.equal(total(lines, "tollgate.requests"), rows.length);
    const ok = rows.find((r) => r.status === 200);
    assert.ok(ok);
    assert.equal(ok.sessionId, SESSION);
    const okTags = [
      "provider:anthropic",
      `model:${ok.servedModel ?? ok.requestedModel}`,
      `team:${teamId}`,
      `agent:${ok.agent}`,
      "status_class:2xx",
      "env:test",
    ];
    const req = named(lines, "tollgate.requests", ...okTags);
    assert.equal(req.length, 1, lines.map((l) => l.raw).join("\n"));
    assert.equal(req[0]?.type, "c");
    assert.equal(req[0]?.value, 1);

    const sum = (f: (r: RequestLogRecord) => number) => rows.reduce((a, r) => a + f(r), 0);
    assert.equal(
      total(lines, "tollgate.tokens", "type:input"),
      sum((r) => r.inputTokens),
    );
    assert.equal(
      total(lines, "tollgate.tokens", "type:output"),
      sum((r) => r.outputTokens),
    );
    assert.equal(
      total(lines, "tollgate.tokens", "type:cache_read"),
      sum((r) => r.cacheReadTokens),
    );
    assert.equal(
      total(lines, "tollgate.tokens", "type:cache_write"),
      sum((r) => r.cacheWrite5mTokens + r.cacheWrite1hTokens),
    );
    assert.equal(
      total(lines, "tollgate.tokens", "type:reasoning"),
      sum((r) => r.reasoningTokens),
    );
    assert.equal(total(lines, "tollgate.tokens", "type:input"), 1200);
    assert.equal(total(lines, "tollgate.tokens", "type:cache_read"), 3000);

    assert.ok(ok.costNanoUsd !== null && ok.costNanoUsd > 0);
    const costNano = named(lines, "tollgate.cost_usd").reduce((a, l) => a + Math.round(l.value * 1e9), 0);
    assert.equal(
      costNano,
      sum((r) => r.costNanoUsd ?? 0),
    );
    assert.equal(named(lines, "tollgate.cost_usd", ...okTags).length, 1);
    assert.equal(total(lines, "tollgate.unpriced_requests"), 0);
  });

  it("counts the refusal by reason and the provider failure by provider, model and reason", () => {
    const rejected = rows.find((r) => r.status === 401);
    assert.ok(rejected);
    const rej = named(agent.lines, "tollgate.rejections");
    assert.equal(rej.length, 1);
    assert.equal(rej[0]?.value, 1);
    assert.ok(rej[0]?.tags.includes("reason:authentication"), rej[0]?.raw);
    assert.ok(rej[0]?.tags.includes("status_class:4xx"));
    assert.equal(total(agent.lines, "tollgate.requests", "status_class:4xx"), 1);
    const failed = named(agent.lines, "tollgate.upstream_errors");
    assert.equal(failed.length, 1);
    assert.deepEqual(failed[0]?.tags.slice().sort(), [
      "env:test",
      "model:claude-sonnet-4-5",
      "provider:anthropic",
      "reason:http_5xx",
    ]);
    assert.equal(total(agent.lines, "tollgate.requests", "status_class:5xx"), 1);
    assert.equal(named(agent.lines, "tollgate.cache_hits").length, 0);
  });

  it("never sends session ids, request ids or key/developer tags (opt-in flags off)", () => {
    const all = agent.lines.map((l) => l.raw).join("\n");
    assert.ok(!all.includes(SESSION));
    for (const r of rows) assert.ok(!all.includes(r.id), `request id ${r.id} sent`);
    for (const l of agent.lines) {
      for (const t of l.tags) assert.ok(!/^(key|developer|session|request_id):/.test(t), l.raw);
      assert.ok(l.name.startsWith("tollgate."), l.raw);
    }
    assert.deepEqual(
      gw.warnings.filter((w) => w.includes("dogstatsd")),
      [],
    );
  });
});

// ---------- the sink alone ----------

const CONFIG: MetricsConfig = {
  token: null,
  keyLabels: true,
  developerLabels: false,
  labels: ["project"],
  maxSeries: 2,
};

function row(over: Partial<RequestLogRecord>): RequestLogRecord {
  return {
    provider: "openai",
    servedModel: "gpt-4.1",
    requestedModel: "gpt-4.1",
    teamId: null,
    customerId: null,
    virtualKeyId: "vk_1",
    developerId: "dev_1",
    agent: "codex",
    status: 200,
    labels: {},
    inputTokens: 10,
    outputTokens: 5,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    reasoningTokens: 0,
    costNanoUsd: 1000,
    cacheHit: null,
    cacheSavedNanoUsd: null,
    ttftMs: null,
    errorCode: null,
    ...over,
  } as RequestLogRecord;
}

describe("DogStatsdMetrics", () => {
  it("keeps to maxSeries (then `_other`), honours the key flag and labels, counts cache hits; never throws", async () => {
    const agent = await startFakeAgent();
    const warnings: string[] = [];
    const sink = new DogStatsdMetrics({
      config: CONFIG,
      dogstatsd: { host: "127.0.0.1", port: agent.port, prefix: "tg.", globalTags: {} },
      warn: (m) => warnings.push(m),
    });
    try {
      const t = { durationMs: 10, upstreamMs: null };
      sink.observe(row({ teamId: "team_a", labels: { project: "apollo" } }), t);
      sink.observe(
        row({ teamId: "team_a", labels: { project: "apollo" }, cacheHit: "exact", cacheSavedNanoUsd: 5 }),
        t,
      );
      sink.observe(row({ teamId: "team_b", costNanoUsd: null }), t);
      sink.observe(row({ teamId: "team_c" }), t);
      sink.observe(row({ teamId: "team_d" }), t);
      // A broken row (labels missing) is reported, not thrown.
      assert.doesNotThrow(() => sink.observe(row({ labels: undefined as unknown as Record<string, string> }), t));
      await sink.close();
      assert.doesNotThrow(() => sink.observe(row({}), t));
      await agent.waitFor((l) => total(l, "tg.requests") >= 5, "5 requests");
      const l = agent.lines;
      assert.equal(total(l, "tg.requests", "team:team_a", "key:vk_1", "label_project:apollo"), 2);
      assert.equal(total(l, "tg.requests", "team:team_b"), 1);
      assert.equal(total(l, "tg.unpriced_requests", "team:team_b"), 1);
      assert.equal(total(l, "tg.requests", "team:_other", "key:_other", "label_project:_other"), 2);
      assert.equal(total(l, "tg.cache_hits", "team:team_a", "layer:exact"), 1);
      assert.equal(total(l, "tg.cache_saved_usd", "layer:exact"), 5e-9);
      assert.equal(total(l, "tg.cost_usd", "team:team_a"), 2000 / 1e9);
      assert.ok(l.every((x) => !x.tags.some((t) => t.startsWith("developer:"))));
      assert.ok(warnings.some((w) => /maxSeries \(2\)/.test(w)));
      assert.equal(warnings.filter((w) => /not sent/.test(w)).length, 1, warnings.join("\n"));
    } finally {
      await sink.close();
      await agent.close();
    }
  });
});
