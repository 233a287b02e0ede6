import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import type { RequestLogRecord } from "../src/store/log-record.ts";
import { LOG_COLUMNS, pushLogRowValues } from "../src/store/log-rows.ts";
import { ROLLUP_TABLES, rebuildSql } from "../src/store/rollups.ts";
import { type RunningChild, stopChild } from "./child-process.ts";
import { makeTempDir } from "./cleanup.ts";
import { buildGateway, startGateway, startMock } from "./services.ts";

// `npm run bench -- --workload analytics`: spend analytics at volume. Writes N request-log rows straight into a
// gateway's SQLite file, rebuilds the rollup from them, then times 30-day grouped GET /api/spend queries on the
// running gateway and how much they delay streaming requests served at the same time.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const root = resolve(import.meta.dirname, "..");
const progress = (message: string) => process.stderr.write(`[analytics] ${message}\n`);

export interface AnalyticsOptions {
  rows: number;
  runs: number;
  streams: number;
  build: boolean;
  json: boolean;
}

export function parseAnalyticsOptions(argv: readonly string[]): AnalyticsOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      workload: { type: "string" },
      rows: { type: "string", default: "10000000" },
      runs: { type: "string", default: "5" },
      streams: { type: "string", default: "4" },
      "no-build": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const int = (flag: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be an integer ${min}..${max}`);
    return n;
  };
  return {
    rows: int("rows", values.rows, 1000, 50_000_000),
    runs: int("runs", values.runs, 1, 100),
    streams: int("streams", values.streams, 1, 64),
    build: !values["no-build"],
    json: values.json,
  };
}

/** A realistic shape: each key belongs to one developer, team and customer, uses one agent and a few models. */
function makeKeys() {
  const models: [string, string][] = [
    ["anthropic", "claude-sonnet-4-5"],
    ["anthropic", "claude-haiku-4-5"],
    ["anthropic", "claude-opus-4-1"],
    ["openai", "gpt-4o"],
    ["openai", "gpt-4o-mini"],
    ["openai", "gpt-5"],
  ];
  const agents = ["claude-code", "codex", "opencode", null];
  return Array.from({ length: 200 }, (_, k) => ({
    key: `key-${k}`,
    developer: `dev-${k % 150}`,
    team: `team-${k % 20}`,
    customer: `cust-${k % 5}`,
    agent: agents[k % agents.length] ?? null,
    models: [models[k % 6], models[(k + 1) % 6], models[(k * 7 + 3) % 6]] as [string, string][],
  }));
}

function record(i: number, startedAt: number, keys: ReturnType<typeof makeKeys>): RequestLogRecord {
  const k = keys[(Math.imul(i, 2654435761) >>> 0) % keys.length] as ReturnType<typeof makeKeys>[number];
  const [provider, model] = k.models[i % 3] as [string, string];
  const tokens = 1000 + (i % 9000);
  return {
    id: `bench-${i.toString().padStart(10, "0")}`,
    startedAt,
    dialect: "anthropic",
    endpoint: "/anthropic/v1/messages",
    stream: true,
    provider,
    providerKeyId: null,
    requestedModel: model,
    servedModel: model,
    status: 200,
    errorCode: null,
    errorMessage: null,
    latencyMs: 1200,
    ttftMs: 300,
    inputTokens: tokens,
    cacheReadTokens: tokens * 4,
    cacheWrite5mTokens: 100,
    cacheWrite1hTokens: 0,
    outputTokens: 300 + (i % 700),
    reasoningTokens: 0,
    costNanoUsd: i % 50 === 0 ? null : tokens * 3000,
    priceVersion: "bench",
    usageEstimated: false,
    sessionId: `sess-${i % 5000}`,
    agent: k.agent,
    agentVersion: null,
    agentId: null,
    parentAgentId: null,
    turnId: null,
    workspace: null,
    labels: {},
    clientIp: null,
    virtualKeyId: k.key,
    teamId: k.team,
    customerId: k.customer,
    developerId: k.developer,
  } as RequestLogRecord;
}

/** Multi-row INSERTs in big transactions, rows spread evenly over the last 32 days (the query reads 30). */
export function generate(dbPath: string, rows: number, now: number): { rowsPerSecond: number; seconds: number } {
  const db = new Database(dbPath);
  db.pragma("synchronous = OFF");
  const keys = makeKeys();
  const per = 100;
  const width = LOG_COLUMNS.length;
  const tuple = `(${Array.from({ length: width }, () => "?").join(",")})`;
  const insert = db.prepare(
    `insert into request_logs (${LOG_COLUMNS.map((c) => `"${c}"`).join(",")}) values ${Array.from({ length: per }, () => tuple).join(",")}`,
  );
  const span = 32 * DAY;
  const start = now - span;
  const t0 = performance.now();
  const batch = db.transaction((first: number, count: number) => {
    for (let i = first; i < first + count; i += per) {
      const params: unknown[] = [];
      for (let j = i; j < i + per; j++)
        pushLogRowValues(record(j, start + Math.floor((j / rows) * span), keys), params);
      insert.run(params.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v)));
    }
  });
  const chunk = 200_000;
  for (let first = 0; first < rows; first += chunk) {
    batch(first, Math.min(chunk, rows - first));
    if (first % 1_000_000 === 0 && first > 0) progress(`${first.toLocaleString()} rows`);
  }
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return { seconds, rowsPerSecond: Math.round(rows / seconds) };
}

export function rebuild(dbPath: string): { seconds: number; hourlyRows: number; dailyRows: number } {
  const db = new Database(dbPath);
  const t0 = performance.now();
  db.transaction(() => {
    for (const table of ROLLUP_TABLES) {
      db.exec(`delete from ${table.name}`);
      db.exec(rebuildSql(table));
    }
  })();
  const seconds = (performance.now() - t0) / 1000;
  const count = (name: string) => (db.prepare(`select count(*) as n from ${name}`).get() as { n: number }).n;
  const out = { seconds, hourlyRows: count("spend_hourly"), dailyRows: count("spend_daily") };
  db.close();
  return out;
}

/** The same 30-day team×day aggregation straight on the raw log, for comparison (what the API did before). */
function rawQuerySeconds(dbPath: string, from: number, to: number): number {
  const db = new Database(dbPath, { readonly: true });
  const t0 = performance.now();
  db.prepare(
    `select team_id, strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') as d, count(*), sum(cost_nano_usd),
       sum(input_tokens), sum(cache_read_tokens), sum(output_tokens)
     from request_logs where started_at >= ? and started_at < ? group by 1, 2`,
  ).all(from, to);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return seconds;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { n: s.length, min: round(at(0)), p50: round(at(0.5)), p90: round(at(0.9)), max: round(s.at(-1) ?? 0) };
};
const round = (x: number) => Math.round(x * 10) / 10;

async function spendQuery(url: string, token: string, groupBy: string, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/spend?group_by=${groupBy}&from=${from}&to=${to}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /api/spend ${res.status}: ${text.slice(0, 200)}`);
  return performance.now() - t0;
}

/**
 * The gateway process's event-loop delay since the previous call, ms: prom-client's `monitorEventLoopDelay`
 * histogram (perf_hooks, 10 ms sampling), which it resets at every `/metrics` scrape.
 */
async function eventLoopDelay(url: string): Promise<{ p50: number; p90: number; p99: number; max: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const ms = (name: string) => round(Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN) * 1000);
  return {
    p50: ms("nodejs_eventloop_lag_p50_seconds"),
    p90: ms("nodejs_eventloop_lag_p90_seconds"),
    p99: ms("nodejs_eventloop_lag_p99_seconds"),
    max: ms("nodejs_eventloop_lag_max_seconds"),
  };
}

const streamText = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");

/** One streaming request through the gateway: total time and the gaps between received chunks, ms. */
async function streamOnce(url: string): Promise<{ total: number; gaps: number[] }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/anthropic/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-api-key": "bench-key",
      "anthropic-version": "2023-06-01",
      "x-mock-script": JSON.stringify({ scenario: "text", text: streamText, chunkDelayMs: 5 }),
    },
    body: JSON.stringify({
      model: "claude-haiku-4-5",
      max_tokens: 100,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    }),
  });
  if (res.status !== 200 || res.body === null) throw new Error(`stream answered ${res.status}`);
  const gaps: number[] = [];
  let last = performance.now();
  for await (const _chunk of res.body) {
    const t = performance.now();
    gaps.push(t - last);
    last = t;
  }
  return { total: performance.now() - t0, gaps: gaps.slice(1) };
}

async function streams(url: string, concurrent: number, rounds: number) {
  const totals: number[] = [];
  const gaps: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const results = await Promise.all(Array.from({ length: concurrent }, () => streamOnce(url)));
    for (const x of results) {
      totals.push(x.total);
      gaps.push(...x.gaps);
    }
  }
  return { latencyMs: stats(totals), interChunkGapMs: stats(gaps) };
}

export async function benchAnalytics(options: AnalyticsOptions) {
  if (options.build) {
    progress("building dist/");
    buildGateway(root);
  }
  const adminToken = randomBytes(24).toString("hex");
  const mock = await startMock(root);
  const dataDir = makeTempDir("tollgate-bench-analytics-");
  const dbPath = join(dataDir, "tollgate.db");
  const env = { TOLLGATE_REQUIRE_KEY: "never" };
  let gateway: RunningChild | undefined;
  try {
    // First start only migrates the empty database.
    gateway = await startGateway(root, mock.url, dataDir, { adminToken, env });
    await stopChild(gateway, 10_000);
    gateway = undefined;
    const now = Date.now();
    progress(`generating ${options.rows.toLocaleString()} rows`);
    const generated = generate(dbPath, options.rows, now);
    progress(`generated in ${generated.seconds.toFixed(1)} s; rebuilding the rollup`);
    const rolled = rebuild(dbPath);
    progress(`rollups: ${rolled.hourlyRows} hourly, ${rolled.dailyRows} daily rows in ${rolled.seconds.toFixed(1)} s`);
    const from = now - 30 * DAY;
    const to = now;
    const rawSeconds = rawQuerySeconds(dbPath, from, to);
    progress(`raw-log team×day query: ${rawSeconds.toFixed(2)} s`);

    gateway = await startGateway(root, mock.url, dataDir, { adminToken, env, readyTimeoutMs: 120_000 });
    const url = gateway.url;
    const queries: Record<string, ReturnType<typeof stats>> = {};
    for (const groupBy of ["team,day", "model"]) {
      await spendQuery(url, adminToken, groupBy, from, to);
      const times: number[] = [];
      for (let i = 0; i < options.runs; i++) times.push(await spendQuery(url, adminToken, groupBy, from, to));
      queries[groupBy] = stats(times);
      progress(`group_by=${groupBy}: ${JSON.stringify(queries[groupBy])} ms`);
    }

    await streams(url, options.streams, 2); // warm-up
    const rounds = 5;
    await eventLoopDelay(url); // resets the histogram
    const baseline = await streams(url, options.streams, rounds);
    const baselineLoop = await eventLoopDelay(url);
    let querying = true;
    let queriesDuring = 0;
    const loop = (async () => {
      while (querying) {
        await spendQuery(url, adminToken, queriesDuring % 2 === 0 ? "team,day" : "model", from, to);
        queriesDuring++;
      }
    })();
    const during = await streams(url, options.streams, rounds);
    const duringLoop = await eventLoopDelay(url);
    querying = false;
    await loop;
    progress(
      `event-loop delay (ms) baseline ${JSON.stringify(baselineLoop)}, during queries ${JSON.stringify(duringLoop)}`,
    );
    return {
      rows: options.rows,
      generate: generated,
      rollupRebuild: rolled,
      rawLogTeamDayQuerySeconds: round(rawSeconds * 1000) / 1000,
      spendApiMs: queries,
      streaming: {
        concurrent: options.streams,
        rounds,
        baseline: { ...baseline, eventLoopDelayMs: baselineLoop },
        duringSpendQueries: { ...during, eventLoopDelayMs: duringLoop, queriesDuring },
      },
    };
  } finally {
    if (gateway) await stopChild(gateway, 10_000);
    await stopChild(mock, 10_000);
  }
}
