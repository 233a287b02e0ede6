import { parseArgs } from "node:util";

export type WorkloadSelection = "small" | "stream" | "governed" | "cache" | "statusline" | "all";

export interface BenchOptions {
  /** Seconds of measured load per arm. */
  durationSeconds: number;
  /** Seconds of warm-up load before each measured arm. */
  warmupSeconds: number;
  workload: WorkloadSelection;
  /** Requests per second of the fixed-rate latency phase of the small workloads; 0 skips that phase. */
  fixedRatePerSecond: number;
  /** Print only the JSON summary on stdout. */
  jsonOnly: boolean;
  /** Skip `tsc -p tsconfig.json` before starting the gateway (use the dist/ already there). */
  skipBuild: boolean;
  /** Measure the mock alone; do not build or start the gateway. */
  directOnly: boolean;
  /** Measured seconds of each arm of the governed workload (shorter than `durationSeconds` by default). */
  governedDurationSeconds: number;
  /** Virtual keys the gateway holds in the governed workload's second process (10 of them made through the API). */
  keys: number;
}

export const usage = `Usage: npm run bench -- [options]
  --duration <s>           measured seconds per arm (default 10)
  --warmup <s>             warm-up seconds before each measured arm (default 2)
  --quick                  smoke run: --duration 2 --warmup 0.5
  --workload <name>        small | stream | governed | cache | statusline | all (default all);
                           also rules | overview | analytics (own runs, never part of all)
  --rate <n>               req/s of the fixed-rate latency phase (small workloads; default 1000, 0 skips it)
  --governed-duration <s>  measured seconds per arm of the governed workload (default 3 × --duration, at most 33)
  --keys <n>               keys the gateway holds in the governed workload's second process (default 100000)
  --json                   print only the JSON summary
  --no-build               do not run tsc before starting the gateway
  --direct-only            measure the mock upstream alone (no gateway arm)
  --help`;

/** Limits that keep every run bounded even with odd flags. */
const maxDurationSeconds = 120;
const maxRatePerSecond = 50_000;
/** The governed workload makes this many keys through the management API; `--keys` adds the rest in SQLite. */
export const keysViaApi = 10;
/** The gateway holds ~6 KB of heap per key (measured: ~790 MiB RSS at 100,000 keys); this keeps it near 2 GB. */
const maxKeys = 250_000;

export function parseBenchOptions(argv: readonly string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      quick: { type: "boolean", default: false },
      workload: { type: "string", default: "all" },
      rate: { type: "string" },
      json: { type: "boolean", default: false },
      "no-build": { type: "boolean", default: false },
      "direct-only": { type: "boolean", default: false },
      "governed-duration": { type: "string" },
      keys: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";

  const workload = values.workload;
  if (
    workload !== "small" &&
    workload !== "stream" &&
    workload !== "governed" &&
    workload !== "cache" &&
    workload !== "statusline" &&
    workload !== "all"
  ) {
    throw new Error(
      `--workload must be small, stream, governed, cache, statusline or all, not ${JSON.stringify(workload)}`,
    );
  }
  const durationSeconds = seconds("--duration", values.duration, values.quick ? 2 : 10, false);
  // 11 rounds of 3 s per arm: with 1-second rounds single rounds scattered −24 % to +70 % on a 2-core box.
  const governedDefault = Math.min(durationSeconds * 3, 33);
  const warmupSeconds = seconds("--warmup", values.warmup, values.quick ? 0.5 : 2, true);
  return {
    durationSeconds,
    warmupSeconds,
    workload,
    fixedRatePerSecond: rate(values.rate),
    jsonOnly: values.json,
    skipBuild: values["no-build"],
    directOnly: values["direct-only"],
    governedDurationSeconds: seconds("--governed-duration", values["governed-duration"], governedDefault, false),
    keys: keyCount(values.keys),
  };
}

function seconds(flag: string, raw: string | undefined, fallback: number, zeroAllowed: boolean): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const tooSmall = zeroAllowed ? value < 0 : value <= 0;
  if (raw.trim() === "" || !Number.isFinite(value) || tooSmall || value > maxDurationSeconds) {
    throw new Error(`${flag} must be a number of seconds up to ${maxDurationSeconds}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

function rate(raw: string | undefined): number {
  if (raw === undefined) return 1000;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(value) || value < 0 || value > maxRatePerSecond) {
    throw new Error(
      `--rate must be a whole number of requests per second up to ${maxRatePerSecond}, not ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function keyCount(raw: string | undefined): number {
  if (raw === undefined) return 100_000;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(value) || value <= keysViaApi || value > maxKeys) {
    throw new Error(
      `--keys must be a whole number of keys from ${keysViaApi + 1} to ${maxKeys}, not ${JSON.stringify(raw)}`,
    );
  }
  return value;
}
