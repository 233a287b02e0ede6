import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { meterConverseBody } from "../../../src/dialects/bedrock-converse/usage.ts";
import { canonicalToConverseResponse } from "../../../src/translate/bedrock-converse/canonical-to-response.ts";
import { converseResponseToCanonical } from "../../../src/translate/bedrock-converse/response-to-canonical.ts";
import { fixtureJson } from "./helpers.ts";

describe("bedrock converse responses", () => {
  for (const name of [
    "amazon-bedrock-text.json",
    "amazon-bedrock-reasoning.json",
    "issue-17267-parallel-tool-calls.json",
    "amazon-bedrock-guard-content-intervened.json",
  ]) {
    it(`${name}: usage equals the body meter's; canonical → Converse → canonical keeps the content`, () => {
      const body = fixtureJson(name);
      const canonical = converseResponseToCanonical(body);
      assert.deepEqual(canonical.usage, meterConverseBody(body).usage);
      const again = converseResponseToCanonical(canonicalToConverseResponse(canonical, "m"));
      assert.deepEqual(again.content, canonical.content);
      assert.deepEqual(again.stop, canonical.stop);
      assert.deepEqual(again.usage, canonical.usage);
    });
  }

  it("parallel tool calls keep their ids; tool_use → tool-calls", () => {
    const c = converseResponseToCanonical(fixtureJson("issue-17267-parallel-tool-calls.json"));
    assert.deepEqual(
      c.content.map((p) => (p.type === "tool-call" ? [p.id, p.name, p.arguments] : p.type)),
      [
        "text",
        ["tooluse_hr5juciYZJwUHpRczsw13R", "get_resistor_value", '{"ref":"R1"}'],
        ["tooluse_AZHw3Ym0S07qOv5NlXj9iJ", "get_capacitor_value", '{"ref":"C1"}'],
      ],
    );
    assert.deepEqual(c.stop, { unified: "tool-calls", raw: "tool_use" });
    assert.deepEqual(c.usage, {
      input: 694,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      output: 110,
      reasoning: 0,
    });
  });

  it("reasoning keeps Bedrock's signature; a guardrail stop is a content filter", () => {
    const reasoning = converseResponseToCanonical(fixtureJson("amazon-bedrock-reasoning.json")).content[0];
    assert.ok(reasoning?.type === "reasoning" && reasoning.opaque?.dialect === "bedrock-converse");
    const guard = converseResponseToCanonical(fixtureJson("amazon-bedrock-guard-content-intervened.json"));
    assert.deepEqual(guard.stop, { unified: "content-filter", raw: "guardrail_intervened" });
  });

  it("cache reads and writes are their own buckets; another provider's signature never reaches the client", () => {
    const usage = meterConverseBody({
      output: { message: { role: "assistant", content: [] } },
      usage: {
        inputTokens: 10,
        outputTokens: 5,
        cacheReadInputTokens: 300,
        cacheWriteInputTokens: 40,
        totalTokens: 355,
      },
    }).usage;
    assert.deepEqual(usage, { input: 10, cacheRead: 300, cacheWrite5m: 40, cacheWrite1h: 0, output: 5, reasoning: 0 });
    const out = canonicalToConverseResponse(
      {
        id: "",
        model: "",
        content: [
          { type: "reasoning", text: "hmm", opaque: { dialect: "anthropic", kind: "signature", value: "sig" } },
        ],
        stop: { unified: "end", raw: null },
        usage,
      },
      "m",
    );
    assert.deepEqual(out.output, {
      message: { role: "assistant", content: [{ reasoningContent: { reasoningText: { text: "hmm" } } }] },
    });
    assert.deepEqual(out.usage, {
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 355,
      cacheReadInputTokens: 300,
      cacheWriteInputTokens: 40,
    });
  });

  it("an error body is not a response (the caller reports a bad upstream answer); it meters as nothing", () => {
    const body = (fixtureJson("amazon-bedrock-empty-message-validation-error.json") as { body: unknown }).body;
    assert.throws(() => converseResponseToCanonical(body));
    assert.equal(meterConverseBody(body).usage.input, 0);
  });
});
