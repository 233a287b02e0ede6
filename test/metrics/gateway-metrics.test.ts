import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import type { MetricsConfig } from "../../src/config/load.ts";
import type { BudgetStanding } from "../../src/governance/budget-gate.ts";
import type { BudgetSnapshot, GovernanceSnapshot } from "../../src/governance/entities/index.ts";
import { BudgetGauges } from "../../src/metrics/budget-gauges.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";

const CONFIG: MetricsConfig = { token: null, keyLabels: false, developerLabels: false, labels: [], maxSeries: 100 };

function record(over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    id: "01900000-0000-7000-8000-000000000000",
    startedAt: 0,
    dialect: "anthropic",
    endpoint: "/anthropic/v1/messages",
    stream: false,
    provider: "anthropic",
    providerKeyId: null,
    requestedModel: "claude-sonnet-4-5",
    servedModel: "claude-sonnet-4-5",
    status: 200,
    errorCode: null,
    errorMessage: null,
    latencyMs: 0,
    ttftMs: null,
    inputTokens: 10,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 5,
    reasoningTokens: 0,
    costNanoUsd: 0,
    priceVersion: "v",
    usageEstimated: false,
    sessionId: null,
    agent: "claude-code",
    agentVersion: null,
    agentId: null,
    parentAgentId: null,
    turnId: null,
    workspace: null,
    labels: {},
    clientIp: null,
    userAgent: null,
    virtualKeyId: null,
    teamId: null,
    customerId: null,
    developerId: null,
    upstreamDialect: null,
    warnings: [],
    routingRule: null,
    attempts: [],
    cacheHit: null,
    cacheSavedNanoUsd: null,
    ...over,
  };
}

const SENT = { durationMs: 100, upstreamMs: 98 };
const REFUSED = { durationMs: 1, upstreamMs: null };

/** `name{labels} value` lines of the exposition (no comments). */
async function lines(m: GatewayMetrics, name: string): Promise<string[]> {
  const text = await m.scrape();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe("GatewayMetrics", () => {
  it("exposes cost as one division of the exact nano-dollar sum, not a sum of floats", async () => {
    const m = new GatewayMetrics({ config: CONFIG, budgets: null, warn: () => {}, processMetrics: false });
    for (let i = 0; i < 3; i++) m.observe(record({ costNanoUsd: 100_000_000 }), SENT);
    assert.notEqual(0.1 + 0.1 + 0.1, 0.3);
    assert.deepEqual(await lines(m, "tollgate_cost_usd_total"), [
      'tollgate_cost_usd_total{provider="anthropic",model="claude-sonnet-4-5",team="",customer="",agent="claude-code",status="2xx"} 0.3',
    ]);
  });

  it("stays exact past 2^53 nano-dollars (≈ $9M) in one series", async () => {
    const m = new GatewayMetrics({ config: CONFIG, budgets: null, warn: () => {}, processMetrics: false });
    for (let i = 0; i < 3; i++) m.observe(record({ costNanoUsd: 4_000_000_000_000_000 }), SENT);
    // Past 2^53 a number sum of nano-dollars drops each 1 (12000000000000000 + 1 rounds back down).
    for (let i = 0; i < 1000; i++) m.observe(record({ costNanoUsd: 1 }), SENT);
    const [line] = await lines(m, "tollgate_cost_usd_total");
    assert.equal(line?.split(" ").at(-1), "12000000.000001");
  });

  it("sorts errors: refusals by kind, provider failures by reason, the gateway's own ends in neither", async () => {
    const m = new GatewayMetrics({ config: CONFIG, budgets: null, warn: () => {}, processMetrics: false });
    m.observe(record({ status: 503, errorCode: "TG_COUNTERS_UNAVAILABLE", outputTokens: 0 }), REFUSED);
    m.observe(record({ status: 429, errorCode: "TG_SESSION_CAP", outputTokens: 0 }), REFUSED);
    m.observe(record({ status: 402, errorCode: "TG_BUDGET_EXHAUSTED", outputTokens: 0 }), REFUSED);
    // Cut by its budget mid-stream, the client leaving, the provider's 429 and an upstream timeout.
    m.observe(record({ status: 200, errorCode: "TG_BUDGET_EXHAUSTED" }), SENT);
    m.observe(record({ status: 499, errorCode: "TG_CLIENT_CLOSED" }), SENT);
    m.observe(record({ status: 429, errorCode: "rate_limit_error" }), SENT);
    m.observe(record({ status: 504, errorCode: "TG_UPSTREAM_TIMEOUT" }), SENT);
    const reasons = async (name: string) =>
      (await lines(m, name)).map((l) => `${/reason="([^"]+)"/.exec(l)?.[1]} ${l.split(" ").at(-1)}`).sort();
    assert.deepEqual(await reasons("tollgate_rejections_total"), [
      "budget_exhausted 1",
      "counters_unavailable 1",
      "rate_limited 1",
    ]);
    assert.deepEqual(await reasons("tollgate_upstream_errors_total"), ["http_4xx 1", "timeout 1"]);
  });

  it("observes overhead as duration minus upstream time, only for requests sent upstream", async () => {
    const m = new GatewayMetrics({ config: CONFIG, budgets: null, warn: () => {}, processMetrics: false });
    m.observe(record(), { durationMs: 250, upstreamMs: 249 });
    m.observe(record({ status: 401, errorCode: "TG_UNAUTHORIZED", provider: null }), REFUSED);
    const text = await m.scrape();
    assert.match(
      text,
      /^tollgate_overhead_seconds_count\{provider="anthropic",model="claude-sonnet-4-5",status="2xx"\} 1$/m,
    );
    assert.match(text, /^tollgate_overhead_seconds_bucket\{provider="anthropic",.*le="0\.001"\} 1$/m);
    assert.match(text, /^tollgate_overhead_seconds_bucket\{provider="anthropic",.*le="0\.0005"\} 0$/m);
    assert.match(text, /^tollgate_request_duration_seconds_sum\{provider="anthropic",.*\} 0\.25$/m);
    assert.doesNotMatch(text, /^tollgate_overhead_seconds_count\{provider="",/m);
    assert.match(text, /^tollgate_request_duration_seconds_count\{provider="",model="",status="4xx"\} 1$/m);
  });

  it("counts in-flight requests as started minus finished", async () => {
    const m = new GatewayMetrics({ config: CONFIG, budgets: null, warn: () => {}, processMetrics: false });
    m.started();
    m.started();
    m.observe(record(), SENT);
    assert.deepEqual(await lines(m, "tollgate_in_flight_requests"), ["tollgate_in_flight_requests 1"]);
  });
});

describe("BudgetGauges", () => {
  const budget = (id: string, scopeType: BudgetSnapshot["scopeType"]): BudgetSnapshot =>
    ({ id, name: null, scopeType, scopeId: `${scopeType}_1`, limitNanoUsd: 4_000_000_000 }) as BudgetSnapshot;
  const snapshot = {
    budgetsById: new Map(["team", "key", "developer", "global"].map((t) => [`b_${t}`, budget(`b_${t}`, t as never)])),
  } as unknown as GovernanceSnapshot;

  it("reads the counters at most once per ttl, for the scopes it exports", async () => {
    const clock = new ManualClock();
    const reads: string[][] = [];
    let committed = 1_000_000_000;
    const gauges = new BudgetGauges({
      governance: () => snapshot,
      standing: async (list) => {
        reads.push(list.map((b) => b.id));
        return list.map(
          (b): BudgetStanding => ({
            budget: b,
            windowStart: 0,
            resetsAt: null,
            committedNanoUsd: committed,
            reservedNanoUsd: 500_000_000,
          }),
        );
      },
      clock,
      keyBudgets: false,
      developerBudgets: false,
      ttlMs: 5000,
      warn: () => {},
    });
    const [first, again] = await Promise.all([gauges.read(), gauges.read()]);
    assert.equal(first, again);
    assert.deepEqual(reads, [["b_team", "b_global"]]);
    assert.deepEqual(
      first.map((v) => [v.labels.budget, v.usedRatio, v.remainingUsd]),
      [
        ["b_team", 0.25, 2.5],
        ["b_global", 0.25, 2.5],
      ],
    );
    committed = 5_000_000_000;
    clock.advance(4999);
    await gauges.read();
    assert.equal(reads.length, 1);
    clock.advance(1);
    const later = await gauges.read();
    assert.equal(reads.length, 2);
    assert.deepEqual(
      later.map((v) => [v.usedRatio, v.remainingUsd]),
      [
        [1.25, 0],
        [1.25, 0],
      ],
    );
  });
});
