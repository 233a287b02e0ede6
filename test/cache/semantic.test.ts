import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { semanticQuery } from "../../src/cache/semantic.ts";
import { SemanticIndex } from "../../src/cache/semantic-index.ts";

const config = { embeddingModel: "e/m", threshold: 0.9, allowTemperature: false, allowToolResults: false };
const body = (over: Record<string, unknown> = {}) => ({
  model: "claude-sonnet-4-5",
  max_tokens: 100,
  temperature: 0,
  system: "Be brief.",
  messages: [
    { role: "user", content: "first question" },
    { role: "assistant", content: "first answer" },
    { role: "user", content: "explain this function" },
  ],
  ...over,
});

test("the semantic query is the last user turn, keyed by everything before it", () => {
  const a = semanticQuery("anthropic", body(), "m", config);
  assert.equal(a?.text, "explain this function");
  const lastChanged = body();
  (lastChanged.messages as Array<{ content: string }>)[2] = { role: "user", content: "describe it" } as never;
  assert.equal(semanticQuery("anthropic", lastChanged, "m", config)?.contextKey, a?.contextKey);
  // Session metadata is volatile; the context key ignores it.
  assert.equal(
    semanticQuery("anthropic", body({ metadata: { user_id: "s1" } }), "m", config)?.contextKey,
    a?.contextKey,
  );
  const earlier = body();
  (earlier.messages as Array<{ content: string }>)[0] = { role: "user", content: "another question" } as never;
  for (const other of [
    semanticQuery("anthropic", body(), "other-model", config),
    semanticQuery("anthropic", body({ system: "Be verbose." }), "m", config),
    semanticQuery("anthropic", body({ tools: [{ name: "t", input_schema: { type: "object" } }] }), "m", config),
    semanticQuery("anthropic", earlier, "m", config),
  ]) {
    assert.ok(other);
    assert.notEqual(other.contextKey, a?.contextKey);
  }
});

test("temperature above 0 (or unset) and tool results are not served semantically unless allowed", () => {
  assert.equal(semanticQuery("anthropic", body({ temperature: 0.7 }), "m", config), null);
  const unset = body();
  delete (unset as { temperature?: number }).temperature;
  assert.equal(semanticQuery("anthropic", unset, "m", config), null);
  assert.ok(semanticQuery("anthropic", body({ temperature: 0.7 }), "m", { ...config, allowTemperature: true }));
  const toolTurn = body({
    messages: [
      { role: "user", content: "weather?" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "w", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny" }] },
    ],
    tools: [{ name: "w", input_schema: { type: "object" } }],
  });
  assert.equal(semanticQuery("anthropic", toolTurn, "m", config), null);
  assert.equal(semanticQuery("anthropic", toolTurn, "m", { ...config, allowToolResults: true })?.text, "sunny");
});

const item = (id: string) => ({ id, exactKey: `k-${id}` });

/** mulberry32: reproducible random vectors (a float LCG loses bits and repeats vectors). */
function randomVectors(dim: number, seed0: number) {
  let seed = seed0;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  return {
    vec: () => Float32Array.from({ length: dim }, rand),
    noisy: (v: Float32Array) => Float32Array.from(v, (x) => x + rand() * 0.02),
  };
}

test("the index returns the nearest vectors of its group at or above the threshold, most similar first", () => {
  const index = new SemanticIndex();
  index.add("p", Float32Array.from([1, 0, 0]), item("a"));
  index.add("p", Float32Array.from([0, 1, 0]), item("b"));
  index.add("q", Float32Array.from([1, 1, 0]), item("c"));
  assert.deepEqual(
    index.nearest("p", Float32Array.from([2, 0.1, 0]), 0.9).map((n) => n.exactKey),
    ["k-a"],
  );
  assert.deepEqual(index.nearest("p", Float32Array.from([1, 1, 0]), 0.9), []);
  assert.deepEqual(
    index.nearest("p", Float32Array.from([1, 0.9, 0]), 0.5).map((n) => n.id),
    ["a", "b"],
  );
  assert.equal(index.nearest("q", Float32Array.from([1, 1, 0]), 0.99)[0]?.id, "c");
  assert.deepEqual(index.nearest("r", Float32Array.from([1, 0, 0]), 0), []);
  // Re-adding an id moves it (its old vector is gone).
  index.add("p", Float32Array.from([0, 0, 1]), item("a"));
  assert.equal(index.size, 3);
  assert.equal(index.nearest("p", Float32Array.from([0, 0, 1]), 0.9)[0]?.id, "a");
  assert.deepEqual(index.nearest("p", Float32Array.from([1, 0, 0]), 0.9), []);
  index.remove("a");
  index.remove("unknown");
  assert.equal(index.size, 2);
  assert.deepEqual(index.nearest("p", Float32Array.from([0, 0, 1]), 0.5), []);
});

test("a large group becomes an HNSW graph: noisy copies find their original, removed labels are never returned, slots are reused", async () => {
  const dim = 64;
  const { vec, noisy } = randomVectors(dim, 11);
  const index = new SemanticIndex();
  const vectors: Float32Array[] = [];
  // 64 × 5,000 is well past the flat limit (262,144 floats): the group is a graph, the small one stays flat.
  for (let i = 0; i < 5000; i++) {
    const v = vec();
    vectors.push(v);
    index.add("big", v, item(`b${i}`));
  }
  index.add("small", vectors[0] as Float32Array, item("s0"));
  // The graph is built in slices; the flat array answers meanwhile.
  assert.equal(index.groupKind("big"), "flat");
  assert.equal(index.nearest("big", vectors[7] as Float32Array, 0.99)[0]?.id, "b7");
  await index.settled();
  assert.equal(index.groupKind("big"), "hnsw");
  assert.equal(index.groupKind("small"), "flat");
  let found = 0;
  for (let i = 0; i < 5000; i += 25)
    if (index.nearest("big", noisy(vectors[i] as Float32Array), 0.9)[0]?.id === `b${i}`) found++;
  assert.ok(found >= 195, `recall@1 ${found}/200`);
  assert.deepEqual(
    index.nearest("small", vectors[0] as Float32Array, 0.99).map((n) => n.id),
    ["s0"],
  );
  for (let i = 0; i < 100; i++) index.remove(`b${i}`);
  assert.equal(index.size, 4901);
  for (let i = 0; i < 100; i++) {
    const ids = index.nearest("big", vectors[i] as Float32Array, 0).map((n) => n.id);
    assert.ok(!ids.includes(`b${i}`), `b${i} was removed`);
  }
  // New vectors take the deleted slots and are found.
  for (let i = 0; i < 100; i++) index.add("big", vectors[i] as Float32Array, item(`n${i}`));
  assert.equal(index.size, 5001);
  assert.equal(index.nearest("big", vectors[42] as Float32Array, 0.99)[0]?.id, "n42");
});

test("the index saves to a directory and loads back the same answers (flat groups and graphs)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-semantic-"));
  try {
    const { vec } = randomVectors(64, 3);
    const index = new SemanticIndex();
    const vectors: Float32Array[] = [];
    for (let i = 0; i < 4500; i++) {
      const v = vec();
      vectors.push(v);
      index.add(i < 4200 ? "big" : `g${i % 3}`, v, item(`x${i}`));
    }
    await index.settled();
    assert.equal(index.groupKind("big"), "hnsw");
    index.remove("x7");
    index.remove("x4300");
    await index.save(join(dir, "semantic"));
    const loaded = new SemanticIndex();
    assert.equal(await loaded.load(join(dir, "semantic")), true);
    assert.equal(loaded.size, 4498);
    assert.equal(loaded.groupKind("big"), "hnsw");
    for (const i of [0, 1, 2000, 4199, 4201, 4499]) {
      const group = i < 4200 ? "big" : `g${i % 3}`;
      assert.deepEqual(
        loaded.nearest(group, vectors[i] as Float32Array, 0.9),
        index.nearest(group, vectors[i] as Float32Array, 0.9),
      );
      assert.equal(loaded.nearest(group, vectors[i] as Float32Array, 0.99)[0]?.id, `x${i}`);
    }
    assert.equal(loaded.has("x7"), false);
    assert.equal(loaded.has("x4300"), false);
    // The loaded graph keeps taking adds and removals.
    loaded.add("big", vectors[7] as Float32Array, item("again"));
    assert.equal(loaded.nearest("big", vectors[7] as Float32Array, 0.99)[0]?.id, "again");
    assert.equal(await new SemanticIndex().load(join(dir, "missing")), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("adds, replacements and removals while a graph is being built all land in it", async () => {
  const dim = 64;
  const { vec } = randomVectors(dim, 5);
  const index = new SemanticIndex();
  const vectors = new Map<string, Float32Array>();
  const removed = new Map<string, Float32Array>();
  const put = (id: string) => {
    const v = vec();
    vectors.set(id, v);
    index.add("g", v, item(id));
  };
  for (let i = 0; i < 4200; i++) put(`a${i}`);
  const building = index.settled();
  // Interleave with the slices: remove early and late rows, replace some, add new ones.
  for (let round = 0; round < 20; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    for (const id of [`a${round}`, `a${4199 - round}`]) {
      index.remove(id);
      removed.set(id, vectors.get(id) as Float32Array);
      vectors.delete(id);
    }
    put(`a${100 + round}`);
    put(`n${round}`);
  }
  await building;
  await index.settled();
  assert.equal(index.groupKind("g"), "hnsw");
  assert.equal(index.size, vectors.size);
  for (const [id, v] of vectors) {
    if (id.startsWith("n") || /^a1[01]\d$/.test(id) || Number(id.slice(1)) % 97 === 0) {
      assert.equal(index.nearest("g", v, 0.99)[0]?.id, id, id);
    }
  }
  assert.equal(removed.size, 40);
  for (const [id, v] of removed) {
    assert.ok(!index.has(id), id);
    assert.ok(!index.nearest("g", v, 0).some((n) => n.id === id), `${id} was removed during the build`);
  }
});
