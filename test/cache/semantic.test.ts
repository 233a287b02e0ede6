import assert from "node:assert/strict";
import { test } from "node:test";
import { SemanticIndex, semanticQuery } from "../../src/cache/semantic.ts";

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

test("the index returns the nearest vector of its partition at or above the threshold", () => {
  const index = new SemanticIndex();
  index.add("p", Float32Array.from([1, 0, 0]), "a");
  index.add("p", Float32Array.from([0, 1, 0]), "b");
  index.add("q", Float32Array.from([1, 1, 0]), "c");
  assert.equal(index.nearest("p", Float32Array.from([2, 0.1, 0]), 0.9)?.exactKey, "a");
  assert.equal(index.nearest("p", Float32Array.from([1, 1, 0]), 0.9), null);
  assert.equal(index.nearest("q", Float32Array.from([1, 1, 0]), 0.99)?.exactKey, "c");
  assert.equal(index.nearest("r", Float32Array.from([1, 0, 0]), 0), null);
  index.add("p", Float32Array.from([0, 0, 1]), "a");
  assert.equal(index.size, 3);
  assert.equal(index.nearest("p", Float32Array.from([0, 0, 1]), 0.9)?.exactKey, "a");
});

test("brute-force lookup time at 100,000 entries of 256 dimensions: one partition, and 1,000 partitions", () => {
  const index = new SemanticIndex(200_000);
  const dim = 256;
  let seed = 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const vec = () => Float32Array.from({ length: dim }, rand);
  for (let i = 0; i < 100_000; i++) index.add("p", vec(), `k${i}`);
  for (let i = 0; i < 100_000; i++) index.add(`c${i % 1000}`, vec(), `k${i}`);
  assert.equal(index.size, 200_000);
  const q = vec();
  const time = (partition: string) => {
    index.nearest(partition, q, 0.5);
    const runs = 20;
    const start = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) index.nearest(partition, q, 0.5);
    return Number(process.hrtime.bigint() - start) / 1e6 / runs;
  };
  // Numbers for the note, not a pass mark (they depend on the machine).
  console.log(`semantic lookup, one partition of 100,000 × ${dim}: ${time("p").toFixed(3)} ms`);
  console.log(`semantic lookup, a partition of 100 (100,000 in 1,000 partitions): ${time("c7").toFixed(4)} ms`);
  // The nearest neighbour of a stored vector is itself.
  index.add("c7", q, "query");
  assert.equal(index.nearest("c7", q, 0.999)?.exactKey, "query");
});
