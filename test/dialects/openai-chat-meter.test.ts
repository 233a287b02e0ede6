import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StreamMetering } from "../../src/dialects/dialect.ts";
import { createOpenAiChatStreamMeter, meterOpenAiChatBody } from "../../src/dialects/openai-chat/index.ts";
import {
  assertMeteredAllWays,
  buildWire,
  fixtureJson,
  fixtureLines,
  LINE_ENDINGS,
  runMeter,
  usage,
} from "./helpers.ts";

function done(servedModel: string, u: ReturnType<typeof usage>, stopReason: string): StreamMetering {
  return { usage: u, servedModel, estimated: false, finished: true, contentStarted: true, error: null, stopReason };
}

/** Expected numbers read from each fixture's usage chunk. */
const STREAMS: [string, StreamMetering][] = [
  // Azure: first chunk has empty model and choices; completion 78 includes reasoning 64 (15 + 78 = 93 total).
  ["openai-chat/azure-model-router.1.chunks.txt", done("gpt-5-nano-2025-08-07", usage(15, 0, 0, 0, 78, 64), "stop")],
  ["openai-chat/issue-15789-step-1.chunks.txt", done("gpt-4o-2024-08-06", usage(58, 0, 0, 0, 12, 0), "tool_calls")],
  // Groq: usage on the finish chunk, at top level and in x_groq.usage.
  ["groq/groq-tool-call.chunks.txt", done("llama-3.3-70b-versatile", usage(210, 0, 0, 0, 15, 0), "tool_calls")],
  // DeepSeek: prompt 339 of which 320 cached (prompt_cache_hit_tokens 320, miss 19); completion 83 includes 39 reasoning.
  ["deepseek/deepseek-tool-call.chunks.txt", done("deepseek-reasoner", usage(19, 320, 0, 0, 83, 39), "tool_calls")],
  // xAI: prompt 291 of which 290 cached; completion 26 EXCLUDES the 196 reasoning tokens (total 513 = 291+26+196).
  ["xai/xai-tool-call.chunks.txt", done("grok-3-mini", usage(1, 290, 0, 0, 222, 196), "tool_calls")],
];

describe("OpenAI chat stream meter: recorded streams", () => {
  for (const [file, expected] of STREAMS) {
    it(`${file}: exact usage, model, finish reason, however the bytes are split`, () => {
      const lines = fixtureLines(file);
      for (const eol of LINE_ENDINGS) {
        assertMeteredAllWays(
          createOpenAiChatStreamMeter,
          buildWire(lines, { named: false, done: true, eol }),
          expected,
        );
      }
    });
  }

  it("groq: reads x_groq.usage when there is no top-level usage", () => {
    const lines = fixtureLines("groq/groq-tool-call.chunks.txt").map((line) => {
      const chunk = JSON.parse(line) as Record<string, unknown>;
      delete chunk.usage;
      return JSON.stringify(chunk);
    });
    const result = runMeter(createOpenAiChatStreamMeter(), [
      new TextEncoder().encode(buildWire(lines, { named: false, done: true })),
    ]);
    assert.deepEqual(result.usage, usage(210, 0, 0, 0, 15, 0));
    assert.equal(result.estimated, false);
  });
});

/** Characters of content (+tool args) and reasoning in the chunks, computed by parsing (the oracle). */
function chunkChars(lines: string[]): { out: number; reasoning: number } {
  let out = 0;
  let reasoning = 0;
  for (const line of lines) {
    const chunk = JSON.parse(line) as {
      choices?: {
        delta?: {
          content?: string | null;
          reasoning_content?: string | null;
          tool_calls?: { function?: { arguments?: string } }[];
        };
      }[];
    };
    for (const choice of chunk.choices ?? []) {
      out += (choice.delta?.content ?? "").length;
      reasoning += (choice.delta?.reasoning_content ?? "").length;
      for (const call of choice.delta?.tool_calls ?? []) out += (call.function?.arguments ?? "").length;
    }
  }
  return { out, reasoning };
}

function meterWire(wire: string): StreamMetering {
  return runMeter(createOpenAiChatStreamMeter(), [new TextEncoder().encode(wire)]);
}

describe("OpenAI chat stream meter: streams cut short", () => {
  for (const [file] of STREAMS) {
    it(`${file}: before the usage chunk, input is unknown (0) and output is estimated`, () => {
      const lines = fixtureLines(file);
      const usageAt = lines.findIndex((l) => /"usage":\{/.test(l));
      for (let k = 1; k <= usageAt; k++) {
        const cut = lines.slice(0, k);
        const { out, reasoning } = chunkChars(cut);
        const result = meterWire(buildWire(cut, { named: false, done: false }));
        const r = Math.ceil(reasoning / 4);
        assert.deepEqual(result.usage, usage(0, 0, 0, 0, Math.ceil(out / 4) + r, r), `${file} cut at ${k}`);
        assert.equal(result.estimated, true);
        assert.equal(result.finished, false);
      }
    });
  }

  it("a stream that ends with [DONE] but no usage (include_usage not asked) is finished and estimated", () => {
    const lines = fixtureLines("openai-chat/issue-15789-step-1.chunks.txt").slice(0, -1);
    const result = meterWire(buildWire(lines, { named: false, done: true }));
    assert.equal(result.finished, true);
    assert.equal(result.estimated, true);
    assert.equal(result.stopReason, "tool_calls");
    assert.equal(result.usage.output, Math.ceil(chunkChars(lines).out / 4));
  });

  it("after the usage chunk but before [DONE] the usage is final but the stream unfinished", () => {
    const lines = fixtureLines("openai-chat/issue-15789-step-1.chunks.txt");
    const result = meterWire(buildWire(lines, { named: false, done: false }));
    assert.equal(result.estimated, false);
    assert.equal(result.finished, false);
    assert.deepEqual(result.usage, usage(58, 0, 0, 0, 12, 0));
  });
});

describe("OpenAI chat stream meter: edge cases", () => {
  it("reports an in-stream error chunk", () => {
    const lines = fixtureLines("openai-chat/issue-15789-step-1.chunks.txt").slice(0, 3);
    const wire = `${buildWire(lines, { named: false, done: false })}data: {"error":{"message":"upstream died","type":"server_error","param":null,"code":null}}\n\n`;
    const result = meterWire(wire);
    assert.deepEqual(result.error, { type: "server_error", message: "upstream died" });
    assert.equal(result.estimated, true);
  });

  it("running usage on every chunk: the latest counts, final only once the finish reason arrives", () => {
    const chunk = (content: string, completion: number, finish: string | null) =>
      JSON.stringify({
        model: "m",
        choices: [{ index: 0, delta: { content }, finish_reason: finish }],
        usage: { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion },
      });
    const lines = [chunk("aaaa", 1, null), chunk("bbbbbbbb", 3, null), chunk("", 3, "stop")];
    const cut = meterWire(buildWire(lines.slice(0, 2), { named: false, done: false }));
    assert.equal(cut.estimated, true);
    assert.deepEqual(cut.usage, usage(10, 0, 0, 0, 3, 0));
    const whole = meterWire(buildWire(lines, { named: false, done: false }));
    assert.equal(whole.estimated, false);
    assert.equal(whole.finished, true);
  });

  it("cache writes reported by a compatible provider leave input", () => {
    const body = {
      model: "m",
      choices: [],
      usage: {
        prompt_tokens: 1000,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: 600, cache_write_tokens: 300 },
      },
    };
    assert.deepEqual(meterOpenAiChatBody(body).usage, usage(100, 600, 300, 0, 5, 0));
  });

  it("counts text with escapes, quotes and key-like content exactly, with or without shortcuts", () => {
    const contents = ['say \\"content\\": \\"x\\"', '"content":"not a key"', "\u00e9\u00e8 \ud83d\ude00 \\u0041"];
    const lines = [
      JSON.stringify({ model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] }),
      ...contents.map((content) => JSON.stringify({ model: "m", choices: [{ index: 0, delta: { content } }] })),
    ];
    const chars = contents.reduce((n, c) => n + c.length, 0);
    for (const shortcuts of [true, false]) {
      const meter = createOpenAiChatStreamMeter({ shortcuts });
      const result = runMeter(meter, [new TextEncoder().encode(buildWire(lines, { named: false, done: false }))]);
      assert.equal(result.usage.output, Math.ceil(chars / 4), `shortcuts ${shortcuts}`);
    }
  });

  it("contentStarted waits for the first real token, not the empty role chunk", () => {
    const meter = createOpenAiChatStreamMeter();
    const lines = fixtureLines("openai-chat/issue-15789-step-1.chunks.txt");
    meter.push(new TextEncoder().encode(buildWire(lines.slice(0, 1), { named: false, done: false })));
    assert.equal(meter.result().contentStarted, false);
    meter.push(new TextEncoder().encode(buildWire(lines.slice(1, 2), { named: false, done: false })));
    assert.equal(meter.result().contentStarted, true);
  });
});

describe("OpenAI chat meterBody", () => {
  const cases: [string, ReturnType<typeof usage>, string][] = [
    ["openai-chat/openai-text.json", usage(16, 0, 0, 0, 363, 0), "gpt-4.1-nano-2025-04-14"],
    ["groq/groq-tool-call.json", usage(218, 0, 0, 0, 15, 0), "llama-3.3-70b-versatile"],
    ["deepseek/deepseek-text.json", usage(13, 0, 0, 0, 300, 0), "deepseek-chat"],
    // prompt 339 with 320 cache hits; completion 92 includes 48 reasoning.
    ["deepseek/deepseek-tool-call.json", usage(19, 320, 0, 0, 92, 48), "deepseek-reasoner"],
  ];
  for (const [file, expected, model] of cases) {
    it(file, () => {
      assert.deepEqual(meterOpenAiChatBody(fixtureJson(file)), {
        usage: expected,
        servedModel: model,
        estimated: false,
      });
    });
  }

  it("openai-chat/reasoning-model-legacy-parameter-error.json: an error body costs nothing", () => {
    assert.deepEqual(meterOpenAiChatBody(fixtureJson("openai-chat/reasoning-model-legacy-parameter-error.json")), {
      usage: usage(0, 0, 0, 0, 0, 0),
      servedModel: null,
      estimated: false,
    });
  });

  it("DeepSeek without prompt_tokens_details: cache hits from prompt_cache_hit_tokens", () => {
    const body = {
      model: "deepseek-chat",
      choices: [],
      usage: { prompt_tokens: 100, completion_tokens: 7, prompt_cache_hit_tokens: 64, prompt_cache_miss_tokens: 36 },
    };
    assert.deepEqual(meterOpenAiChatBody(body).usage, usage(36, 64, 0, 0, 7, 0));
  });

  it("estimates output when a compatible server omits usage", () => {
    const body = { model: "m", choices: [{ index: 0, message: { content: "12345678", reasoning_content: "1234" } }] };
    assert.deepEqual(meterOpenAiChatBody(body), { usage: usage(0, 0, 0, 0, 3, 1), servedModel: "m", estimated: true });
  });
});
