// `npm run bench`: load through the gateway versus straight at the mock upstream, side by side in one run.
// See bench/README.md for what is measured and how to read it.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { benchAnalytics, parseAnalyticsOptions } from "./analytics.ts";
import { assertRunning, type RunningChild, stopChild } from "./child-process.ts";
import { installCleanupHandlers, makeTempDir } from "./cleanup.ts";
import { type GatewayRestart, runGovernedWorkload } from "./governed.ts";
import type { LoadTarget } from "./load.ts";
import { countLogRows } from "./log-rows.ts";
import { type ArmResult, measureArm, measureFixedRateArm, type WatchedProcess } from "./measure-arm.ts";
import { type BenchOptions, parseBenchOptions, usage } from "./options.ts";
import { benchOverview } from "./overview.ts";
import { clockTicksPerSecond, peakRssBytes, rssBytes } from "./proc-stats.ts";
import { buildGateway, startFloorServer, startGateway, startMock } from "./services.ts";
import { benchStatusline, formatStatuslineBench, type StatuslineBench } from "./statusline.ts";
import {
  armSummary,
  type BenchSummary,
  compare,
  compareFixedRate,
  type FixedRateLatency,
  fixedRateArmSummary,
  formatTable,
  judgeTargets,
  type LogCheck,
  type WorkloadSummary,
} from "./summary.ts";
import { buildWorkloads, type Workload, type WorkloadName } from "./workloads.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const progress = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

function targetFor(baseUrl: string, path: string, workload: Workload): LoadTarget {
  return {
    url: `${baseUrl}${path}`,
    headers: workload.headers,
    body: workload.body,
    connections: workload.connections,
    verifyBody: workload.verifyBody,
  };
}

/** Anything but clean 2xx answers makes the numbers meaningless, so it fails the run. */
function armFailures(workload: string, arm: string, result: ArmResult): string[] {
  const m = result.measured;
  const problems: string[] = [];
  if (m.non2xx > 0) problems.push(`${m.non2xx} non-2xx`);
  if (m.errors > 0) problems.push(`${m.errors} errors (${m.timeouts} timeouts)`);
  if (m.mismatches > 0) problems.push(`${m.mismatches} responses without the expected content`);
  const earlierErrors = result.totalErrors - m.errors;
  if (earlierErrors > 0) problems.push(`${earlierErrors} errors during probe/warm-up`);
  if (result.anyStoppedByGuard) problems.push("a phase was stopped by the time guard");
  return problems.length > 0 ? [`${workload} ${arm}: ${problems.join(", ")}`] : [];
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}

/**
 * Anonymous requests stay allowed after the governed workload creates keys (with the default `auto` they are
 * refused once a key exists): its anonymous arms are its baseline. Until then `never` and `auto` are the same path.
 */
const gatewayEnv = { TOLLGATE_REQUIRE_KEY: "never" };

async function startGatewayArm(
  options: BenchOptions,
  mock: RunningChild,
  adminToken: string,
): Promise<RunningChild & { dataDir: string }> {
  if (!options.skipBuild) {
    progress("building the gateway (npm run build)");
    buildGateway(root);
  }
  const dataDir = makeTempDir("tollgate-bench-");
  const gateway = await startGateway(root, mock.url, dataDir, { adminToken, env: gatewayEnv });
  return { ...gateway, dataDir };
}

async function bench(options: BenchOptions): Promise<BenchSummary> {
  const clockTicks = clockTicksPerSecond();
  const workloads = buildWorkloads(options.workload);
  const failures: string[] = [];
  const summary: BenchSummary = {
    startedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, clockTicksPerSecond: clockTicks },
    options: {
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      workload: options.workload,
      fixedRatePerSecond: options.fixedRatePerSecond,
      governedDurationSeconds: options.governedDurationSeconds,
      keys: options.keys,
    },
    workloads: [],
    gateway: { measured: false },
    rowsLost: 0,
    failures,
    ok: false,
  };

  const mock = await startMock(root);
  progress(`mock upstream at ${mock.url} (pid ${mock.pid})`);

  // The same admin token across restarts (the governed workload restarts the gateway on the same data dir).
  const adminToken = randomBytes(24).toString("hex");
  let gateway: (RunningChild & { dataDir: string }) | undefined;
  if (options.directOnly) {
    summary.gateway.unavailable = "--direct-only";
  } else {
    try {
      gateway = await startGatewayArm(options, mock, adminToken);
      summary.gateway.measured = true;
      summary.gateway.rssAtStartBytes = rssBytes(gateway.pid);
      progress(`gateway at ${gateway.url} (pid ${gateway.pid}), data dir ${gateway.dataDir}`);
    } catch (error) {
      summary.gateway.unavailable = error instanceof Error ? error.message : String(error);
      failures.push(`gateway arm could not run: ${firstLine(error)}`);
      progress(`gateway arm skipped: ${summary.gateway.unavailable}`);
    }
  }

  // `gateway` changes when the governed workload restarts it, so these read it when called.
  const running = (): RunningChild[] => (gateway ? [mock, gateway] : [mock]);
  // A child that dies mid-run shows up as a /proc read error or connection errors; name the real cause instead.
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    running().forEach(assertRunning);
    try {
      return await work();
    } catch (error) {
      running().forEach(assertRunning);
      throw error;
    }
  };
  const mockOnly: WatchedProcess[] = [{ name: "mock", pid: mock.pid }];
  const gatewayAndMock = (): WatchedProcess[] =>
    gateway
      ? [
          { name: "gateway", pid: gateway.pid },
          { name: "mock", pid: mock.pid },
        ]
      : [];
  /** Stops the gateway (it flushes its log), runs `whileStopped`, and starts it again on the same data dir. */
  const restartGateway = async (restart: GatewayRestart): Promise<{ startMs: number }> => {
    const current = gateway;
    if (!current) throw new Error("no gateway to restart");
    const exit = await stopChild(current, 20_000);
    const restarts = summary.gateway.restarts ?? [];
    restarts.push({ code: exit.code, signal: exit.signal, killedAfterTimeout: exit.killed });
    summary.gateway.restarts = restarts;
    if (exit.killed) failures.push("the gateway did not exit within 20 s of SIGTERM before a restart");
    restart.whileStopped?.();
    const startedAt = performance.now();
    const next = await startGateway(root, mock.url, current.dataDir, {
      adminToken,
      readyTimeoutMs: restart.readyTimeoutMs,
      env: gatewayEnv,
    });
    gateway = { ...next, dataDir: current.dataDir };
    progress(`gateway restarted at ${gateway.url} (pid ${gateway.pid})`);
    return { startMs: performance.now() - startedAt };
  };

  // Responses per workload's gateway arms (all phases, fixed rate included): what the request log has to hold.
  const gatewayResponses = new Map<WorkloadName, number>();
  // Responses to requests sent with a virtual key, per workload: rows that must be attributed to the key.
  const keyedResponses = new Map<WorkloadName, number>();
  /** Whether a workload has sent load through the gateway yet (the governed one then restarts it first). */
  let gatewayUsed = false;
  /** The bare server of the cache-hit floor arms, started on first use. */
  let floor: RunningChild | undefined;
  for (const workload of workloads) {
    const plan = {
      probeRequests: workload.probeRequests,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
    };
    const result: WorkloadSummary = {
      name: workload.name,
      description: workload.description,
      connections: workload.connections,
      bodyBytes: workload.body.length,
    };
    summary.workloads.push(result);
    if (workload.group === "governed") {
      // Gateway arms only: the direct arm would be small-anthropic's again.
      if (!gateway) continue;
      const outcome = await runGovernedWorkload({
        workload,
        options,
        clockTicks,
        adminToken,
        dbPath: join(gateway.dataDir, "tollgate.db"),
        gateway: () => {
          if (!gateway) throw new Error("the gateway is not running");
          return gateway;
        },
        watched: gatewayAndMock,
        restartGateway,
        guarded,
        progress,
        gatewayUsedBefore: gatewayUsed,
      });
      result.governed = outcome.summary;
      gatewayResponses.set(workload.name, outcome.responses);
      keyedResponses.set(workload.name, outcome.keyedResponses);
      for (const arm of outcome.arms) failures.push(...armFailures(workload.name, arm.name, arm.result));
      failures.push(...outcome.failures);
      continue;
    }
    const report = (arm: string) => (message: string) => progress(`${workload.name} ${arm}: ${message}`);
    const directTarget = targetFor(mock.url, workload.directPath, workload);
    const gatewayTarget = gateway ? targetFor(gateway.url, workload.gatewayPath, workload) : undefined;
    if (gateway) gatewayUsed = true;

    // Saturation: as many requests per second as the arm can answer.
    const direct: ArmResult = await guarded(() =>
      measureArm(directTarget, plan, mockOnly, clockTicks, report("direct")),
    );
    result.direct = armSummary(direct);
    failures.push(...armFailures(workload.name, "direct", direct));

    if (gateway && gatewayTarget) {
      const viaGateway = await guarded(() =>
        measureArm(gatewayTarget, plan, gatewayAndMock(), clockTicks, report("gateway")),
      );
      gatewayResponses.set(workload.name, viaGateway.totalResponses);
      result.gateway = { ...armSummary(viaGateway), peakRssBytes: peakRssBytes(gateway.pid) };
      result.comparison = compare(result.direct, result.gateway);
      failures.push(...armFailures(workload.name, "gateway", viaGateway));
    }

    // A cache hit's floor: the same load against a server that only reads the body and answers.
    if (workload.name.endsWith("-cache-hit")) {
      floor ??= await startFloorServer(root);
      const server = floor;
      const floorArm = await measureArm(
        targetFor(server.url, workload.gatewayPath, workload),
        plan,
        [{ name: "floor", pid: server.pid }],
        clockTicks,
        report("floor"),
      );
      result.floor = armSummary(floorArm);
      failures.push(...armFailures(workload.name, "floor", floorArm));
    }

    // Fixed rate: both arms at the same evenly paced rate, below saturation, for latency without queueing.
    if (workload.fixedRateLatency && options.fixedRatePerSecond > 0) {
      const fixedPlan = {
        ratePerSecond: options.fixedRatePerSecond,
        warmupSeconds: options.warmupSeconds,
        durationSeconds: options.durationSeconds,
      };
      const fixed: FixedRateLatency = { requestsPerSecond: fixedPlan.ratePerSecond, connections: workload.connections };
      result.fixedRate = fixed;
      const directFixed = await guarded(() =>
        measureFixedRateArm(directTarget, fixedPlan, mockOnly, clockTicks, report("direct")),
      );
      fixed.direct = fixedRateArmSummary(directFixed);
      failures.push(...armFailures(workload.name, "direct (fixed rate)", directFixed));
      if (gateway && gatewayTarget) {
        const gatewayFixed = await guarded(() =>
          measureFixedRateArm(gatewayTarget, fixedPlan, gatewayAndMock(), clockTicks, report("gateway")),
        );
        gatewayResponses.set(workload.name, (gatewayResponses.get(workload.name) ?? 0) + gatewayFixed.totalResponses);
        fixed.gateway = { ...fixedRateArmSummary(gatewayFixed), peakRssBytes: peakRssBytes(gateway.pid) };
        fixed.comparison = compareFixedRate(fixed.direct, fixed.gateway);
        failures.push(...armFailures(workload.name, "gateway (fixed rate)", gatewayFixed));
      }
    }

    if (workload.target && result.gateway) {
      result.targets = judgeTargets(workload.target, result.gateway, result.fixedRate?.comparison);
    }
  }

  if (gateway) {
    progress("stopping the gateway (SIGTERM) and reading its request log");
    const exit = await stopChild(gateway, 20_000);
    summary.gateway.exit = { code: exit.code, signal: exit.signal, killedAfterTimeout: exit.killed };
    if (exit.killed) failures.push("the gateway did not exit within 20 s of SIGTERM");
    checkRequestLog(summary, workloads, gatewayResponses, keyedResponses, join(gateway.dataDir, "tollgate.db"));
  }
  await stopChild(mock, 5_000);
  if (floor) await stopChild(floor, 5_000);

  summary.ok = failures.length === 0;
  return summary;
}

/** Every response the gateway sent must have exactly one row in its request log once it has shut down. */
function checkRequestLog(
  summary: BenchSummary,
  workloads: readonly Workload[],
  responses: ReadonlyMap<WorkloadName, number>,
  keyed: ReadonlyMap<WorkloadName, number>,
  dbPath: string,
): void {
  const expectedTotal = [...responses.values()].reduce((sum, n) => sum + n, 0);
  let counts: ReturnType<typeof countLogRows>;
  try {
    counts = countLogRows(dbPath, workloads);
  } catch (error) {
    summary.rowsLost = expectedTotal;
    summary.failures.push(`cannot read the request log at ${dbPath}: ${firstLine(error)}`);
    return;
  }
  summary.gateway.logRowsTotal = counts.total;
  summary.gateway.logGroups = counts.groups;
  if (counts.note !== undefined) {
    summary.gateway.logNote = counts.note;
    summary.rowsLost = Math.max(0, expectedTotal - counts.total);
    if (counts.total !== expectedTotal) {
      summary.failures.push(`request log has ${counts.total} rows for ${expectedTotal} responses`);
    }
    return;
  }
  for (const result of summary.workloads) {
    const expected = responses.get(result.name as WorkloadName);
    if (expected === undefined) continue;
    const rows = counts.byWorkload[result.name as WorkloadName] ?? 0;
    const groups = counts.groups.filter((g) => g.workload === result.name);
    const sumOf = (pick: (g: (typeof groups)[number]) => number | null): number | null =>
      groups.some((g) => pick(g) === null) ? null : groups.reduce((sum, g) => sum + (pick(g) ?? 0), 0);
    const check: LogCheck = {
      rows,
      expected,
      lost: Math.max(0, expected - rows),
      extra: Math.max(0, rows - expected),
      ok2xx: sumOf((g) => g.ok2xx),
      withOutputTokens: sumOf((g) => g.withOutputTokens),
      withVirtualKey: sumOf((g) => g.withVirtualKey),
    };
    const expectedKeyed = keyed.get(result.name as WorkloadName);
    if (expectedKeyed !== undefined) check.expectedWithVirtualKey = expectedKeyed;
    result.logCheck = check;
    summary.rowsLost += check.lost;
    if (rows !== expected) {
      summary.failures.push(`${result.name}: request log has ${rows} rows for ${expected} gateway responses`);
    }
    if (expectedKeyed !== undefined && check.withVirtualKey !== expectedKeyed) {
      summary.failures.push(
        `${result.name}: request log has ${check.withVirtualKey ?? "no"} rows with a virtual key for ${expectedKeyed} keyed responses`,
      );
    }
  }
  const unmatched = counts.groups.filter((g) => g.workload === null);
  for (const group of unmatched) {
    summary.failures.push(
      `request log has ${group.rows} rows for unexpected endpoint ${group.endpoint} (stream ${group.stream})`,
    );
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // The analytics workload has its own flags (--rows …) and is never part of `all` (it takes minutes).
  if (argv.includes("analytics") || argv.includes("--workload=analytics")) {
    installCleanupHandlers();
    const analytics = parseAnalyticsOptions(argv);
    const result = await benchAnalytics(analytics);
    process.stdout.write(`${JSON.stringify({ analytics: result }, null, 2)}\n`);
    return 0;
  }
  // Routing rule evaluation CPU (issue 5: 100 rules, none matching, < 20 µs per request): a pure in-process loop.
  if (argv.includes("rules") || argv.includes("--workload=rules")) {
    const script = join(dirname(fileURLToPath(import.meta.url)), "routing-rules.ts");
    return spawnSync(process.execPath, [script], { stdio: "inherit" }).status ?? 1;
  }
  // The dashboard overview at volume: the analytics generator's rows, then the overview's requests timed.
  if (argv.includes("overview") || argv.includes("--workload=overview")) {
    installCleanupHandlers();
    const result = await benchOverview(parseAnalyticsOptions(argv));
    process.stdout.write(`${JSON.stringify({ overview: result }, null, 2)}\n`);
    return result.met ? 0 : 1;
  }
  let options: BenchOptions | "help";
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${firstLine(error)}\n${usage}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  installCleanupHandlers();
  if (options.workload === "statusline") {
    const result = await benchStatusline({ runs: 20, build: !options.skipBuild });
    const json = JSON.stringify({ statusline: result }, null, 2);
    process.stdout.write(options.jsonOnly ? `${json}\n` : `${formatStatuslineBench(result)}\n`);
    return result.badOutputs === 0 ? 0 : 1;
  }
  const summary = await bench(options);
  // Last, on a fresh gateway from the dist/ just built: `tollgate statusline`'s run time (bench/statusline.ts).
  let statusline: StatuslineBench | undefined;
  if (options.workload === "all" && !options.directOnly) {
    progress("timing `tollgate statusline`");
    try {
      statusline = await benchStatusline({ runs: 20, build: false });
      if (statusline.badOutputs > 0)
        summary.failures.push(`statusline: ${statusline.badOutputs} runs printed no usage`);
    } catch (error) {
      summary.failures.push(`statusline could not be timed: ${firstLine(error)}`);
    }
    summary.ok = summary.failures.length === 0;
  }
  const json = JSON.stringify(statusline ? { ...summary, statusline } : summary, null, 2);
  const table = `${formatTable(summary)}${statusline ? `\n\n${formatStatuslineBench(statusline)}` : ""}`;
  process.stdout.write(options.jsonOnly ? `${json}\n` : `\n${table}\n\nJSON summary:\n${json}\n`);
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
