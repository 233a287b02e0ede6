import { benchKeyRequest, createVirtualKey } from "./admin-api.ts";
import type { RunningChild } from "./child-process.ts";
import {
  compactCount,
  type GovernedArmSummary,
  type GovernedProcessSummary,
  type GovernedSummary,
  judgeGoverned,
} from "./governed-summary.ts";
import type { LoadTarget } from "./load.ts";
import { type ArmResult, measureInterleavedArms, type WatchedProcess } from "./measure-arm.ts";
import { type BenchOptions, keysViaApi } from "./options.ts";
import { peakRssBytes, rssBytes } from "./proc-stats.ts";
import { insertKeyCopies } from "./seed-keys.ts";
import { armSummary } from "./summary.ts";
import type { Workload } from "./workloads.ts";

// The governed workload: what virtual keys, budgets and rate limits add to a request (issue 3's acceptance:
// ≤ 15 % more gateway CPU per request, flat from 10 to 100,000 keys). small-anthropic's request at saturation,
// through the gateway only, in two gateway processes on one data dir:
//   1. 10 keys made through the management API;
//   2. restarted after `--keys` − 10 copies of the first key were inserted into SQLite (seed-keys.ts).
// In each, the request is sent anonymously and with the first key, in alternating rounds, so both see the same
// machine. The bench's gateway runs with TOLLGATE_REQUIRE_KEY=never (run.ts): anonymous requests stay allowed once
// keys exist. When other workloads ran before, the gateway is restarted first, so this one starts from a fresh
// process as the second one does.

/** Turns each arm's measured time is split into (see measureInterleavedArms). */
export const governedRounds = 11;

export interface GatewayRestart {
  /** Runs while the gateway is stopped (its log flushed). */
  whileStopped?: () => void;
  readyTimeoutMs: number;
}

/** What governed.ts needs from the run: the gateway as it is now, and a way to restart it on the same data dir. */
export interface GovernedContext {
  workload: Workload;
  options: BenchOptions;
  clockTicks: number;
  adminToken: string;
  dbPath: string;
  gateway: () => RunningChild;
  watched: () => WatchedProcess[];
  /** Stops the gateway (SIGTERM), starts it again on the same data dir; resolves with how long the start took. */
  restartGateway: (restart: GatewayRestart) => Promise<{ startMs: number }>;
  /** Asserts the children are alive around `work` (see run.ts). */
  guarded: <T>(work: () => Promise<T>) => Promise<T>;
  progress: (message: string) => void;
  /** Whether the gateway served other workloads before this one. */
  gatewayUsedBefore: boolean;
}

export interface GovernedOutcome {
  summary: GovernedSummary;
  /** Gateway responses in every phase of every arm: the rows the request log must hold for this workload. */
  responses: number;
  /** Of those, the responses to requests sent with a virtual key: rows that must carry the key's id. */
  keyedResponses: number;
  failures: string[];
  /** Each arm's raw result, for the run's clean-answers check. */
  arms: Array<{ name: string; result: ArmResult }>;
}

/** Budgets and limits are huge, so a refusal would be a bug; anything but 2xx fails the run (run.ts). */
export async function runGovernedWorkload(ctx: GovernedContext): Promise<GovernedOutcome> {
  const { options, workload, progress } = ctx;
  const summary: GovernedSummary = { keys: options.keys, rounds: governedRounds, setup: { viaApi: keysViaApi } };
  const outcome: GovernedOutcome = { summary, responses: 0, keyedResponses: 0, failures: [], arms: [] };
  const plan = {
    probeRequests: workload.probeRequests,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.governedDurationSeconds,
    rounds: governedRounds,
  };
  const target = (secret: string | null): LoadTarget => ({
    url: `${ctx.gateway().url}${workload.gatewayPath}`,
    headers: secret === null ? workload.headers : { ...workload.headers, "x-api-key": secret },
    body: workload.body,
    connections: workload.connections,
    verifyBody: workload.verifyBody,
  });
  /** Both arms of one gateway process, in alternating rounds. */
  const measureProcess = async (keys: number, secret: string): Promise<GovernedProcessSummary> => {
    const names = [`${compactCount(keys)} keys, anonymous`, `${compactCount(keys)} keys, keyed`] as const;
    const [anonymous, keyed] = await ctx.guarded(() =>
      measureInterleavedArms(
        [
          { name: names[0], target: target(null) },
          { name: names[1], target: target(secret) },
        ],
        plan,
        ctx.watched(),
        ctx.clockTicks,
        (arm, message) => progress(`${workload.name} ${arm}: ${message}`),
      ),
    );
    if (!anonymous || !keyed) throw new Error("an arm did not run");
    const peak = peakRssBytes(ctx.gateway().pid);
    const arm = (result: ArmResult, name: string, withKey: boolean): GovernedArmSummary => {
      outcome.arms.push({ name, result });
      outcome.responses += result.totalResponses;
      if (withKey) outcome.keyedResponses += result.totalResponses;
      const roundCpuMicros = (result.roundCpuMicrosPerRequest ?? []).map((r) => round(r.gateway ?? 0, 1));
      return { ...armSummary(result), keys, withKey, peakRssBytes: peak, roundCpuMicros };
    };
    return { keys, anonymous: arm(anonymous, names[0], false), keyed: arm(keyed, names[1], true) };
  };

  try {
    if (ctx.gatewayUsedBefore) {
      progress(`${workload.name}: restarting the gateway, so both processes of this workload start fresh`);
      await ctx.restartGateway({ readyTimeoutMs: 30_000 });
    }

    progress(`${workload.name}: creating ${keysViaApi} virtual keys through the management API`);
    const created: Array<{ id: string; secret: string; elapsedMs: number }> = [];
    for (let i = 1; i <= keysViaApi; i++) {
      const name = `bench-key-${String(i).padStart(2, "0")}`;
      created.push(await createVirtualKey(ctx.gateway().url, ctx.adminToken, benchKeyRequest(name)));
    }
    const used = created[0];
    if (!used) throw new Error("no virtual key was created");
    const apiMs = created.map((k) => k.elapsedMs);
    summary.setup.viaApiMeanMs = round(apiMs.reduce((sum, ms) => sum + ms, 0) / apiMs.length, 1);
    summary.setup.viaApiMaxMs = round(Math.max(...apiMs), 1);
    summary.fewKeys = await measureProcess(keysViaApi, used.secret);

    const copies = options.keys - keysViaApi;
    progress(`${workload.name}: stopping the gateway, inserting ${copies} copies of the key into SQLite, restarting`);
    const { startMs } = await ctx.restartGateway({
      whileStopped: () => {
        summary.setup.inserted = insertKeyCopies(ctx.dbPath, used.id, copies);
      },
      // A start reads every key and runs one budget query per key (budget-seed.ts); 2 ms a key is generous.
      readyTimeoutMs: 60_000 + options.keys * 2,
    });
    summary.setup.startWithAllKeysMs = Math.round(startMs);
    summary.setup.rssAtStartWithAllKeysBytes = rssBytes(ctx.gateway().pid);
    summary.manyKeys = await measureProcess(options.keys, used.secret);

    progress(`${workload.name}: timing one more key through the API at ${compactCount(options.keys)} keys`);
    const oneMore = await createVirtualKey(ctx.gateway().url, ctx.adminToken, benchKeyRequest("bench-key-one-more"));
    summary.setup.oneMoreViaApiMs = Math.round(oneMore.elapsedMs);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    outcome.failures.push(`${workload.name}: ${message.split("\n")[0] ?? message}`);
    progress(`${workload.name} stopped: ${message}`);
  }

  if (summary.fewKeys && summary.manyKeys) Object.assign(summary, judgeGoverned(summary.fewKeys, summary.manyKeys));
  return outcome;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
