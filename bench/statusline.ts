// `tollgate statusline` run time: Claude Code runs it after every assistant message, so it must be quick.
// Standalone: `node bench/statusline.ts [--runs N] [--no-build] [--json]`; also `npm run bench -- --workload statusline`
// and the last step of `npm run bench`. See bench/README.md.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createVirtualKey } from "./admin-api.ts";
import { stopChild } from "./child-process.ts";
import { installCleanupHandlers, makeTempDir } from "./cleanup.ts";
import { buildGateway, gatewayEntry, startGateway, startMock } from "./services.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TARGET_MEAN_MS = 100;
const SESSION = "bench-statusline-session";

export interface StatuslineBench {
  runs: number;
  /** Wall time of one `node dist/cli/main.js statusline`, process start to exit. */
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  /** `node -e 0` on the same machine: what any Node command costs before it does anything. */
  nodeStartMeanMs: number;
  /** Runs that did not print the session's cost and budget (e.g. the fallback). */
  badOutputs: number;
  sampleOutput: string;
  targetMeanMs: number;
  targetMet: boolean;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (ms: number) => Math.round(ms * 10) / 10;

function timeRun(args: string[], env: NodeJS.ProcessEnv, input: string): { ms: number; stdout: string } {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: root, env, input, encoding: "utf8", timeout: 10_000 });
  return { ms: performance.now() - started, stdout: result.stdout ?? "" };
}

/** Starts the mock and a gateway, spends a little under a key in one session, then times the status line. */
export async function benchStatusline(options: { runs: number; build: boolean }): Promise<StatuslineBench> {
  if (options.build) buildGateway(root);
  const mock = await startMock(root);
  const adminToken = randomBytes(24).toString("hex");
  const gateway = await startGateway(root, mock.url, makeTempDir("tollgate-bench-statusline-"), { adminToken });
  try {
    const key = await createVirtualKey(gateway.url, adminToken, {
      name: "statusline",
      budgets: [{ name: "daily", limitUsd: "10", period: "1d" }],
      rateLimits: [],
    });
    const res = await fetch(`${gateway.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        authorization: `Bearer ${key.secret}`,
        "x-claude-code-session-id": SESSION,
        "x-mock-script": JSON.stringify({ scenario: "text" }),
      },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }),
    });
    if (res.status !== 200) throw new Error(`the setup call answered ${res.status}: ${await res.text()}`);

    // What Claude Code hands the command: its status JSON on stdin, the env `tollgate launch claude` set.
    const input = JSON.stringify({ session_id: SESSION, model: { id: "claude-sonnet-4-5" }, cost: {} });
    const env = { PATH: process.env.PATH ?? "", TOLLGATE_URL: gateway.url, TOLLGATE_KEY: key.secret };
    const args = [gatewayEntry, "statusline"];
    timeRun(args, env, input); // warm the file system cache
    const times: number[] = [];
    let badOutputs = 0;
    let sampleOutput = "";
    for (let i = 0; i < options.runs; i++) {
      const run = timeRun(args, env, input);
      times.push(run.ms);
      sampleOutput = run.stdout.trim();
      if (!/^tollgate: session \$\S+ · \$\S+ left of \$\S+/.test(sampleOutput)) badOutputs++;
    }
    const nodeStart = Array.from({ length: Math.min(options.runs, 10) }, () => timeRun(["-e", "0"], env, "").ms);
    const sorted = [...times].sort((a, b) => a - b);
    const meanMs = mean(times);
    return {
      runs: options.runs,
      meanMs: round(meanMs),
      p50Ms: round(percentile(sorted, 50)),
      p95Ms: round(percentile(sorted, 95)),
      minMs: round(sorted[0] ?? 0),
      maxMs: round(sorted.at(-1) ?? 0),
      nodeStartMeanMs: round(mean(nodeStart)),
      badOutputs,
      sampleOutput,
      targetMeanMs: TARGET_MEAN_MS,
      targetMet: meanMs < TARGET_MEAN_MS,
    };
  } finally {
    await stopChild(gateway, 20_000);
    await stopChild(mock, 5_000);
  }
}

export function formatStatuslineBench(r: StatuslineBench): string {
  return [
    `statusline (node ${gatewayEntry} statusline, ${r.runs} runs against a running gateway):`,
    `  mean ${r.meanMs} ms, p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, min ${r.minMs} ms, max ${r.maxMs} ms` +
      ` (node -e 0 alone: ${r.nodeStartMeanMs} ms)`,
    `  target: mean < ${r.targetMeanMs} ms: ${r.targetMet ? "met" : "MISSED"}`,
    `  output: ${r.sampleOutput}${r.badOutputs > 0 ? ` — ${r.badOutputs} runs printed something else` : ""}`,
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "20" },
      "no-build": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
    process.stderr.write(`--runs must be a whole number from 1 to 1000, not ${JSON.stringify(values.runs)}\n`);
    return 2;
  }
  installCleanupHandlers();
  const result = await benchStatusline({ runs, build: !values["no-build"] });
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatStatuslineBench(result)}\n`);
  return result.badOutputs === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
