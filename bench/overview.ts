import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { allOverviewPaths, overviewRequests } from "../src/shared/overview-plan.ts";
import { type AnalyticsOptions, generate, rebuild } from "./analytics.ts";
import { type RunningChild, stopChild } from "./child-process.ts";
import { makeTempDir } from "./cleanup.ts";
import { buildGateway, startGateway, startMock } from "./services.ts";

// `npm run bench -- --workload overview [--rows N] [--runs N]`: how long the dashboard's overview takes to load with
// N request-log rows (default 10 million, the analytics workload's generator). One load = every request the overview
// page makes (src/shared/overview-plan.ts: six period totals, the stacked chart, five top lists, budgets, outcomes)
// plus the four entity lists it names ids with, all in parallel as the browser sends them. Target: < 1 s.

const root = resolve(import.meta.dirname, "..");
const progress = (message: string) => process.stderr.write(`[overview] ${message}\n`);
const round = (x: number) => Math.round(x * 10) / 10;

const NAME_LISTS = [
  "/api/virtual-keys?limit=1000",
  "/api/developers?limit=1000",
  "/api/teams?limit=1000",
  "/api/customers?limit=1000",
];

async function timed(url: string, token: string, path: string): Promise<{ path: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} ${res.status}: ${text.slice(0, 200)}`);
  return { path, ms: performance.now() - t0 };
}

/** One overview load: wall time, and the slowest request. */
async function loadOverview(url: string, token: string, range: "24h" | "7d" | "30d") {
  const paths = [...allOverviewPaths(overviewRequests(Date.now(), "model", range)), ...NAME_LISTS];
  const t0 = performance.now();
  const results = await Promise.all(paths.map((p) => timed(url, token, p)));
  const total = performance.now() - t0;
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  return { total, requests: paths.length, slowest };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { n: s.length, min: round(at(0)), p50: round(at(0.5)), p90: round(at(0.9)), max: round(s.at(-1) ?? 0) };
};

export async function benchOverview(options: AnalyticsOptions) {
  if (options.build) {
    progress("building dist/ (gateway and dashboard)");
    buildGateway(root);
  }
  const adminToken = randomBytes(24).toString("hex");
  const mock = await startMock(root);
  const dataDir = makeTempDir("tollgate-bench-overview-");
  const dbPath = join(dataDir, "tollgate.db");
  const env = { TOLLGATE_REQUIRE_KEY: "never" };
  let gateway: RunningChild | undefined;
  try {
    // First start only migrates the empty database.
    gateway = await startGateway(root, mock.url, dataDir, { adminToken, env });
    await stopChild(gateway, 10_000);
    gateway = undefined;
    progress(`generating ${options.rows.toLocaleString()} rows`);
    const generated = generate(dbPath, options.rows, Date.now());
    progress(`generated in ${generated.seconds.toFixed(1)} s; rebuilding the rollup`);
    const rolled = rebuild(dbPath);
    progress(`rollups: ${rolled.hourlyRows} hourly, ${rolled.dailyRows} daily rows in ${rolled.seconds.toFixed(1)} s`);

    gateway = await startGateway(root, mock.url, dataDir, { adminToken, env, readyTimeoutMs: 120_000 });
    const url = gateway.url;
    const first = await loadOverview(url, adminToken, "30d");
    progress(
      `first load (cold caches): ${round(first.total)} ms, slowest ${first.slowest.path} ${round(first.slowest.ms)} ms`,
    );
    const result: Record<string, { loadMs: ReturnType<typeof stats>; requests: number; slowest: string }> = {};
    for (const range of ["30d", "7d", "24h"] as const) {
      const totals: number[] = [];
      let slowest = { path: "", ms: 0 };
      for (let i = 0; i < options.runs; i++) {
        const load = await loadOverview(url, adminToken, range);
        totals.push(load.total);
        if (load.slowest.ms > slowest.ms) slowest = load.slowest;
      }
      result[range] = {
        loadMs: stats(totals),
        requests: NAME_LISTS.length + 14,
        slowest: `${slowest.path} ${round(slowest.ms)} ms`,
      };
      progress(
        `chart ${range}: load ${JSON.stringify(result[range].loadMs)} ms; slowest request ${result[range].slowest}`,
      );
    }
    // One request at a time: what each costs on its own (the SQLite worker runs queries one after another).
    const sequential: Record<string, number> = {};
    for (const path of [...allOverviewPaths(overviewRequests(Date.now(), "model", "30d")), ...NAME_LISTS]) {
      sequential[path] = round((await timed(url, adminToken, path)).ms);
    }
    const costliest = Object.entries(sequential)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5);
    progress(`costliest requests alone (ms): ${JSON.stringify(costliest)}`);
    const worstP50 = Math.max(...Object.values(result).map((r) => r.loadMs.p50));
    return {
      rows: options.rows,
      generate: generated,
      rollupRebuild: rolled,
      firstLoadMs: round(first.total),
      costliestRequestsMs: Object.fromEntries(costliest),
      overview: result,
      targetMs: 1000,
      met: worstP50 < 1000,
    };
  } finally {
    if (gateway) await stopChild(gateway, 10_000);
    await stopChild(mock, 10_000);
  }
}
