import assert from "node:assert/strict";
import { it } from "node:test";
import { anthropicModelTraits } from "../../../src/translate/anthropic/model-traits.ts";

it("reads adaptive-thinking support from model ids (dated, Bedrock/Vertex-style, custom)", () => {
  const cases: [string, boolean, boolean][] = [
    ["claude-sonnet-4-5-20250929", false, false],
    ["claude-haiku-4-5-20251001", false, false],
    ["claude-opus-4-20250514", false, false],
    ["claude-opus-4-1-20250805", false, false],
    ["claude-3-7-sonnet-20250219", false, false],
    ["claude-sonnet-4-6", true, false],
    ["claude-opus-4-6", true, false],
    ["claude-opus-4-7", true, true],
    ["anthropic.claude-opus-4-8-v1:0", true, true],
    ["claude-sonnet-5", true, true],
    ["claude-opus-5-1-20270101", true, true],
    ["claude-fable-5", true, true],
    ["claude-mythos-preview", true, true],
    ["my-company-llm", false, false],
  ];
  for (const [model, adaptiveThinking, adaptiveOnly] of cases) {
    assert.deepEqual(anthropicModelTraits(model), { adaptiveThinking, adaptiveOnly }, model);
  }
});
