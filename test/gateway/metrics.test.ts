import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { formatUsd } from "../../src/pipeline/money.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

// ---------- the exposition, parsed ----------

interface Sample {
  name: string;
  labels: Record<string, string>;
  /** The value exactly as written. */
  text: string;
  value: number;
}

function parseExposition(body: string): Sample[] {
  const out: Sample[] = [];
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const text = m[3] as string;
    out.push({ name: m[1] as string, labels, text, value: Number(text) });
  }
  return out;
}

/** A decimal (or exponent) number text as exact integer nano-dollars; throws if it has digits below a nano. */
function textToNano(text: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(text);
  assert.ok(m, `not a plain non-negative number: ${text}`);
  const frac = m[2] ?? "";
  const digits = BigInt(`${m[1]}${frac}`);
  const exp = Number(m[3] ?? 0) - frac.length + 9;
  if (exp >= 0) return digits * 10n ** BigInt(exp);
  const div = 10n ** BigInt(-exp);
  assert.equal(digits % div, 0n, `${text} is not a whole number of nano-dollars`);
  return digits / div;
}

const samples = (all: Sample[], name: string, where: Record<string, string> = {}) =>
  all.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
const sum = (all: Sample[], name: string, where: Record<string, string> = {}) =>
  samples(all, name, where).reduce((a, s) => a + s.value, 0);

// ---------- the request log, aggregated the same way ----------

const billed = (r: RequestLogRecord) =>
  r.inputTokens + r.cacheReadTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens + r.outputTokens;
const logCostNano = (rows: RequestLogRecord[]) => rows.reduce((a, r) => a + BigInt(r.costNanoUsd ?? 0), 0n);
const statusClass = (s: number) => `${Math.floor(s / 100)}xx`;
/** The default labels a row is counted under. */
const seriesOf = (r: RequestLogRecord) =>
  JSON.stringify([
    r.provider ?? "",
    r.provider === null ? "" : (r.servedModel ?? r.requestedModel ?? ""),
    r.teamId ?? "",
    r.customerId ?? "",
    r.agent ?? "",
    statusClass(r.status),
  ]);
const seriesOfSample = (s: Sample) =>
  JSON.stringify(["provider", "model", "team", "customer", "agent", "status"].map((k) => s.labels[k] ?? "<missing>"));

// ---------- helpers ----------

async function admin(gw: TestGateway, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function scrape(gw: TestGateway, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/metrics`, { headers });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type"), text };
}

function anthropic(gw: TestGateway, key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${gw.url}/anthropic/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "x-api-key": key,
      "user-agent": "claude-cli/2.0.0 (external, cli)",
      ...headers,
    },
    body: JSON.stringify({ max_tokens: 200, messages: [{ role: "user", content: "hi there" }], ...body }),
  });
}

function openaiChat(gw: TestGateway, key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${gw.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ messages: [{ role: "user", content: "hello" }], ...body }),
  });
}

const script = (s: Record<string, unknown>) => ({ "x-mock-script": JSON.stringify(s) });

describe("/metrics after a mixed workload", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let rows: RequestLogRecord[];
  let all: Sample[];
  let exposition: string;
  let teamId: string;
  let teamBudgetId: string;
  let keyBudgetId: string;
  const SESSION = "sess-metrics-0f3c9a";

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    const team = await admin(gw, "POST", "/teams", { name: "platform" });
    teamId = String(team.id);
    const budget = await admin(gw, "POST", "/budgets", {
      scopeType: "team",
      scopeId: teamId,
      name: "platform-daily",
      limitUsd: "10",
      period: "1d",
    });
    teamBudgetId = String(budget.id);
    const teamKey = await admin(gw, "POST", "/virtual-keys", { name: "ci", teamId });
    const plainKey = await admin(gw, "POST", "/virtual-keys", {
      name: "plain",
      budgets: [{ name: "key-daily", limitUsd: "5", period: "1d" }],
    });
    keyBudgetId = String((plainKey.budgets as Array<{ id: string }>)[0]?.id);
    const unbudgetedKey = await admin(gw, "POST", "/virtual-keys", { name: "unbudgeted" });
    const key = String(teamKey.secret);
    const plain = String(plainKey.secret);
    const free = String(unbudgetedKey.secret);

    const results: Array<[string, number]> = [];
    const run = async (what: string, res: Promise<Response>) => {
      const r = await res;
      await r.text();
      results.push([what, r.status]);
    };
    // Streaming, with every cache bucket.
    await run(
      "stream",
      anthropic(
        gw,
        key,
        { model: "claude-sonnet-4-5", stream: true },
        {
          "x-claude-code-session-id": SESSION,
          ...script({
            scenario: "text",
            usage: {
              input_tokens: 1200,
              cache_read_input_tokens: 3000,
              cache_creation_input_tokens: 150,
              cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 50 },
            },
          }),
        },
      ),
    );
    // Non-streaming, another dialect, with reasoning tokens.
    await run(
      "reasoning",
      fetch(`${gw.url}/openai/v1/responses`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${plain}`,
          ...script({ scenario: "thinking" }),
        },
        body: JSON.stringify({ model: "gpt-4.1", input: "think" }),
      }),
    );
    await run(
      "chat",
      openaiChat(gw, plain, { model: "gpt-4.1-mini", stream: true, stream_options: { include_usage: true } }),
    );
    // Translated: an Anthropic client on an OpenAI model (the translated request does not carry x-mock-script).
    mock.enqueue({ scenario: "text", text: "translated reply words here" });
    await run("translated", anthropic(gw, key, { model: "gpt-4.1", stream: true }));
    // Failed at the provider.
    await run("failed", anthropic(gw, key, { model: "claude-sonnet-4-5" }, script({ scenario: "error", status: 500 })));
    // Cut mid-stream.
    await run(
      "cut",
      anthropic(gw, key, { model: "claude-sonnet-4-5", stream: true }, script({ scenario: "cut", cutAfterEvents: 3 })),
    );
    // Unpriced: a model nothing prices, on a key without budgets (a budgeted one is refused: next).
    await run(
      "unpriced",
      anthropic(gw, free, { model: "claude-imaginary-9" }, script({ scenario: "text", usage: { input_tokens: 10 } })),
    );
    await run("unknown-price", anthropic(gw, key, { model: "claude-imaginary-9" }));
    // Rejected: no valid key.
    await run("unauthorized", anthropic(gw, "sk-tg-not-a-real-key-000000000000", { model: "claude-sonnet-4-5" }));
    await run("unknown-model", openaiChat(gw, plain, { model: "nonexistent-model-xyz" }));
    assert.deepEqual(
      results.map(([w, s]) => `${w}:${s}`),
      [
        "stream:200",
        "reasoning:200",
        "chat:200",
        "translated:200",
        "failed:500",
        "cut:200",
        "unpriced:200",
        "unknown-price:400",
        "unauthorized:401",
        "unknown-model:400",
      ],
    );
    rows = await gw.waitForLogs(results.length);
    assert.equal(rows.length, results.length);
    const scraped = await scrape(gw);
    assert.equal(scraped.status, 200);
    assert.match(scraped.contentType ?? "", /^text\/plain; version=0\.0\.4/);
    exposition = scraped.text;
    all = parseExposition(exposition);
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("counts every request, per label combination, as the log does", () => {
    assert.equal(sum(all, "tollgate_requests_total"), rows.length);
    const fromLog = new Map<string, number>();
    for (const r of rows) fromLog.set(seriesOf(r), (fromLog.get(seriesOf(r)) ?? 0) + 1);
    const fromMetrics = new Map<string, number>();
    for (const s of samples(all, "tollgate_requests_total")) fromMetrics.set(seriesOfSample(s), s.value);
    assert.deepEqual(fromMetrics, fromLog);
    // The team label is the key's team; the agent is the client's.
    assert.ok(
      samples(all, "tollgate_requests_total", { team: teamId, agent: "claude-code", status: "2xx" }).length > 0,
    );
  });

  it("has the log's token buckets", () => {
    const log = {
      input: rows.reduce((a, r) => a + r.inputTokens, 0),
      output: rows.reduce((a, r) => a + r.outputTokens, 0),
      cache_read: rows.reduce((a, r) => a + r.cacheReadTokens, 0),
      cache_write: rows.reduce((a, r) => a + r.cacheWrite5mTokens + r.cacheWrite1hTokens, 0),
      reasoning: rows.reduce((a, r) => a + r.reasoningTokens, 0),
    };
    // Every bucket is exercised by the workload.
    for (const [type, n] of Object.entries(log)) assert.ok(n > 0, `the workload has no ${type} tokens`);
    const metrics = Object.fromEntries(
      Object.keys(log).map((type) => [type, sum(all, "tollgate_tokens_total", { type })]),
    );
    assert.deepEqual(metrics, log);
  });

  it("has exactly the log's cost, to the nano-dollar", () => {
    const fromMetrics = samples(all, "tollgate_cost_usd_total").reduce((a, s) => a + textToNano(s.text), 0n);
    const fromLog = logCostNano(rows);
    assert.ok(fromLog > 0n);
    assert.equal(formatUsd(Number(fromMetrics)), formatUsd(Number(fromLog)));
    // Per series too.
    for (const s of samples(all, "tollgate_cost_usd_total")) {
      const mine = rows.filter((r) => seriesOf(r) === seriesOfSample(s));
      assert.equal(textToNano(s.text), logCostNano(mine), `series ${seriesOfSample(s)}`);
    }
  });

  it("counts unpriced requests as the log shows them (no cost, tokens used)", () => {
    const unpriced = rows.filter((r) => r.costNanoUsd === null && billed(r) > 0);
    assert.equal(unpriced.length, 1);
    assert.equal(sum(all, "tollgate_unpriced_requests_total"), 1);
    assert.equal(sum(all, "tollgate_unpriced_requests_total", { model: "claude-imaginary-9", status: "2xx" }), 1);
  });

  it("counts refusals by kind and provider failures by reason", () => {
    assert.equal(sum(all, "tollgate_rejections_total", { reason: "authentication", status: "4xx" }), 1);
    // Unknown price (after the model resolved) and unknown model (before): both invalid requests.
    assert.equal(sum(all, "tollgate_rejections_total", { reason: "invalid_request" }), 2);
    assert.equal(sum(all, "tollgate_rejections_total", { reason: "invalid_request", model: "claude-imaginary-9" }), 1);
    // A client-chosen model name that no provider took is not a label value.
    assert.ok(!exposition.includes("nonexistent-model-xyz"));
    assert.equal(sum(all, "tollgate_rejections_total"), 3);
    assert.equal(
      sum(all, "tollgate_upstream_errors_total", {
        reason: "http_5xx",
        provider: "anthropic",
        model: "claude-sonnet-4-5",
      }),
      1,
    );
    // The cut: the mock destroys the socket mid-stream.
    assert.equal(sum(all, "tollgate_upstream_errors_total", { reason: "reset" }), 1);
    assert.equal(sum(all, "tollgate_upstream_errors_total"), 2);
    // Registered before the response cache exists: zero, per series.
    assert.equal(sum(all, "tollgate_cache_hits_total"), 0);
    assert.ok(samples(all, "tollgate_cache_hits_total").length > 0);
  });

  it("times every request, and upstream time and overhead for those that reached the provider", () => {
    // Everything that got a 200 or the provider's 500 was sent upstream; the 4xx were refused before.
    const dispatched = rows.filter((r) => r.status === 200 || r.status === 500).length;
    assert.equal(dispatched, 7);
    assert.equal(sum(all, "tollgate_request_duration_seconds_count"), rows.length);
    assert.equal(sum(all, "tollgate_upstream_duration_seconds_count"), dispatched);
    assert.equal(sum(all, "tollgate_overhead_seconds_count"), dispatched);
    assert.equal(
      sum(all, "tollgate_request_duration_seconds_bucket", { le: "+Inf" }),
      sum(all, "tollgate_request_duration_seconds_count"),
    );
    assert.equal(sum(all, "tollgate_time_to_first_token_seconds_count"), rows.filter((r) => r.ttftMs !== null).length);
    // Overhead is the gateway's share: never above the whole request's time.
    assert.ok(sum(all, "tollgate_overhead_seconds_sum") <= sum(all, "tollgate_request_duration_seconds_sum"));
    assert.ok(sum(all, "tollgate_upstream_duration_seconds_sum") > 0);
    assert.equal(sum(all, "tollgate_in_flight_requests"), 0);
  });

  it("has budget gauges for team budgets; key budgets only when per-key labels are on", () => {
    const teamSpend = logCostNano(rows.filter((r) => r.teamId === teamId && r.costNanoUsd !== null));
    assert.ok(teamSpend > 0n);
    const [ratio] = samples(all, "tollgate_budget_used_ratio", { budget: teamBudgetId });
    assert.ok(ratio, "no gauge for the team budget");
    assert.equal(ratio.labels.scope_type, "team");
    assert.equal(ratio.labels.scope_id, teamId);
    assert.equal(ratio.labels.name, "platform-daily");
    assert.equal(ratio.value, Number(teamSpend) / 10e9);
    const [remaining] = samples(all, "tollgate_budget_remaining_usd", { budget: teamBudgetId });
    assert.equal(remaining?.value, (10e9 - Number(teamSpend)) / 1e9);
    assert.equal(samples(all, "tollgate_budget_used_ratio", { budget: keyBudgetId }).length, 0);
  });

  it("never labels by session or request id, nor by key or developer by default", () => {
    assert.ok(rows.some((r) => r.sessionId === SESSION));
    assert.ok(!exposition.includes(SESSION));
    for (const r of rows) assert.ok(!exposition.includes(r.id), `request id ${r.id} in the exposition`);
    for (const s of all.filter((x) => x.name.startsWith("tollgate_"))) {
      assert.ok(!("key" in s.labels) && !("developer" in s.labels), `${s.name} ${JSON.stringify(s.labels)}`);
    }
    // Process metrics come along.
    assert.ok(samples(all, "process_cpu_user_seconds_total").length === 1);
  });
});

describe("/metrics labels, auth and cardinality", () => {
  let mock: MockUpstream;
  before(async () => {
    mock = await startMockUpstream();
  });
  after(async () => {
    await mock.close();
  });

  it("per-key, per-developer and x-tollgate-label-* labels (and key budgets) only when configured", async () => {
    const gw = await startTestGateway({
      upstreamUrl: mock.url,
      configure: (c) => {
        c.metrics = { ...c.metrics, keyLabels: true, developerLabels: true, labels: ["project", "cost.center"] };
      },
    });
    try {
      const dev = await admin(gw, "POST", "/developers", { name: "Ada", email: "ada@example.com" });
      const key = await admin(gw, "POST", "/virtual-keys", {
        name: "ada",
        developerId: dev.id,
        budgets: [{ name: "ada-daily", limitUsd: "1", period: "1d" }],
      });
      const keyBudgetId = String((key.budgets as Array<{ id: string }>)[0]?.id);
      const headers = {
        "x-tollgate-label-project": "apollo",
        "x-tollgate-label-cost.center": "cc-7",
        "x-tollgate-label-other": "x",
      };
      assert.equal(
        (await (await anthropic(gw, String(key.secret), { model: "claude-sonnet-4-5" }, headers)).text()).length > 0,
        true,
      );
      await gw.waitForLogs(1);
      const all = parseExposition((await scrape(gw)).text);
      const [s] = samples(all, "tollgate_requests_total");
      assert.deepEqual(s?.labels, {
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        team: "",
        customer: "",
        agent: "claude-code",
        status: "2xx",
        key: String(key.id),
        developer: String(dev.id),
        label_project: "apollo",
        label_cost_center: "cc-7",
      });
      assert.equal(samples(all, "tollgate_tokens_total", { key: String(key.id), type: "output" }).length, 1);
      assert.equal(samples(all, "tollgate_budget_used_ratio", { budget: keyBudgetId, scope_type: "key" }).length, 1);
    } finally {
      await gw.close();
    }
  });

  it("folds label combinations past metrics.maxSeries into one series; totals stay exact", async () => {
    const gw = await startTestGateway({
      upstreamUrl: mock.url,
      configure: (c) => {
        c.metrics = { ...c.metrics, labels: ["project"], maxSeries: 2 };
      },
    });
    try {
      for (const project of ["a", "b", "c", "d"]) {
        const res = await anthropic(gw, "k", { model: "claude-sonnet-4-5" }, { "x-tollgate-label-project": project });
        assert.equal(res.status, 200, await res.text());
      }
      const rows = await gw.waitForLogs(4);
      const all = parseExposition((await scrape(gw)).text);
      const series = samples(all, "tollgate_requests_total");
      assert.deepEqual(
        series.map((s) => [s.labels.label_project, s.value]),
        [
          ["a", 1],
          ["b", 1],
          ["_other", 2],
        ],
      );
      const costNano = samples(all, "tollgate_cost_usd_total").reduce((a, s) => a + textToNano(s.text), 0n);
      assert.equal(costNano, logCostNano(rows));
      assert.ok(gw.warnings.some((w) => /maxSeries/.test(w)));
    } finally {
      await gw.close();
    }
  });

  it("asks for the bearer token when one is configured", async () => {
    const token = "metrics-token-0123456789abcdef";
    const gw = await startTestGateway({ upstreamUrl: mock.url, env: { TOLLGATE_METRICS_TOKEN: token } });
    try {
      const none = await scrape(gw);
      assert.equal(none.status, 401);
      assert.doesNotMatch(none.text, /tollgate_/);
      assert.equal((await scrape(gw, { authorization: `Bearer ${token}x` })).status, 401);
      assert.equal((await scrape(gw, { authorization: `Bearer ${gw.adminToken}` })).status, 401);
      const ok = await scrape(gw, { authorization: `Bearer ${token}` });
      assert.equal(ok.status, 200);
      assert.match(ok.text, /# TYPE tollgate_requests_total counter/);
      assert.match(ok.text, /# TYPE tollgate_request_duration_seconds histogram/);
    } finally {
      await gw.close();
    }
  });

  it("is open without a token", async () => {
    const gw = await startTestGateway({ upstreamUrl: mock.url });
    try {
      const res = await scrape(gw);
      assert.equal(res.status, 200);
      assert.match(res.text, /^tollgate_in_flight_requests 0$/m);
    } finally {
      await gw.close();
    }
  });
});
