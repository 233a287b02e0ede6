import { type LoadTarget, type Phase, type PhaseResult, runPhase, summarizePhases } from "./load.ts";
import { runPacedPhase } from "./paced-load.ts";
import { cpuTicks } from "./proc-stats.ts";

export interface ArmPlan {
  /** Requests of the first, rate-finding phase. */
  probeRequests: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface FixedRatePlan {
  /** Requests per second over all connections. */
  ratePerSecond: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** Several arms measured in turns; `durationSeconds` is each arm's measured time, split over `rounds`. */
export interface InterleavedPlan extends ArmPlan {
  rounds: number;
}

export interface WatchedProcess {
  name: string;
  pid: number;
}

export interface ArmResult {
  measured: PhaseResult;
  /** CPU microseconds per measured request, per watched child process (by name). */
  cpuMicrosPerRequest: Record<string, number>;
  /** CPU microseconds per measured request spent in this process (autocannon): the load generator's share. */
  loadGeneratorCpuMicrosPerRequest: number;
  /** Totals over every phase of the arm (probe, warm-up, measured): what the request log must account for. */
  totalResponses: number;
  totalErrors: number;
  anyStoppedByGuard: boolean;
  /** measureInterleavedArms only: each round's CPU µs per request, per watched child process (by name). */
  roundCpuMicrosPerRequest?: Array<Record<string, number>>;
}

export interface FixedRateArmResult extends ArmResult {
  ratePerSecond: number;
  /** Measured requests that found every connection busy (the rate was not sustained). */
  waitedForConnection: number;
}

/**
 * Runs consecutive fixed-count phases until about `seconds` of load have been sent. Each phase's count comes from
 * the last measured rate; when that rate was an underestimate (a JIT still warming up), the next phase tops up.
 */
async function runFor(
  target: LoadTarget,
  seconds: number,
  startRate: number,
  label: string,
  onProgress: (message: string) => void,
): Promise<Phase[]> {
  const phases: Phase[] = [];
  const targetMs = seconds * 1000;
  let elapsedMs = 0;
  let rate = startRate;
  for (let round = 0; round < maxRounds && elapsedMs < targetMs * 0.9; round++) {
    const remainingSeconds = (targetMs - elapsedMs) / 1000;
    const amount = Math.max(target.connections * 2, Math.round(rate * remainingSeconds));
    onProgress(`${label} ${amount} requests (~${remainingSeconds.toFixed(1)} s)`);
    const phase = await runPhase(target, amount, guardMs(remainingSeconds));
    phases.push(phase);
    elapsedMs += phase.elapsedMs;
    if (phase.elapsedMs > 0 && phase.responses > 0) rate = (phase.responses * 1000) / phase.elapsedMs;
    if (phase.stoppedByGuard) break;
  }
  return phases;
}

const maxRounds = 5;
/** Quiet time at the end of an interleaved round, inside its CPU reading (the request log flushes every 50 ms). */
const settleAfterRoundMs = 300;
/** Generous, but bounds a phase whose server stalls: 3x the planned time plus 15 s. */
const guardMs = (seconds: number): number => seconds * 3000 + 15_000;

function rateOf(phases: readonly Phase[]): number {
  return summarizePhases(phases).requestsPerSecond;
}

/** Probe for the rate, warm up for `warmupSeconds`, then measure for about `durationSeconds`. */
export async function measureArm(
  target: LoadTarget,
  plan: ArmPlan,
  watched: readonly WatchedProcess[],
  clockTicks: number,
  onProgress: (message: string) => void,
): Promise<ArmResult> {
  onProgress(`probe ${plan.probeRequests} requests`);
  const probe = await runPhase(target, plan.probeRequests, guardMs(plan.probeRequests / target.connections));
  let rate = rateOf([probe]);
  const warmup = plan.warmupSeconds > 0 ? await runFor(target, plan.warmupSeconds, rate, "warm-up", onProgress) : [];
  if (warmup.length > 0) rate = rateOf(warmup.slice(-1));

  const { phases: measuredPhases, cpu } = await withCpu(watched, clockTicks, () =>
    runFor(target, plan.durationSeconds, rate, "measure", onProgress),
  );
  const measured = summarizePhases(measuredPhases);

  const all = summarizePhases([probe, ...warmup, ...measuredPhases]);
  return {
    measured,
    ...cpuPerRequest(cpu, measured.responses),
    totalResponses: all.responses,
    totalErrors: all.errors,
    anyStoppedByGuard: all.stoppedByGuard,
  };
}

/**
 * Sends `ratePerSecond × warmupSeconds` and then `ratePerSecond × durationSeconds` requests at an evenly paced fixed
 * rate (see paced-load.ts): latency below saturation, where it is the per-request cost rather than queueing.
 */
export async function measureFixedRateArm(
  target: LoadTarget,
  plan: FixedRatePlan,
  watched: readonly WatchedProcess[],
  clockTicks: number,
  onProgress: (message: string) => void,
): Promise<FixedRateArmResult> {
  const paced = (seconds: number, label: string) => {
    const amount = Math.max(1, Math.round(plan.ratePerSecond * seconds));
    onProgress(`${label} ${amount} requests at ${plan.ratePerSecond} req/s`);
    return runPacedPhase(target, plan.ratePerSecond, amount, guardMs(amount / plan.ratePerSecond));
  };
  const warmup = plan.warmupSeconds > 0 ? [await paced(plan.warmupSeconds, "fixed-rate warm-up")] : [];
  const { phases, cpu } = await withCpu(watched, clockTicks, async () => [
    await paced(plan.durationSeconds, "fixed-rate measure"),
  ]);
  const measured = summarizePhases(phases);
  const all = summarizePhases([...warmup, ...phases]);
  return {
    measured,
    ...cpuPerRequest(cpu, measured.responses),
    totalResponses: all.responses,
    totalErrors: all.errors,
    anyStoppedByGuard: all.stoppedByGuard,
    ratePerSecond: plan.ratePerSecond,
    waitedForConnection: phases.reduce((sum, p) => sum + p.waitedForConnection, 0),
  };
}

/**
 * Like `measureArm` for several targets on the same server, but each arm's measured time is split into
 * `plan.rounds` and the arms take turns, in alternating order (A B, B A, A B …), so a change in the machine's load
 * during the run (other processes, a neighbour's burst) falls on every arm alike instead of on whichever ran last.
 * Every arm gets its own probe and warm-up first; then each round sends every arm the same number of requests.
 */
export async function measureInterleavedArms(
  arms: ReadonlyArray<{ name: string; target: LoadTarget }>,
  plan: InterleavedPlan,
  watched: readonly WatchedProcess[],
  clockTicks: number,
  onProgress: (arm: string, message: string) => void,
): Promise<ArmResult[]> {
  const states = [];
  for (const arm of arms) {
    const report = (message: string) => onProgress(arm.name, message);
    report(`probe ${plan.probeRequests} requests`);
    const probe = await runPhase(arm.target, plan.probeRequests, guardMs(plan.probeRequests / arm.target.connections));
    let rate = rateOf([probe]);
    const warmup = plan.warmupSeconds > 0 ? await runFor(arm.target, plan.warmupSeconds, rate, "warm-up", report) : [];
    if (warmup.length > 0) rate = rateOf(warmup.slice(-1));
    states.push({
      arm,
      report,
      earlier: [probe, ...warmup],
      measured: [] as Phase[],
      rate,
      cpu: noCpu(),
      rounds: [] as Array<Record<string, number>>,
    });
  }
  const roundSeconds = plan.durationSeconds / plan.rounds;
  // Every arm sends the same number of requests a round, in one phase (the first arm's rate × the round's time):
  // rounds then differ only in what the server does per request. Sized per arm, a slower arm's round would need
  // a top-up phase — a fresh set of connections — that the other arm's round did not open.
  const first = states[0];
  const perRound = Math.max((first?.arm.target.connections ?? 1) * 2, Math.round((first?.rate ?? 0) * roundSeconds));
  for (let round = 0; round < plan.rounds; round++) {
    const order = round % 2 === 0 ? states : [...states].reverse();
    for (const state of order) {
      state.report(`measure (round ${round + 1} of ${plan.rounds}) ${perRound} requests`);
      const { phases, cpu } = await withCpu(watched, clockTicks, async () => {
        const phase = await runPhase(state.arm.target, perRound, guardMs(perRound / Math.max(1, state.rate)));
        // Work the round's requests left behind (the request log's batch insert, deferred settlement work) is
        // done within the round, not charged to whichever arm comes next.
        await new Promise((resolve) => setTimeout(resolve, settleAfterRoundMs));
        return [phase];
      });
      state.measured.push(...phases);
      state.cpu = addCpu(state.cpu, cpu);
      state.rounds.push(cpuPerRequest(cpu, summarizePhases(phases).responses).cpuMicrosPerRequest);
      if (phases.length > 0) state.rate = rateOf(phases.slice(-1));
    }
  }
  return states.map((state) => {
    const measured = summarizePhases(state.measured);
    const all = summarizePhases([...state.earlier, ...state.measured]);
    return {
      measured,
      ...cpuPerRequest(state.cpu, measured.responses),
      totalResponses: all.responses,
      totalErrors: all.errors,
      anyStoppedByGuard: all.stoppedByGuard,
      roundCpuMicrosPerRequest: state.rounds,
    };
  });
}

interface CpuSpent {
  /** Microseconds per watched child process, by name. */
  children: Record<string, number>;
  /** Microseconds spent in this process (the load generator). */
  self: number;
}

/** Runs `work` and reads how much CPU time the watched children and this process spent meanwhile. */
async function withCpu<T extends Phase>(
  watched: readonly WatchedProcess[],
  clockTicks: number,
  work: () => Promise<T[]>,
): Promise<{ phases: T[]; cpu: CpuSpent }> {
  const ticksBefore = watched.map((p) => cpuTicks(p.pid));
  const selfBefore = process.cpuUsage();
  const phases = await work();
  const self = process.cpuUsage(selfBefore);
  const ticksAfter = watched.map((p) => cpuTicks(p.pid));
  const children: Record<string, number> = {};
  watched.forEach((p, i) => {
    children[p.name] = (((ticksAfter[i] ?? 0) - (ticksBefore[i] ?? 0)) * 1_000_000) / clockTicks;
  });
  return { phases, cpu: { children, self: self.user + self.system } };
}

function noCpu(): CpuSpent {
  return { children: {}, self: 0 };
}

function addCpu(a: CpuSpent, b: CpuSpent): CpuSpent {
  const children: Record<string, number> = { ...a.children };
  for (const [name, micros] of Object.entries(b.children)) children[name] = (children[name] ?? 0) + micros;
  return { children, self: a.self + b.self };
}

function cpuPerRequest(
  cpu: CpuSpent,
  responses: number,
): Pick<ArmResult, "cpuMicrosPerRequest" | "loadGeneratorCpuMicrosPerRequest"> {
  const perRequest = (micros: number): number => (responses > 0 ? micros / responses : 0);
  return {
    cpuMicrosPerRequest: Object.fromEntries(Object.entries(cpu.children).map(([name, us]) => [name, perRequest(us)])),
    loadGeneratorCpuMicrosPerRequest: perRequest(cpu.self),
  };
}
