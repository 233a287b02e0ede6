import type { ArmResult } from "./measure-arm.ts";

// The bench's result, printed as a table and as JSON (the JSON is what the README's Performance section quotes).

export interface ArmSummary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Responses in the measured phase. */
  requests: number;
  elapsedSeconds: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  meanResponseBytes: number;
  /** CPU µs per request of each child process under test ("mock", "gateway"). */
  cpuMicrosPerRequest: Record<string, number>;
  /** CPU µs per request of the bench process itself (autocannon), which shares the machine's 2 cores. */
  loadGeneratorCpuMicrosPerRequest: number;
  /** True when the time guard cut a phase short (probe, warm-up or measured). */
  stoppedByGuard: boolean;
}

export interface GatewayComparison {
  addedP50Ms: number;
  addedP99Ms: number;
  /** Gateway requests/s divided by direct requests/s. */
  throughputRatio: number;
}

export interface LogCheck {
  rows: number;
  /** Responses the gateway sent in this workload's gateway arm, warm-up included. */
  expected: number;
  lost: number;
  extra: number;
  /** Rows with a 2xx status, and rows with output tokens (usage metered); null when the log lacks the column. */
  ok2xx: number | null;
  withOutputTokens: number | null;
}

export interface WorkloadSummary {
  name: string;
  description: string;
  connections: number;
  bodyBytes: number;
  direct?: ArmSummary;
  gateway?: ArmSummary & {
    /** VmHWM of the gateway process after this arm (a high-water mark since the gateway started). */
    peakRssBytes: number;
  };
  comparison?: GatewayComparison;
  logCheck?: LogCheck;
  /** The brief's targets for this workload and whether this run met them (informational). */
  targets?: { minGatewayRequestsPerSecond: number; maxAddedP50Ms: number; met: boolean };
}

export interface BenchSummary {
  startedAt: string;
  machine: { cpus: number; node: string; clockTicksPerSecond: number };
  options: { durationSeconds: number; warmupSeconds: number; workload: string };
  workloads: WorkloadSummary[];
  gateway: {
    measured: boolean;
    /** VmRSS of the idle gateway right after it said it was listening. */
    rssAtStartBytes?: number;
    /** Why there is no gateway arm. */
    unavailable?: string;
    exit?: { code: number | null; signal: string | null; killedAfterTimeout: boolean };
    logRowsTotal?: number;
    logNote?: string;
    logGroups?: Array<{
      endpoint: string;
      stream: boolean;
      rows: number;
      ok2xx: number | null;
      withOutputTokens: number | null;
      workload: string | null;
    }>;
  };
  rowsLost: number;
  /** Everything that makes the run fail (non-zero exit). */
  failures: string[];
  ok: boolean;
}

export function armSummary(arm: ArmResult): ArmSummary {
  const m = arm.measured;
  return {
    requestsPerSecond: round(m.requestsPerSecond, 0),
    p50Ms: round(m.p50Ms, 3),
    p99Ms: round(m.p99Ms, 3),
    meanMs: round(m.meanMs, 3),
    maxMs: round(m.maxMs, 3),
    requests: m.responses,
    elapsedSeconds: round(m.elapsedMs / 1000, 2),
    non2xx: m.non2xx,
    errors: m.errors,
    timeouts: m.timeouts,
    mismatches: m.mismatches,
    meanResponseBytes: round(m.meanResponseBytes, 0),
    cpuMicrosPerRequest: Object.fromEntries(Object.entries(arm.cpuMicrosPerRequest).map(([k, v]) => [k, round(v, 1)])),
    loadGeneratorCpuMicrosPerRequest: round(arm.loadGeneratorCpuMicrosPerRequest, 1),
    stoppedByGuard: arm.anyStoppedByGuard,
  };
}

export function compare(direct: ArmSummary, gateway: ArmSummary): GatewayComparison {
  return {
    addedP50Ms: round(gateway.p50Ms - direct.p50Ms, 3),
    addedP99Ms: round(gateway.p99Ms - direct.p99Ms, 3),
    throughputRatio: direct.requestsPerSecond > 0 ? round(gateway.requestsPerSecond / direct.requestsPerSecond, 3) : 0,
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmt = (value: number, digits: number): string => value.toFixed(digits);
const dash = "—";

/** The human-readable report. */
export function formatTable(summary: BenchSummary): string {
  const header = [
    "workload",
    "arm",
    "req/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "errors",
    "gw CPU µs/req",
    "gw peak RSS",
    "mock CPU µs/req",
    "bench CPU µs/req",
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const w of summary.workloads) {
    const arms: Array<["direct" | "gateway", ArmSummary | undefined]> = [
      ["direct", w.direct],
      ["gateway", w.gateway],
    ];
    for (const [name, arm] of arms) {
      if (!arm) continue;
      const gw = name === "gateway" ? w.gateway : undefined;
      rows.push([
        w.name,
        name,
        integer.format(arm.requestsPerSecond),
        fmt(arm.p50Ms, 2),
        fmt(arm.p99Ms, 2),
        String(arm.non2xx + arm.mismatches),
        String(arm.errors),
        gw ? fmt(arm.cpuMicrosPerRequest.gateway ?? 0, 0) : dash,
        gw ? `${fmt(gw.peakRssBytes / 2 ** 20, 0)} MiB` : dash,
        fmt(arm.cpuMicrosPerRequest.mock ?? 0, 0),
        fmt(arm.loadGeneratorCpuMicrosPerRequest, 0),
      ]);
    }
    const parts: string[] = [`${w.name}: ${w.description}, ${w.connections} connections`];
    if (w.comparison) {
      const c = w.comparison;
      parts.push(
        `gateway adds p50 ${signed(c.addedP50Ms)} ms, p99 ${signed(c.addedP99Ms)} ms; throughput gateway/direct ${fmt(c.throughputRatio, 2)}`,
      );
    }
    if (w.logCheck) {
      const l = w.logCheck;
      const detail =
        l.ok2xx === null ? "" : ` (${l.ok2xx} with 2xx status, ${l.withOutputTokens ?? "?"} with output tokens)`;
      parts.push(
        `log rows ${l.rows}${detail} / gateway responses ${l.expected}: rows lost: ${l.lost}${l.extra > 0 ? `, extra rows: ${l.extra}` : ""}`,
      );
    }
    if (w.targets && w.gateway) {
      const t = w.targets;
      parts.push(
        `target ≥ ${integer.format(t.minGatewayRequestsPerSecond)} req/s and p50 added < ${t.maxAddedP50Ms} ms: ${t.met ? "met" : "NOT met"}`,
      );
    }
    notes.push(parts.join("\n    "));
  }

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line), "", ...notes, ""];

  const g = summary.gateway;
  if (!g.measured) out.push(`gateway arm not run: ${g.unavailable ?? "unknown reason"}`);
  if (g.rssAtStartBytes !== undefined)
    out.push(`gateway RSS when idle at start: ${fmt(g.rssAtStartBytes / 2 ** 20, 0)} MiB`);
  if (g.exit) {
    out.push(
      `gateway exit after SIGTERM: code ${g.exit.code}, signal ${g.exit.signal}${g.exit.killedAfterTimeout ? " (did not exit in time; killed)" : ""}`,
    );
  }
  if (g.logNote) out.push(`log: ${g.logNote}`);
  if (g.logRowsTotal !== undefined) out.push(`log rows in total: ${g.logRowsTotal}`);
  if (g.measured) out.push(`rows lost: ${summary.rowsLost}`);
  for (const failure of summary.failures) out.push(`FAIL: ${failure}`);
  out.push(summary.ok ? "result: ok" : "result: FAILED");
  return out.join("\n");
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
}
