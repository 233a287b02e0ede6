import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createVirtualKey, type KeyCreateRequest } from "./admin-api.ts";
import { smallAnthropicBody } from "./bodies/small-bodies.ts";
import { type LoadTarget, runPhase } from "./load.ts";
import { clockTicksPerSecond } from "./proc-stats.ts";
import { startGateway, startMock } from "./services.ts";

// Where a virtual key's cost goes, per gateway thread: small-anthropic's request at 32 connections, anonymous and
// with a key, in many short alternating rounds in one gateway process (so both arms see the same machine), each
// thread's CPU read from /proc/<pid>/task/*/stat. `--key` picks what the key carries, to take the cost apart:
//   bare    no budget, no limit (authentication, attribution, the key's log columns)
//   limits  a requests-per-minute and a concurrency limit
//   budget  a daily budget (estimate, reservation, true-up, settlement, alert check)
//   full    the governed workload's key: budget + both limits
// Needs `npm run build` (dist/). About 40 s. Rounds of fewer requests are coarse: /proc counts CPU in 10 ms ticks.
//   node bench/governed-threads.ts [--key full] [--rounds 10] [--requests 6000] [--connections 32]

const { values } = parseArgs({
  options: {
    key: { type: "string", default: "full" },
    rounds: { type: "string", default: "10" },
    requests: { type: "string", default: "6000" },
    connections: { type: "string", default: "32" },
  },
});

const keyBodies: Record<string, Omit<KeyCreateRequest, "name">> = {
  bare: { budgets: [], rateLimits: [] },
  limits: {
    budgets: [],
    rateLimits: [
      { name: "rpm", window: "1m", maxRequests: 100_000_000 },
      { name: "conc", maxConcurrent: 1000 },
    ],
  },
  budget: { budgets: [{ name: "daily", limitUsd: "1000000", period: "1d" }], rateLimits: [] },
  full: {
    budgets: [{ name: "daily", limitUsd: "1000000", period: "1d" }],
    rateLimits: [
      { name: "rpm", window: "1m", maxRequests: 100_000_000 },
      { name: "conc", maxConcurrent: 1000 },
    ],
  },
};

type Arm = "anonymous" | "keyed";
/** CPU ticks by thread: "main" (the event loop), "log writer" (the SQLite worker), "V8 helpers" (GC), other. */
type ThreadTicks = Map<string, number>;

function threadTicks(pid: number): ThreadTicks {
  const ticks: ThreadTicks = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const name =
      tid === String(pid)
        ? "main"
        : comm === "WorkerThread"
          ? "log writer"
          : comm === "V8Worker"
            ? "V8 helpers"
            : "other";
    ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const keyBody = keyBodies[values.key];
if (keyBody === undefined) throw new Error(`--key must be one of ${Object.keys(keyBodies).join(", ")}`);
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const root = process.cwd();
const adminToken = "tg-admin-bench-threads-000000001";
const dataDir = mkdtempSync(join(tmpdir(), "tollgate-threads-"));
const microsPerTick = 1e6 / clockTicksPerSecond();
const mock = await startMock(root);
const gateway = await startGateway(root, mock.url, dataDir, { adminToken, env: { TOLLGATE_REQUIRE_KEY: "never" } });
try {
  const key = await createVirtualKey(gateway.url, adminToken, { name: `threads-${values.key}`, ...keyBody });
  const headers = {
    "content-type": "application/json",
    "x-mock-script": JSON.stringify({ scenario: "text" }),
    "x-api-key": "bench-key",
    "anthropic-version": "2023-06-01",
  };
  const target = (arm: Arm): LoadTarget => ({
    url: `${gateway.url}/anthropic/v1/messages`,
    headers: arm === "keyed" ? { ...headers, "x-api-key": key.secret } : headers,
    body: Buffer.from(smallAnthropicBody()),
    connections: Number(values.connections),
    verifyBody: (body) => body.includes('"usage"'),
  });
  for (const arm of ["anonymous", "keyed"] as const) await runPhase(target(arm), 2 * requests, 60_000); // warm-up

  const byThread: Record<Arm, ThreadTicks> = { anonymous: new Map(), keyed: new Map() };
  const responses: Record<Arm, number> = { anonymous: 0, keyed: 0 };
  const roundMicros: Record<Arm, number[]> = { anonymous: [], keyed: [] };
  for (let round = 0; round < rounds; round++) {
    const order: Arm[] = round % 2 === 0 ? ["anonymous", "keyed"] : ["keyed", "anonymous"];
    for (const arm of order) {
      const before = threadTicks(gateway.pid);
      const phase = await runPhase(target(arm), requests, 60_000);
      if (phase.non2xx > 0 || phase.errors > 0)
        throw new Error(`${arm}: ${phase.non2xx} non-2xx, ${phase.errors} errors`);
      // The log writer catches up within the round it was given work in.
      await new Promise((resolve) => setTimeout(resolve, 300));
      let total = 0;
      for (const [thread, ticks] of threadTicks(gateway.pid)) {
        const used = ticks - (before.get(thread) ?? 0);
        byThread[arm].set(thread, (byThread[arm].get(thread) ?? 0) + used);
        total += used;
      }
      responses[arm] += phase.responses;
      roundMicros[arm].push((total * microsPerTick) / phase.responses);
    }
  }

  const perRequest = (arm: Arm, ticks: number): string => ((ticks * microsPerTick) / responses[arm]).toFixed(1);
  console.log(`key: ${values.key}; ${rounds} alternating rounds of ${requests} requests per arm`);
  for (const arm of ["anonymous", "keyed"] as const) {
    const threads = [...byThread[arm]].map(([thread, ticks]) => `${thread} ${perRequest(arm, ticks)}`).join(", ");
    const total = [...byThread[arm].values()].reduce((sum, ticks) => sum + ticks, 0);
    console.log(`  ${arm.padEnd(9)} CPU µs/request ${perRequest(arm, total)} (${threads})`);
  }
  const ratios = roundMicros.keyed.map((keyed, i) => keyed / (roundMicros.anonymous[i] as number) - 1);
  const percent = (share: number): string => `${share >= 0 ? "+" : "−"}${Math.abs(share * 100).toFixed(1)} %`;
  console.log(`  keyed vs anonymous by round: ${ratios.map(percent).join(", ")}; median ${percent(median(ratios))}`);
} finally {
  gateway.process.kill("SIGTERM");
  mock.process.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}
