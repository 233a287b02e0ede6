import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { HierarchicalNSW } from "hnswlib-node";
import hnswlib from "hnswlib-node";

/** What one indexed vector points at: the store's entry id and the exact key its lookup uses. */
export interface IndexedItem {
  id: string;
  exactKey: string;
}

/** A neighbour found at or above the threshold. */
export interface Neighbour extends IndexedItem {
  similarity: number;
}

/**
 * A group stays a flat array (exact brute force) while `rows × dim` is below this: 1,024 rows of 256 dimensions cost
 * ~0.2 ms to scan, less than an HNSW graph's upkeep is worth. Beyond it the group gets its own HNSW graph, built in
 * slices between other work (a thousand inserts take ~0.3 s), the flat array answering until the graph is ready.
 */
const FLAT_LIMIT = 262_144;
const HNSW_M = 16;
const HNSW_EF_CONSTRUCTION = 100;
const HNSW_EF_SEARCH = 64;

interface FlatGroup {
  kind: "flat";
  dim: number;
  data: Float32Array;
  items: IndexedItem[];
  rows: Map<string, number>;
  /** Set while its graph is being built: ids removed (or replaced) meanwhile, which the graph must not keep. */
  dropped: Set<string> | null;
}

interface GraphGroup {
  kind: "hnsw";
  dim: number;
  graph: HierarchicalNSW;
  /** Live labels only; a removed one is marked deleted in the graph and its slot reused by the next add. */
  labels: Map<number, IndexedItem>;
  byId: Map<string, number>;
  nextLabel: number;
  /** Deleted slots the graph can reuse. */
  free: number;
}

type Group = FlatGroup | GraphGroup;

/**
 * The semantic layer's nearest-neighbour index, per process: vectors (normalised, so cosine = dot product) grouped
 * by the exact hash of everything but the last user turn (with scope and namespace) — only entries of one group are
 * ever compared, so no filter callback runs per visited node. A small group is a flat array scanned exactly; a large
 * one is an HNSW graph of its own (hnswlib-node, inner-product space), searched approximately in well under 1 ms at
 * 100,000 vectors. Removals mark graph labels deleted; their slots are reused.
 */
export class SemanticIndex {
  readonly #groups = new Map<string, Group>();
  /** Entry id → its group, for removals by id (eviction, expiry, purge). */
  readonly #groupOf = new Map<string, string>();
  readonly #promotions = new Set<Promise<void>>();

  get size(): number {
    return this.#groupOf.size;
  }

  has(id: string): boolean {
    return this.#groupOf.has(id);
  }

  /** The group an entry is indexed in, if it is. */
  groupOf(id: string): string | undefined {
    return this.#groupOf.get(id);
  }

  /** How a group is searched: a flat scan or its HNSW graph (null: no such group). */
  groupKind(group: string): "flat" | "hnsw" | null {
    return this.#groups.get(group)?.kind ?? null;
  }

  /** Every indexed entry id. */
  ids(): IterableIterator<string> {
    return this.#groupOf.keys();
  }

  /** Adds (or replaces) the vector of an entry in `group`. The vector is normalised here. */
  add(group: string, vector: Float32Array, item: IndexedItem): void {
    const v = normalised(vector);
    if (this.#groupOf.has(item.id)) this.remove(item.id);
    let g = this.#groups.get(group);
    if (g && g.dim !== v.length) {
      // The embedding model changed its width: the old vectors are not comparable any more.
      for (const id of groupIds(g)) this.#groupOf.delete(id);
      this.#groups.delete(group);
      g = undefined;
    }
    if (!g) {
      g = newFlat(v.length);
      this.#groups.set(group, g);
    }
    this.#groupOf.set(item.id, group);
    if (g.kind === "flat") {
      const row = g.items.length;
      if ((row + 1) * g.dim > g.data.length) {
        const grown = new Float32Array(g.data.length * 2);
        grown.set(g.data);
        g.data = grown;
      }
      g.items.push(item);
      g.rows.set(item.id, row);
      g.data.set(v, row * g.dim);
      if (g.items.length * g.dim > FLAT_LIMIT && g.dropped === null) this.#startPromotion(group, g);
    } else {
      addToGraph(g, v, item);
    }
  }

  /** Resolves once no graph is being built (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.#promotions.size > 0) await Promise.all([...this.#promotions]);
  }

  #startPromotion(name: string, flat: FlatGroup): void {
    flat.dropped = new Set();
    const p = this.#promote(name, flat).finally(() => this.#promotions.delete(p));
    this.#promotions.add(p);
  }

  /**
   * Builds the graph of a flat group 64 inserts at a time, yielding between slices; adds and removals meanwhile go to
   * the flat array (which answers lookups until the swap). Then the rows not yet inserted are added, the dropped ones
   * marked deleted, and the graph replaces the flat array.
   */
  async #promote(name: string, flat: FlatGroup): Promise<void> {
    const g = newGraph(flat.dim, flat.items.length * 2);
    let cursor = 0;
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      // Cleared, emptied or re-dimensioned meanwhile: this build is moot.
      if (this.#groups.get(name) !== flat) return;
      const end = Math.min(flat.items.length, cursor + 64);
      if (cursor >= end) break;
      for (; cursor < end; cursor++) {
        const item = flat.items[cursor] as IndexedItem;
        if (!g.byId.has(item.id)) addToGraph(g, flat.data.subarray(cursor * flat.dim, (cursor + 1) * flat.dim), item);
      }
    }
    for (const id of flat.dropped ?? []) {
      const label = g.byId.get(id);
      if (label === undefined) continue;
      g.graph.markDelete(label);
      g.labels.delete(label);
      g.byId.delete(id);
      g.free += 1;
    }
    // Rows a removal moved behind the cursor, and replacements.
    flat.items.forEach((item, row) => {
      if (!g.byId.has(item.id)) addToGraph(g, flat.data.subarray(row * flat.dim, (row + 1) * flat.dim), item);
    });
    this.#groups.set(name, g);
  }

  /** Forgets an entry (evicted, expired, purged); unknown ids are ignored. */
  remove(id: string): void {
    const group = this.#groupOf.get(id);
    if (group === undefined) return;
    this.#groupOf.delete(id);
    const g = this.#groups.get(group);
    if (!g) return;
    if (g.kind === "flat") {
      const row = g.rows.get(id);
      if (row === undefined) return;
      g.dropped?.add(id);
      const last = g.items.length - 1;
      if (row !== last) {
        const moved = g.items[last] as IndexedItem;
        g.items[row] = moved;
        g.rows.set(moved.id, row);
        g.data.copyWithin(row * g.dim, last * g.dim, (last + 1) * g.dim);
      }
      g.items.pop();
      g.rows.delete(id);
      if (g.items.length === 0) this.#groups.delete(group);
    } else {
      const label = g.byId.get(id);
      if (label === undefined) return;
      g.graph.markDelete(label);
      g.labels.delete(label);
      g.byId.delete(id);
      g.free += 1;
      if (g.labels.size === 0) this.#groups.delete(group);
    }
  }

  /** Up to `k` entries of `group` at or above `threshold`, most similar first. */
  nearest(group: string, vector: Float32Array, threshold: number, k = 4): Neighbour[] {
    const g = this.#groups.get(group);
    if (!g || g.dim !== vector.length) return [];
    const q = normalised(vector);
    if (g.kind === "flat") return scan(g, q, threshold, k);
    const result = g.graph.searchKnn(Array.from(q), Math.min(k, g.labels.size));
    const out: Neighbour[] = [];
    for (let i = 0; i < result.neighbors.length; i++) {
      const similarity = 1 - (result.distances[i] as number);
      const item = g.labels.get(result.neighbors[i] as number);
      if (item && similarity >= threshold) out.push({ ...item, similarity: Math.min(1, similarity) });
    }
    return out;
  }

  clear(): void {
    this.#groups.clear();
    this.#groupOf.clear();
  }

  /**
   * Writes the index to `dir` (created; replaced whole): `index.json` lists groups and their items, `flat.bin` holds
   * the flat groups' vectors, `g<n>.hnsw` each graph. Written to a temporary directory first, then renamed.
   */
  async save(dir: string): Promise<void> {
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const manifest: Manifest = { version: 1, groups: [] };
    const flats: Float32Array[] = [];
    let offset = 0;
    let n = 0;
    for (const [name, g] of this.#groups) {
      if (g.kind === "flat") {
        const data = g.data.subarray(0, g.items.length * g.dim);
        flats.push(data);
        manifest.groups.push({ name, kind: "flat", dim: g.dim, offset, items: g.items.map((i) => [i.id, i.exactKey]) });
        offset += data.length;
      } else {
        const file = `g${n++}.hnsw`;
        g.graph.writeIndexSync(join(tmp, file));
        manifest.groups.push({
          name,
          kind: "hnsw",
          dim: g.dim,
          file,
          nextLabel: g.nextLabel,
          labels: [...g.labels].map(([label, i]) => [label, i.id, i.exactKey]),
        });
      }
    }
    const bin = Buffer.alloc(offset * 4);
    let at = 0;
    for (const f of flats) {
      Buffer.from(f.buffer, f.byteOffset, f.byteLength).copy(bin, at);
      at += f.byteLength;
    }
    await writeFile(join(tmp, "flat.bin"), bin);
    await writeFile(join(tmp, "index.json"), JSON.stringify(manifest));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }

  /** Replaces this index with the one saved in `dir`; false (index left empty) when there is none or it is unreadable. */
  async load(dir: string): Promise<boolean> {
    this.clear();
    let manifest: Manifest;
    let bin: Buffer;
    try {
      manifest = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Manifest;
      bin = await readFile(join(dir, "flat.bin"));
      if (manifest.version !== 1) return false;
    } catch {
      return false;
    }
    try {
      const floats = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
      for (const m of manifest.groups) {
        if (m.kind === "flat") {
          const data = new Float32Array(Math.max(4, m.items.length) * m.dim);
          data.set(floats.subarray(m.offset, m.offset + m.items.length * m.dim));
          const items = m.items.map(([id, exactKey]) => ({ id, exactKey }));
          const g: FlatGroup = { kind: "flat", dim: m.dim, data, items, rows: new Map(), dropped: null };
          items.forEach((item, row) => {
            g.rows.set(item.id, row);
            this.#groupOf.set(item.id, m.name);
          });
          this.#groups.set(m.name, g);
        } else {
          const graph = new hnswlib.HierarchicalNSW("ip", m.dim);
          graph.readIndexSync(join(dir, m.file), true);
          graph.setEf(HNSW_EF_SEARCH);
          const g: GraphGroup = {
            kind: "hnsw",
            dim: m.dim,
            graph,
            labels: new Map(),
            byId: new Map(),
            nextLabel: m.nextLabel,
            free: 0,
          };
          for (const [label, id, exactKey] of m.labels) {
            g.labels.set(label, { id, exactKey });
            g.byId.set(id, label);
            this.#groupOf.set(id, m.name);
          }
          g.free = graph.getCurrentCount() - g.labels.size;
          this.#groups.set(m.name, g);
        }
      }
      for (const [name, g] of this.#groups) {
        if (g.kind === "flat" && g.items.length * g.dim > FLAT_LIMIT) this.#startPromotion(name, g);
      }
      return true;
    } catch {
      this.clear();
      return false;
    }
  }
}

type Manifest = {
  version: 1;
  groups: Array<
    | { name: string; kind: "flat"; dim: number; offset: number; items: Array<[string, string]> }
    | {
        name: string;
        kind: "hnsw";
        dim: number;
        file: string;
        nextLabel: number;
        labels: Array<[number, string, string]>;
      }
  >;
};

function groupIds(g: Group): string[] {
  return g.kind === "flat" ? g.items.map((i) => i.id) : [...g.byId.keys()];
}

function scan(g: FlatGroup, q: Float32Array, threshold: number, k: number): Neighbour[] {
  const { dim, data } = g;
  const best: Neighbour[] = [];
  for (let i = 0, off = 0; i < g.items.length; i++, off += dim) {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += (data[off + j] as number) * (q[j] as number);
    if (dot < threshold || (best.length === k && dot <= (best[k - 1] as Neighbour).similarity)) continue;
    const item = g.items[i] as IndexedItem;
    best.push({ ...item, similarity: Math.min(1, dot) });
    best.sort((a, b) => b.similarity - a.similarity);
    if (best.length > k) best.pop();
  }
  return best;
}

function newFlat(dim: number): FlatGroup {
  return { kind: "flat", dim, data: new Float32Array(dim * 4), items: [], rows: new Map(), dropped: null };
}

function newGraph(dim: number, capacity: number): GraphGroup {
  const graph = new hnswlib.HierarchicalNSW("ip", dim);
  graph.initIndex({
    maxElements: Math.max(1024, capacity),
    m: HNSW_M,
    efConstruction: HNSW_EF_CONSTRUCTION,
    allowReplaceDeleted: true,
  });
  graph.setEf(HNSW_EF_SEARCH);
  return { kind: "hnsw", dim, graph, labels: new Map(), byId: new Map(), nextLabel: 0, free: 0 };
}

function addToGraph(g: GraphGroup, v: Float32Array, item: IndexedItem): void {
  const label = g.nextLabel++;
  const point = Array.from(v);
  if (g.free > 0) {
    g.graph.addPoint(point, label, true);
    g.free -= 1;
  } else {
    if (g.graph.getCurrentCount() >= g.graph.getMaxElements()) g.graph.resizeIndex(g.graph.getMaxElements() * 2);
    g.graph.addPoint(point, label);
  }
  g.labels.set(label, item);
  g.byId.set(item.id, label);
}

export function normalised(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(vector.length);
  if (norm === 0) return out;
  for (let i = 0; i < vector.length; i++) out[i] = (vector[i] as number) / norm;
  return out;
}
