import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Dialect } from "../../src/dialects/dialect.ts";
import { createBodyMeter, createStreamMeter, meterBody } from "../../src/dialects/meters.ts";
import { meterEmbeddingsBody } from "../../src/dialects/openai-embeddings/index.ts";
import { everyByte, fixtureJson, fixtureText, randomSplit, runMeter, seededRandom, usage } from "./helpers.ts";

/** An OpenAI embeddings response (shape from openai-node's CreateEmbeddingResponse). */
function embeddingsBody(vectors: number, dims: number): string {
  const data = Array.from({ length: vectors }, (_, index) => ({
    object: "embedding",
    index,
    embedding: Array.from({ length: dims }, (_, i) => Math.sin(index + i) / 3),
  }));
  return JSON.stringify({
    object: "list",
    data,
    model: "text-embedding-3-small",
    usage: { prompt_tokens: 57, total_tokens: 57 },
  });
}

describe("embeddings", () => {
  it("meterBody: input only, from usage.prompt_tokens", () => {
    assert.deepEqual(meterEmbeddingsBody(JSON.parse(embeddingsBody(2, 3))), {
      usage: usage(57, 0, 0, 0, 0, 0),
      servedModel: "text-embedding-3-small",
      estimated: false,
    });
    assert.deepEqual(meterBody("openai-embeddings", { error: { message: "x", type: "invalid_request_error" } }), {
      usage: usage(0, 0, 0, 0, 0, 0),
      servedModel: null,
      estimated: false,
    });
  });

  it("the stream meter buffers the body and meters it at end()", () => {
    const bytes = new TextEncoder().encode(embeddingsBody(3, 8));
    const result = runMeter(createStreamMeter("openai-embeddings"), randomSplit(bytes, seededRandom(3), 50));
    assert.deepEqual(result, {
      usage: usage(57, 0, 0, 0, 0, 0),
      servedModel: "text-embedding-3-small",
      estimated: false,
      finished: true,
      contentStarted: true,
      error: null,
      stopReason: null,
    });
  });

  it("a body over the buffer limit is read from its edges, not buffered", () => {
    const body = embeddingsBody(200, 256);
    assert.ok(body.length > 500_000);
    const bytes = new TextEncoder().encode(body);
    const meter = createBodyMeter("openai-embeddings", { maxBytes: 100_000 });
    const result = runMeter(meter, randomSplit(bytes, seededRandom(4), 4096));
    assert.deepEqual(result.usage, usage(57, 0, 0, 0, 0, 0));
    assert.equal(result.servedModel, "text-embedding-3-small");
    assert.equal(result.estimated, false);
  });
});

describe("createBodyMeter: non-streaming replies forwarded as bytes", () => {
  const cases: [Dialect, string][] = [
    ["anthropic", "anthropic/anthropic-text.json"],
    ["openai-chat", "deepseek/deepseek-tool-call.json"],
    ["openai-responses", "openai-responses/openai-phase.1.json"],
    ["gemini", "google/issue-19822-complete-usage.json"],
  ];
  for (const [dialect, file] of cases) {
    it(`${dialect}: ${file} byte by byte gives meterBody's answer`, () => {
      const expected = meterBody(dialect, fixtureJson(file));
      const result = runMeter(createBodyMeter(dialect), everyByte(new TextEncoder().encode(fixtureText(file))));
      assert.deepEqual(result, { ...expected, finished: true, contentStarted: true, error: null, stopReason: null });
    });
  }

  it("a truncated body is unfinished and estimated from its size", () => {
    const text = fixtureText("anthropic/anthropic-text.json");
    const result = runMeter(createBodyMeter("anthropic"), [new TextEncoder().encode(text.slice(0, 400))]);
    assert.equal(result.finished, false);
    assert.equal(result.estimated, true);
    assert.equal(result.usage.output, 100);
  });

  it("an error body in a 200 is reported as an in-band error", () => {
    const text = fixtureText("google/google-429-retry-info.json");
    const result = runMeter(createBodyMeter("gemini"), [new TextEncoder().encode(text)]);
    assert.deepEqual(result.error, {
      type: "RESOURCE_EXHAUSTED",
      message: "You exceeded your current quota, please check your plan.",
    });
  });
});

describe("registry", () => {
  it("createStreamMeter and meterBody answer for every dialect", () => {
    const dialects: Dialect[] = ["anthropic", "openai-chat", "openai-responses", "openai-embeddings", "gemini"];
    for (const dialect of dialects) {
      const result = runMeter(createStreamMeter(dialect), []);
      assert.equal(result.finished, false, dialect);
      assert.equal(result.estimated, true, dialect);
      assert.deepEqual(meterBody(dialect, null).usage, usage(0, 0, 0, 0, 0, 0), dialect);
    }
  });
});
