import { type GovernedSummary, governedArms, governedNotes } from "./governed-summary.ts";
import type { ArmResult, FixedRateArmResult } from "./measure-arm.ts";

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

/** One arm of the fixed-rate latency phase; its `requestsPerSecond` is the rate achieved. */
export interface FixedRateArmSummary extends Omit<ArmSummary, "meanResponseBytes"> {
  /** Measured requests that found every connection busy and waited for one. */
  waitedForConnection: number;
  /** The achieved rate was at least 95% of the rate asked for; otherwise latency includes queueing. */
  rateSustained: boolean;
}

export interface FixedRateComparison {
  addedP50Ms: number;
  addedP99Ms: number;
  addedMeanMs: number;
}

/** Latency below saturation: both arms at the same evenly paced rate (`--rate`). */
export interface FixedRateLatency {
  /** The rate asked for, over all connections. */
  requestsPerSecond: number;
  connections: number;
  direct?: FixedRateArmSummary;
  gateway?: FixedRateArmSummary & { peakRssBytes: number };
  comparison?: FixedRateComparison;
}

export interface WorkloadTargets {
  minGatewayRequestsPerSecond: number;
  maxAddedP50Ms: number;
  /** Judged on the saturation arm. */
  throughputMet: boolean;
  /** Judged on the fixed-rate arms; null when that phase did not run (--rate 0). */
  addedP50Met: boolean | null;
  met: boolean;
}

export interface LogCheck {
  rows: number;
  /** Responses the gateway sent in this workload's gateway arms (saturation and fixed rate), warm-up included. */
  expected: number;
  lost: number;
  extra: number;
  /** Rows with a 2xx status, and rows with output tokens (usage metered); null when the log lacks the column. */
  ok2xx: number | null;
  withOutputTokens: number | null;
  /** Rows attributed to a virtual key; null when the log lacks the column. */
  withVirtualKey: number | null;
  /** Governed workload: responses to requests sent with a virtual key, which must all be attributed to it. */
  expectedWithVirtualKey?: number;
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
  /**
   * Cache-hit workloads: the same load against a bare node:http server that only reads the body and answers
   * (bench/http-floor-server.ts) — the least CPU any Node.js server can spend on the request.
   */
  floor?: ArmSummary;
  /** At saturation (the arms above). */
  comparison?: GatewayComparison;
  fixedRate?: FixedRateLatency;
  logCheck?: LogCheck;
  /** The brief's targets for this workload and whether this run met them (informational). */
  targets?: WorkloadTargets;
  /** The governed workload's arms (it has no direct arm and no fixed-rate phase). */
  governed?: GovernedSummary;
}

export interface BenchSummary {
  startedAt: string;
  machine: { cpus: number; node: string; clockTicksPerSecond: number };
  options: {
    durationSeconds: number;
    warmupSeconds: number;
    workload: string;
    fixedRatePerSecond: number;
    governedDurationSeconds: number;
    keys: number;
  };
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
      withVirtualKey: number | null;
      userAgent: string | null;
      workload: string | null;
    }>;
    /** Gateway processes stopped before the last one (the governed workload restarts it). */
    restarts?: Array<{ code: number | null; signal: string | null; killedAfterTimeout: boolean }>;
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

/** Achieved rate below this share of the rate asked for: the server could not keep up. */
const sustainedShare = 0.95;

export function fixedRateArmSummary(arm: FixedRateArmResult): FixedRateArmSummary {
  const { meanResponseBytes: _bodyOnly, ...rest } = armSummary(arm);
  return {
    ...rest,
    waitedForConnection: arm.waitedForConnection,
    rateSustained: arm.measured.requestsPerSecond >= arm.ratePerSecond * sustainedShare,
  };
}

export function compareFixedRate(direct: FixedRateArmSummary, gateway: FixedRateArmSummary): FixedRateComparison {
  return {
    addedP50Ms: round(gateway.p50Ms - direct.p50Ms, 3),
    addedP99Ms: round(gateway.p99Ms - direct.p99Ms, 3),
    addedMeanMs: round(gateway.meanMs - direct.meanMs, 3),
  };
}

/** Throughput is judged at saturation, added p50 at the fixed rate (at saturation it is mostly queueing). */
export function judgeTargets(
  target: { minGatewayRequestsPerSecond: number; maxAddedP50Ms: number },
  saturationGateway: ArmSummary,
  fixedRate: FixedRateComparison | undefined,
): WorkloadTargets {
  const throughputMet = saturationGateway.requestsPerSecond >= target.minGatewayRequestsPerSecond;
  const addedP50Met = fixedRate ? fixedRate.addedP50Ms < target.maxAddedP50Ms : null;
  return { ...target, throughputMet, addedP50Met, met: throughputMet && addedP50Met === true };
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
    "mean ms",
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
    const fixed = w.fixedRate;
    const at = fixed ? ` @${integer.format(fixed.requestsPerSecond)}/s` : "";
    const arms: Array<[string, Omit<ArmSummary, "meanResponseBytes"> | undefined, number | undefined]> = [
      ["direct", w.direct, undefined],
      ["gateway", w.gateway, w.gateway?.peakRssBytes],
      ["floor", w.floor, undefined],
      [`direct${at}`, fixed?.direct, undefined],
      [`gateway${at}`, fixed?.gateway, fixed?.gateway?.peakRssBytes],
      ...governedArms(w.governed).map(([name, arm]): [string, ArmSummary, number] => [
        `gateway ${name}`,
        arm,
        arm.peakRssBytes,
      ]),
    ];
    for (const [name, arm, peakRss] of arms) {
      if (!arm) continue;
      const isGateway = name.startsWith("gateway");
      rows.push([
        w.name,
        name,
        integer.format(arm.requestsPerSecond),
        fmt(arm.p50Ms, 2),
        fmt(arm.p99Ms, 2),
        fmt(arm.meanMs, 2),
        String(arm.non2xx + arm.mismatches),
        String(arm.errors),
        isGateway
          ? fmt(arm.cpuMicrosPerRequest.gateway ?? 0, 0)
          : name === "floor"
            ? fmt(arm.cpuMicrosPerRequest.floor ?? 0, 0)
            : dash,
        isGateway && peakRss !== undefined ? `${fmt(peakRss / 2 ** 20, 0)} MiB` : dash,
        fmt(arm.cpuMicrosPerRequest.mock ?? 0, 0),
        fmt(arm.loadGeneratorCpuMicrosPerRequest, 0),
      ]);
    }
    const parts: string[] = [`${w.name}: ${w.description}, ${w.connections} connections`];
    if (w.comparison) {
      const c = w.comparison;
      parts.push(
        `saturation: gateway adds p50 ${signed(c.addedP50Ms)} ms, p99 ${signed(c.addedP99Ms)} ms (mostly queueing); throughput gateway/direct ${fmt(c.throughputRatio, 2)}`,
      );
    }
    if (fixed?.comparison) {
      const c = fixed.comparison;
      parts.push(
        `fixed rate ${integer.format(fixed.requestsPerSecond)} req/s: gateway adds p50 ${signed(c.addedP50Ms)} ms, p99 ${signed(c.addedP99Ms)} ms, mean ${signed(c.addedMeanMs)} ms`,
      );
    }
    for (const [name, arm] of [
      ["direct", fixed?.direct],
      ["gateway", fixed?.gateway],
    ] as const) {
      if (fixed && arm && !arm.rateSustained) {
        parts.push(
          `${name} arm did not sustain ${integer.format(fixed.requestsPerSecond)} req/s (${integer.format(arm.requestsPerSecond)}, ${arm.waitedForConnection} requests waited for a connection): its latency includes queueing`,
        );
      }
    }
    if (w.governed) parts.push(...governedNotes(w.governed));
    if (w.logCheck) {
      const l = w.logCheck;
      const keyed =
        l.expectedWithVirtualKey === undefined
          ? ""
          : `, ${l.withVirtualKey ?? "?"} with a virtual key for ${l.expectedWithVirtualKey} keyed responses`;
      const detail =
        l.ok2xx === null
          ? ""
          : ` (${l.ok2xx} with 2xx status, ${l.withOutputTokens ?? "?"} with output tokens${keyed})`;
      parts.push(
        `log rows ${l.rows}${detail} / gateway responses ${l.expected}: rows lost: ${l.lost}${l.extra > 0 ? `, extra rows: ${l.extra}` : ""}`,
      );
    }
    if (w.targets && w.gateway) {
      const t = w.targets;
      const latency =
        t.addedP50Met === null || !fixed?.comparison
          ? "not measured (--rate 0)"
          : `${metWord(t.addedP50Met)} (${signed(fixed.comparison.addedP50Ms)} ms)`;
      parts.push(
        `target ≥ ${integer.format(t.minGatewayRequestsPerSecond)} req/s at saturation: ${metWord(t.throughputMet)} (${integer.format(w.gateway.requestsPerSecond)}); ` +
          `p50 added < ${t.maxAddedP50Ms} ms at the fixed rate: ${latency}; overall ${metWord(t.met)}`,
      );
    }
    notes.push(parts.join("\n    "));
  }

  const translation = translationNote(summary);
  if (translation) notes.push(translation);
  const cacheHit = cacheHitNote(summary);
  if (cacheHit) notes.push(cacheHit);

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
  for (const r of g.restarts ?? []) {
    out.push(
      `gateway restarted: the previous process exited with code ${r.code}, signal ${r.signal}${r.killedAfterTimeout ? " (did not exit in time; killed)" : ""}`,
    );
  }
  if (g.logNote) out.push(`log: ${g.logNote}`);
  if (g.logRowsTotal !== undefined) out.push(`log rows in total: ${g.logRowsTotal}`);
  if (g.measured) out.push(`rows lost: ${summary.rowsLost}`);
  for (const failure of summary.failures) out.push(`FAIL: ${failure}`);
  out.push(summary.ok ? "result: ok" : "result: FAILED");
  return out.join("\n");
}

/** Issue 4's target: a translated Claude Code stream costs the gateway ≤ 2× the CPU of the same stream passed through. */
function translationNote(summary: BenchSummary): string | null {
  const cpu = (name: string) =>
    summary.workloads.find((w) => w.name === name)?.gateway?.cpuMicrosPerRequest.gateway ?? null;
  const passthrough = cpu("stream-claude-code");
  const translated = cpu("stream-claude-code-translated");
  if (passthrough === null || translated === null || passthrough <= 0) return null;
  const ratio = translated / passthrough;
  return (
    `translation: gateway CPU per Claude Code stream ${fmt(translated, 0)} µs translated vs ${fmt(passthrough, 0)} µs ` +
    `passed through = ${fmt(ratio, 2)}×; target ≤ 2×: ${metWord(ratio <= 2)}`
  );
}

/**
 * Issue 9's target: an exact-cache hit costs the gateway ≥ 5× less CPU than the same request passed through. Each
 * line also gives the floor — a bare node:http server reading the same body and answering — and so the best ratio
 * any Node.js server could reach on that request.
 */
function cacheHitNote(summary: BenchSummary): string | null {
  const workload = (name: string) => summary.workloads.find((w) => w.name === name);
  const cpu = (name: string) => workload(name)?.gateway?.cpuMicrosPerRequest.gateway ?? null;
  const lines: string[] = [];
  for (const [label, hitName, passName] of [
    ["small Anthropic request", "small-anthropic-cache-hit", "small-anthropic"],
    ["Claude Code stream (519 kB)", "stream-claude-code-cache-hit", "stream-claude-code"],
    ['"explain this function" stream (300 events)', "stream-explain-cache-hit", "stream-explain"],
  ] as const) {
    const passthrough = cpu(passName);
    const hit = cpu(hitName);
    if (passthrough === null || hit === null || hit <= 0) continue;
    const ratio = passthrough / hit;
    const floor = workload(hitName)?.floor?.cpuMicrosPerRequest.floor ?? null;
    const ceiling =
      floor !== null && floor > 0
        ? `; floor (bare node:http server reading the body) ${fmt(floor, 0)} µs, so at best ${fmt(passthrough / floor, 2)}×`
        : "";
    lines.push(
      `cache: gateway CPU per ${label} ${fmt(hit, 0)} µs on an exact hit vs ${fmt(passthrough, 0)} µs ` +
        `passed through = ${fmt(ratio, 2)}× cheaper${ceiling}; target ≥ 5×: ${metWord(ratio >= 5)}`,
    );
  }
  return lines.length > 0 ? lines.join("\n") : null;
}

export function metWord(met: boolean): string {
  return met ? "met" : "NOT met";
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
}
