import type { SeededKeys } from "./seed-keys.ts";
import type { ArmSummary } from "./summary.ts";

// The governed workload's part of the summary (see governed.ts): its arms, how its keys were made, and issue 3's
// acceptance judged on gateway CPU per request.

/** One arm of the governed workload: small-anthropic's request at saturation, through the gateway only. */
export interface GovernedArmSummary extends ArmSummary {
  /** Virtual keys the gateway held. */
  keys: number;
  /** Whether the requests carried a virtual key (else anonymous: TOLLGATE_REQUIRE_KEY=never lets them in). */
  withKey: boolean;
  /** VmHWM of the gateway process that served this arm, after it. */
  peakRssBytes: number;
  /** Gateway CPU µs per request in each round (the arms of one process take turns). */
  roundCpuMicros: number[];
}

/** One gateway process of the governed workload: the same request without and with a key, in turns. */
export interface GovernedProcessSummary {
  keys: number;
  anonymous: GovernedArmSummary;
  keyed: GovernedArmSummary;
}

/** How the governed workload's keys came to be, and what that cost. */
export interface GovernedKeySetup {
  /** Keys made through `POST /api/virtual-keys` (the requests use the first). */
  viaApi: number;
  viaApiMeanMs?: number;
  viaApiMaxMs?: number;
  /** Copies of the first key inserted into SQLite with the gateway stopped (see seed-keys.ts). */
  inserted?: SeededKeys;
  /** From spawning the gateway on the data dir with every key to its "listening" line. */
  startWithAllKeysMs?: number;
  /** VmRSS of that gateway when it started listening. */
  rssAtStartWithAllKeysBytes?: number;
  /** One more key through the API once the gateway holds every key (each create reloads the whole snapshot). */
  oneMoreViaApiMs?: number;
}

/**
 * Gateway CPU µs per request, and the ratios the targets are judged on (as shares: 0.1 = +10 %). The ratios use
 * medians over rounds, so one round hit by a neighbour's burst does not decide the verdict.
 */
export interface GovernedCpu {
  /** Each arm's CPU over all its rounds ÷ its responses (the table's figures). */
  anonymousMicros: number;
  fewKeysMicros: number;
  anonymousAtManyKeysMicros: number;
  manyKeysMicros: number;
  /** Keyed ÷ anonymous − 1 with 10 keys, per round (the two arms of a round run back to back). */
  governanceAddsByRound: number[];
  /** Their median: what admission, rate limits and settlement add (judged). */
  governanceAdds: number;
  /** The same in the process holding every key (not judged; a second estimate). */
  governanceAddsAtManyKeysByRound: number[];
  governanceAddsAtManyKeys: number;
  /** Median keyed round with every key ÷ median keyed round with 10 − 1. */
  manyKeysAdd: number;
  /**
   * The same for the anonymous arms: the part of the change that is not the key path (GC of a bigger heap, or the
   * machine's load changing between the two processes).
   */
  anonymousManyKeysAdd: number;
  /**
   * The keyed change with the anonymous one taken out — (1 + manyKeysAdd) ÷ (1 + anonymousManyKeysAdd) − 1 — what
   * the number of keys does to a keyed request (judged). The two processes run minutes apart; on a busy machine
   * both arms of one process have been seen 12–14 % cheaper than the other's.
   */
  keyPathManyKeysAdd: number;
}

/** Issue 3's acceptance: governance adds ≤ 15 % CPU per request, flat (±10 %) from 10 to `keys` keys. */
export interface GovernedTargets {
  maxGovernanceAdds: number;
  flatTolerance: number;
  governanceMet: boolean;
  flatMet: boolean;
}

export interface GovernedSummary {
  /** Keys in the second process (`--keys`). */
  keys: number;
  /** Turns each arm's measured time is split into. */
  rounds: number;
  setup: GovernedKeySetup;
  fewKeys?: GovernedProcessSummary;
  manyKeys?: GovernedProcessSummary;
  cpu?: GovernedCpu;
  targets?: GovernedTargets;
}

export const governedBounds = { maxGovernanceAdds: 0.15, flatTolerance: 0.1 } as const;

/** The ratios and targets, from both processes' arms. A ratio over a zero reading is NaN (and not met). */
export function judgeGoverned(
  few: GovernedProcessSummary,
  many: GovernedProcessSummary,
): { cpu: GovernedCpu; targets: GovernedTargets } {
  const micros = (arm: ArmSummary): number => arm.cpuMicrosPerRequest.gateway ?? 0;
  const byRound = (p: GovernedProcessSummary): number[] =>
    p.keyed.roundCpuMicros.map((keyed, i) => share(keyed, p.anonymous.roundCpuMicros[i] ?? 0));
  const governanceAddsByRound = byRound(few);
  const governanceAddsAtManyKeysByRound = byRound(many);
  const cpu: GovernedCpu = {
    anonymousMicros: micros(few.anonymous),
    fewKeysMicros: micros(few.keyed),
    anonymousAtManyKeysMicros: micros(many.anonymous),
    manyKeysMicros: micros(many.keyed),
    governanceAddsByRound,
    governanceAdds: median(governanceAddsByRound),
    governanceAddsAtManyKeysByRound,
    governanceAddsAtManyKeys: median(governanceAddsAtManyKeysByRound),
    manyKeysAdd: share(median(many.keyed.roundCpuMicros), median(few.keyed.roundCpuMicros)),
    anonymousManyKeysAdd: share(median(many.anonymous.roundCpuMicros), median(few.anonymous.roundCpuMicros)),
    keyPathManyKeysAdd: Number.NaN,
  };
  cpu.keyPathManyKeysAdd = share(1 + cpu.manyKeysAdd, 1 + cpu.anonymousManyKeysAdd);
  return {
    cpu,
    targets: {
      ...governedBounds,
      governanceMet: cpu.governanceAdds <= governedBounds.maxGovernanceAdds,
      flatMet: Math.abs(cpu.keyPathManyKeysAdd) <= governedBounds.flatTolerance,
    },
  };
}

/** a ÷ b − 1, to 4 decimals; NaN (never met) when b is not a positive reading. */
function share(a: number, b: number): number {
  return b > 0 && Number.isFinite(a) ? Math.round((a / b - 1) * 10_000) / 10_000 : Number.NaN;
}

/** The middle value (mean of the two middle ones for an even count); NaN for none or when any value is NaN. */
export function median(values: readonly number[]): number {
  if (values.length === 0 || values.some((v) => Number.isNaN(v))) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** 100000 → "100k": the key counts in arm names. */
export function compactCount(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${integer.format(n / 1000)}k` : integer.format(n);
}

/** The table rows of the governed workload, named after the keys held and whether the request carried one. */
export function governedArms(g: GovernedSummary | undefined): Array<[string, GovernedArmSummary]> {
  const rows: Array<[string, GovernedArmSummary]> = [];
  for (const p of [g?.fewKeys, g?.manyKeys]) {
    if (!p) continue;
    rows.push(
      [`${compactCount(p.keys)} keys, anonymous`, p.anonymous],
      [`${compactCount(p.keys)} keys, keyed`, p.keyed],
    );
  }
  return rows;
}

function percent(share: number): string {
  if (!Number.isFinite(share)) return "n/a";
  return `${share >= 0 ? "+" : "−"}${Math.abs(share * 100).toFixed(1)} %`;
}

function met(value: boolean): string {
  return value ? "met" : "NOT met";
}

/** The lines printed under the governed workload's table rows. */
export function governedNotes(g: GovernedSummary): string[] {
  const notes: string[] = [];
  const few = compactCount(g.setup.viaApi);
  const many = compactCount(g.keys);
  const s = g.setup;
  const setup: string[] = [];
  if (s.viaApiMeanMs !== undefined) {
    setup.push(
      `${s.viaApi} through the API (mean ${s.viaApiMeanMs.toFixed(1)} ms, max ${(s.viaApiMaxMs ?? 0).toFixed(1)} ms)`,
    );
  }
  if (s.inserted) {
    setup.push(
      `${integer.format(s.inserted.inserted)} copies inserted into SQLite with the gateway stopped in ${(s.inserted.elapsedMs / 1000).toFixed(1)} s`,
    );
  }
  if (s.startWithAllKeysMs !== undefined) {
    const rss =
      s.rssAtStartWithAllKeysBytes === undefined
        ? ""
        : `, ${(s.rssAtStartWithAllKeysBytes / 2 ** 20).toFixed(0)} MiB RSS when listening`;
    setup.push(`gateway start with ${many} keys ${(s.startWithAllKeysMs / 1000).toFixed(1)} s${rss}`);
  }
  if (s.oneMoreViaApiMs !== undefined) {
    setup.push(`one more key through the API at ${many} keys: ${integer.format(s.oneMoreViaApiMs)} ms`);
  }
  if (setup.length > 0) notes.push(`keys: ${setup.join("; ")}`);
  if (!g.cpu || !g.targets) {
    notes.push("targets not judged: an arm did not run");
    return notes;
  }
  const c = g.cpu;
  const t = g.targets;
  const us = (micros: number): string => `${micros.toFixed(1)} µs`;
  const rounds = (shares: readonly number[]): string => shares.map(percent).join(", ");
  notes.push(
    `gateway CPU per request: with ${few} keys anonymous ${us(c.anonymousMicros)}, keyed ${us(c.fewKeysMicros)}; with ${many} keys anonymous ${us(c.anonymousAtManyKeysMicros)}, keyed ${us(c.manyKeysMicros)}`,
  );
  notes.push(
    `keyed vs anonymous in each of ${g.rounds} alternating rounds: with ${few} keys ${rounds(c.governanceAddsByRound)} (median ${percent(c.governanceAdds)}); ` +
      `with ${many} keys ${rounds(c.governanceAddsAtManyKeysByRound)} (median ${percent(c.governanceAddsAtManyKeys)})`,
  );
  notes.push(
    `${many} vs ${few} keys (median rounds): keyed ${percent(c.manyKeysAdd)}; anonymous ${percent(c.anonymousManyKeysAdd)} (not the key path: heap size or machine load); keyed with that taken out ${percent(c.keyPathManyKeysAdd)}`,
  );
  notes.push(
    `target governance adds ≤ ${t.maxGovernanceAdds * 100} % CPU/request: ${met(t.governanceMet)} (${percent(c.governanceAdds)} with ${few} keys)`,
  );
  notes.push(
    `target flat from ${few} to ${many} keys: ${met(t.flatMet)} (±${t.flatTolerance * 100} %: ${percent(c.keyPathManyKeysAdd)})`,
  );
  return notes;
}
