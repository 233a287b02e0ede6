import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StreamMetering } from "../../src/dialects/dialect.ts";
import { createOpenAiResponsesStreamMeter, meterResponsesBody } from "../../src/dialects/openai-responses/index.ts";
import {
  assertMeteredAllWays,
  buildWire,
  fixtureJson,
  fixtureLines,
  LINE_ENDINGS,
  runMeter,
  usage,
} from "./helpers.ts";

function completed(servedModel: string, u: ReturnType<typeof usage>): StreamMetering {
  return {
    usage: u,
    servedModel,
    estimated: false,
    finished: true,
    contentStarted: true,
    error: null,
    stopReason: "completed",
  };
}

const QUOTA_MESSAGE =
  "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.";

/** The four agent steps recorded one after another in one file: split at each response.created. */
function encryptedContentSteps(): string[][] {
  const steps: string[][] = [];
  for (const line of fixtureLines("openai-responses/openai-reasoning-encrypted-content.1.chunks.txt")) {
    if (line.includes('"type":"response.created"')) steps.push([]);
    steps.at(-1)?.push(line);
  }
  return steps;
}

describe("OpenAI Responses stream meter: recorded streams", () => {
  const cases: [string, string[], StreamMetering][] = [
    [
      "issue-19493-gpt-5.1-tool-call",
      fixtureLines("openai-responses/issue-19493-gpt-5.1-tool-call.chunks.txt"),
      completed("gpt-5.1-2025-11-13", usage(45, 0, 0, 0, 25, 0)),
    ],
    [
      "issue-20047-openai-responses",
      fixtureLines("openai-responses/issue-20047-openai-responses.chunks.txt"),
      completed("gpt-4o-mini-2024-07-18", usage(12, 0, 0, 0, 2, 0)),
    ],
    [
      // error event (insufficient_quota), then response.failed with usage null: nothing generated, nothing known.
      "openai-error.1",
      fixtureLines("openai-responses/openai-error.1.chunks.txt"),
      {
        usage: usage(0, 0, 0, 0, 0, 0),
        servedModel: "gpt-5-nano-2025-08-07",
        estimated: true,
        finished: true,
        contentStarted: false,
        error: { type: "insufficient_quota", message: QUOTA_MESSAGE },
        stopReason: "failed",
      },
    ],
  ];
  const stepUsages = [
    usage(134, 0, 0, 0, 28, 0),
    usage(221, 0, 0, 0, 26, 0),
    usage(260, 0, 0, 0, 26, 0),
    usage(299, 0, 0, 0, 12, 0),
  ];
  encryptedContentSteps().forEach((lines, i) => {
    cases.push([
      `openai-reasoning-encrypted-content.1 step ${i + 1}`,
      lines,
      completed("gpt-5.1-codex-max", stepUsages[i] ?? usage(0, 0, 0, 0, 0, 0)),
    ]);
  });

  it("the encrypted-content file holds four responses", () => {
    assert.equal(encryptedContentSteps().length, 4);
  });

  for (const [name, lines, expected] of cases) {
    it(`${name}: exact usage, model, status, however the bytes are split`, () => {
      for (const eol of LINE_ENDINGS) {
        assertMeteredAllWays(
          createOpenAiResponsesStreamMeter,
          buildWire(lines, { named: true, done: false, eol }),
          expected,
        );
      }
    });
  }

  it("accepts a trailing data: [DONE] and streams without event: lines", () => {
    const lines = fixtureLines("openai-responses/issue-20047-openai-responses.chunks.txt");
    for (const named of [true, false]) {
      const result = runMeter(createOpenAiResponsesStreamMeter(), [
        new TextEncoder().encode(buildWire(lines, { named, done: true })),
      ]);
      assert.deepEqual(result, completed("gpt-4o-mini-2024-07-18", usage(12, 0, 0, 0, 2, 0)));
    }
  });
});

/** Characters of output and reasoning deltas, computed by parsing (the oracle). */
function deltaChars(lines: string[]): { out: number; reasoning: number } {
  let out = 0;
  let reasoning = 0;
  for (const line of lines) {
    const event = JSON.parse(line) as { type: string; delta?: string };
    if (event.type === "response.output_text.delta" || event.type === "response.function_call_arguments.delta") {
      out += (event.delta ?? "").length;
    }
    if (event.type === "response.reasoning_summary_text.delta") reasoning += (event.delta ?? "").length;
  }
  return { out, reasoning };
}

describe("OpenAI Responses stream meter: streams cut short", () => {
  it("before response.completed: input 0, output estimated, model from response.created", () => {
    for (const lines of [
      ...encryptedContentSteps(),
      fixtureLines("openai-responses/issue-19493-gpt-5.1-tool-call.chunks.txt"),
    ]) {
      for (let k = 1; k < lines.length; k++) {
        const cut = lines.slice(0, k);
        const { out, reasoning } = deltaChars(cut);
        const result = runMeter(createOpenAiResponsesStreamMeter(), [
          new TextEncoder().encode(buildWire(cut, { named: true, done: false })),
        ]);
        const r = Math.ceil(reasoning / 4);
        assert.deepEqual(result.usage, usage(0, 0, 0, 0, Math.ceil(out / 4) + r, r), `cut at ${k}`);
        assert.equal(result.estimated, true);
        assert.equal(result.finished, false);
        assert.notEqual(result.servedModel, null);
        assert.equal(result.contentStarted, out + reasoning > 0);
      }
    }
  });

  it("response.incomplete carries usage and its reason", () => {
    const events = [
      { type: "response.created", response: { model: "gpt-x", status: "in_progress" } },
      { type: "response.output_text.delta", delta: "partial" },
      {
        type: "response.incomplete",
        response: {
          object: "response",
          model: "gpt-x",
          status: "incomplete",
          incomplete_details: { reason: "max_output_tokens" },
          usage: {
            input_tokens: 100,
            input_tokens_details: { cached_tokens: 40, cache_write_tokens: 10 },
            output_tokens: 16,
            output_tokens_details: { reasoning_tokens: 9 },
            total_tokens: 116,
          },
        },
      },
    ].map((e) => JSON.stringify(e));
    const result = runMeter(createOpenAiResponsesStreamMeter(), [
      new TextEncoder().encode(buildWire(events, { named: true, done: false })),
    ]);
    assert.deepEqual(result, {
      usage: usage(50, 40, 10, 0, 16, 9),
      servedModel: "gpt-x",
      estimated: false,
      finished: true,
      contentStarted: true,
      error: null,
      stopReason: "max_output_tokens",
    });
  });

  it("reads an error event whose fields are at the top level (openai-node's shape)", () => {
    const wire = buildWire(
      ['{"type":"error","code":"server_error","message":"boom","param":null,"sequence_number":3}'],
      {
        named: true,
        done: false,
      },
    );
    const result = runMeter(createOpenAiResponsesStreamMeter(), [new TextEncoder().encode(wire)]);
    assert.deepEqual(result.error, { type: "server_error", message: "boom" });
  });
});

describe("OpenAI Responses meterBody", () => {
  const cases: [string, ReturnType<typeof usage>, string][] = [
    ["issue-20047-openai-responses.json", usage(12, 0, 0, 0, 2, 0), "gpt-4o-mini-2024-07-18"],
    ["issue-19921-prompt-cache-breakpoint.json", usage(43, 0, 0, 0, 14, 0), "gpt-5.6-sol"],
    // 7243 input of which 3072 cached; 423 output of which 58 reasoning.
    ["openai-phase.1.json", usage(4171, 3072, 0, 0, 423, 58), "gpt-5.3-codex"],
    // The file starts with a blank line; 865 in, 163 out of which 128 reasoning.
    ["openai-reasoning-encrypted-content.1.json", usage(865, 0, 0, 0, 163, 128), "gpt-5-mini-2025-08-07"],
  ];
  for (const [file, expected, model] of cases) {
    it(file, () => {
      assert.deepEqual(meterResponsesBody(fixtureJson(`openai-responses/${file}`)), {
        usage: expected,
        servedModel: model,
        estimated: false,
      });
    });
  }

  for (const file of ["openai-error.1.json", "reasoning-model-temperature-error.json"]) {
    it(`${file}: an error body costs nothing`, () => {
      assert.deepEqual(meterResponsesBody(fixtureJson(`openai-responses/${file}`)), {
        usage: usage(0, 0, 0, 0, 0, 0),
        servedModel: null,
        estimated: false,
      });
    });
  }

  it("estimates a Response without usage from its output items", () => {
    const body = {
      object: "response",
      model: "m",
      usage: null,
      output: [
        { type: "reasoning", summary: [{ type: "summary_text", text: "12345678" }] },
        { type: "message", content: [{ type: "output_text", text: "1234" }] },
        { type: "function_call", arguments: '{"a":1}' },
      ],
    };
    assert.deepEqual(meterResponsesBody(body), {
      usage: usage(0, 0, 0, 0, 3 + 2, 2),
      servedModel: "m",
      estimated: true,
    });
  });
});
