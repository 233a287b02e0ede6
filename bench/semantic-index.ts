/**
 * Semantic lookup time at volume (issue 9: under 1 ms at 100,000 entries): the per-process index of
 * src/cache/semantic-index.ts, filled with random unit vectors, queried with noisy copies of stored ones.
 *
 *   node bench/semantic-index.ts                       # 100,000 entries, 256 dimensions
 *   node bench/semantic-index.ts --entries 20000 --dim 768 --queries 2000
 *
 * Layouts: one group of N (an HNSW graph), N in 20 groups (20 graphs), N in 1,000 groups of N/1,000 (flat scans).
 * Prints build time, lookup p50/p99 and recall@1 (the nearest found is the vector the query was made from), and the
 * save/load time of the one-group index.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SemanticIndex } from "../src/cache/semantic-index.ts";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "100000" },
    dim: { type: "string", default: "256" },
    queries: { type: "string", default: "1000" },
    json: { type: "boolean", default: false },
  },
});
const N = Number(values.entries);
const DIM = Number(values.dim);
const Q = Number(values.queries);

// mulberry32: a 32-bit PRNG whose products stay exact (a float LCG loses bits and repeats vectors).
let seed = 7;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
};
const noisy = (v: Float32Array) => Float32Array.from(v, (x) => x + rand() * 0.02);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface Layout {
  name: string;
  groups: number;
}

const layouts: Layout[] = [
  { name: `one group of ${N}`, groups: 1 },
  { name: `${N} in 20 groups`, groups: 20 },
  { name: `${N} in 1000 groups`, groups: 1000 },
];

const results: Record<string, unknown>[] = [];
for (const layout of layouts) {
  const index = new SemanticIndex();
  // One buffer for every vector: 100,000 small typed arrays kept alive would make the bench's own GC the tail.
  const all = Float32Array.from({ length: N * DIM }, rand);
  const vector = (i: number) => all.subarray(i * DIM, (i + 1) * DIM);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) index.add(`g${i % layout.groups}`, vector(i), { id: `id${i}`, exactKey: `k${i}` });
  // Large groups get their graphs built in slices after the adds.
  await index.settled();
  const buildMs = performance.now() - t0;
  // Warm-up, then timed lookups of noisy copies of stored vectors.
  for (let i = 0; i < 100; i++) index.nearest(`g${i % layout.groups}`, vector(i), 0.5);
  const times: number[] = [];
  let found = 0;
  for (let q = 0; q < Q; q++) {
    const i = Math.floor(Math.abs(rand() * 2) * N) % N;
    const query = noisy(vector(i));
    const start = process.hrtime.bigint();
    const near = index.nearest(`g${i % layout.groups}`, query, 0.5);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (near[0]?.id === `id${i}`) found++;
  }
  times.sort((a, b) => a - b);

  const row: Record<string, unknown> = {
    layout: layout.name,
    dim: DIM,
    buildSeconds: Number((buildMs / 1000).toFixed(2)),
    p50Ms: Number(percentile(times, 50).toFixed(4)),
    p90Ms: Number(percentile(times, 90).toFixed(4)),
    p95Ms: Number(percentile(times, 95).toFixed(4)),
    p99Ms: Number(percentile(times, 99).toFixed(4)),
    meanMs: Number((times.reduce((a, b) => a + b, 0) / times.length).toFixed(4)),
    // Wall times: on a loaded machine the tail includes waiting for a core.
    loadAverage: Number(loadavg()[0]?.toFixed(2)),
    recallAt1: Number((found / Q).toFixed(4)),
  };
  if (layout.groups === 1) {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-semantic-bench-"));
    const s0 = performance.now();
    await index.save(join(dir, "semantic"));
    const s1 = performance.now();
    const loaded = new SemanticIndex();
    await loaded.load(join(dir, "semantic"));
    const s2 = performance.now();
    row.saveSeconds = Number(((s1 - s0) / 1000).toFixed(2));
    row.loadSeconds = Number(((s2 - s1) / 1000).toFixed(2));
    row.loadedSize = loaded.size;
    await rm(dir, { recursive: true, force: true });
  }
  results.push(row);
  if (!values.json) console.log(JSON.stringify(row));
}
if (values.json) console.log(JSON.stringify(results, null, 2));
