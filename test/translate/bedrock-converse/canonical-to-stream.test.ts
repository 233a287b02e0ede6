import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anthropicStreamToCanonical } from "../../../src/translate/anthropic/stream-to-canonical.ts";
import { converseCanonicalToStream } from "../../../src/translate/bedrock-converse/canonical-to-stream.ts";
import { converseStreamToCanonical } from "../../../src/translate/bedrock-converse/stream-to-canonical.ts";
import type { CanonicalStreamEvent } from "../../../src/translate/canonical.ts";
import { fixtureWire, sseEvents } from "../anthropic/helpers.ts";
import { collect, runMapper } from "../gemini/helpers.ts";
import { fixtureEvents } from "./helpers.ts";

function toConverse(events: CanonicalStreamEvent[]): string {
  return runMapper(converseCanonicalToStream(), events).join("");
}

describe("canonical → ConverseStream events", () => {
  it("recorded Converse streams survive Converse → canonical → Converse → canonical", () => {
    for (const name of ["bedrock-text.chunks.txt", "bedrock-reasoning.chunks.txt", "bedrock-tool-call.1.chunks.txt"]) {
      const first = runMapper(converseStreamToCanonical, fixtureEvents(name));
      const second = runMapper(converseStreamToCanonical, sseEvents(toConverse(first)));
      assert.deepEqual(collect(second).parts, collect(first).parts, name);
      assert.deepEqual(collect(second).finish, collect(first).finish, name);
    }
  });

  it("an Anthropic stream (tool call after text) becomes Converse events: no start for text, toolUse start, stop, usage", () => {
    const canonical = runMapper(anthropicStreamToCanonical, sseEvents(fixtureWire("issue-10781.1.chunks.txt")));
    const sse = toConverse(canonical);
    const events = sseEvents(sse);
    const names = events.map((e) => e.event);
    assert.equal(names[0], "messageStart");
    assert.deepEqual(names.slice(-2), ["messageStop", "metadata"]);
    const starts = events.filter((e) => e.event === "contentBlockStart").map((e) => JSON.parse(e.data));
    assert.equal(starts.length, 1);
    assert.equal(starts[0].start.toolUse.name !== undefined, true);
    assert.equal(JSON.parse(events.at(-2)?.data ?? "{}").stopReason, "tool_use");
    const usage = JSON.parse(events.at(-1)?.data ?? "{}").usage;
    const finish = canonical.find((e) => e.type === "finish");
    assert.ok(finish?.type === "finish");
    assert.equal(usage.outputTokens, finish.usage.output);
    assert.equal(usage.inputTokens, finish.usage.input);
    // Anthropic's signature never reaches a Bedrock client as Bedrock's own.
    assert.doesNotMatch(sse, /"signature"/);
  });

  it("an error ends the stream with a Bedrock exception event; a stream with no end gets one too", () => {
    const out = toConverse([
      { type: "start", id: "", model: "" },
      { type: "text-start", block: 0 },
      { type: "text-delta", block: 0, text: "Hi" },
      { type: "error", error: { type: "rate_limit_error", message: "slow down" } },
    ]);
    assert.match(out, /event: throttlingException\ndata: \{"message":"slow down"\}\n\n$/);
    const unfinished = toConverse([{ type: "start", id: "", model: "" }]);
    assert.match(unfinished, /event: modelStreamErrorException\n/);
  });
});
