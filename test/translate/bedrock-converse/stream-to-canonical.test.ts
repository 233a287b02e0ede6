import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createConverseStreamMeter } from "../../../src/dialects/bedrock-converse/stream-meter.ts";
import { convertConverseUsage } from "../../../src/dialects/bedrock-converse/usage.ts";
import { converseStreamToCanonical } from "../../../src/translate/bedrock-converse/stream-to-canonical.ts";
import type { SseEvent } from "../../../src/translate/canonical.ts";
import { collect, runMapper } from "../gemini/helpers.ts";
import { fixtureEvents, STREAM_FIXTURES, sseText } from "./helpers.ts";

function replay(events: SseEvent[]) {
  const meter = createConverseStreamMeter();
  meter.push(new TextEncoder().encode(sseText(events)));
  meter.end();
  return { c: collect(runMapper(converseStreamToCanonical, events)), metered: meter.result() };
}

function metadataUsage(events: SseEvent[]) {
  const metadata = events.find((e) => e.event === "metadata");
  assert.ok(metadata);
  return convertConverseUsage((JSON.parse(metadata.data) as { usage: unknown }).usage);
}

describe("bedrock converse stream → canonical: recorded streams", () => {
  for (const name of STREAM_FIXTURES) {
    it(`${name}: finishes once, with the metadata usage the meter bills`, () => {
      const events = fixtureEvents(name);
      const { c, metered } = replay(events);
      assert.equal(c.error, null);
      assert.ok(c.finish);
      assert.deepEqual(c.finish.usage, metadataUsage(events));
      assert.deepEqual(metered.usage, c.finish.usage);
      assert.equal(metered.finished, true);
      assert.equal(metered.estimated, false);
    });
  }

  it("text: deltas joined into one text block, end_turn → end", () => {
    const { c } = replay(fixtureEvents("bedrock-text.chunks.txt"));
    assert.deepEqual(c.parts, [
      {
        type: "text",
        text: 'Let me count the "r"s in "strawberry":\n\ns-t-**r**-a-w-b-e-**r**-**r**-y\n\nThere are **3** r\'s in "strawberry."',
      },
    ]);
    assert.deepEqual(c.finish?.stop, { unified: "end", raw: "end_turn" });
    assert.deepEqual(c.finish?.usage, {
      input: 22,
      cacheRead: 0,
      cacheWrite5m: 0,
      cacheWrite1h: 0,
      output: 55,
      reasoning: 0,
    });
  });

  it("reasoning: the thinking text and its signature (Bedrock's, tagged so), then the answer", () => {
    const { c } = replay(fixtureEvents("bedrock-reasoning.chunks.txt"));
    const [reasoning, text] = c.parts;
    assert.ok(reasoning?.type === "reasoning");
    assert.match(reasoning.text, /^Let me count the r's in "strawberry":/);
    assert.equal(reasoning.opaque?.dialect, "bedrock-converse");
    assert.equal(reasoning.opaque?.kind, "signature");
    assert.match(reasoning.opaque?.value ?? "", /^Ep0CCkgICxAB/);
    assert.ok(text?.type === "text" && text.text.startsWith("There are **3**"));
  });

  it("tool call: id and name from contentBlockStart, arguments from the input fragments; metadata before messageStop", () => {
    const { c } = replay(fixtureEvents("bedrock-tool-call.1.chunks.txt"));
    assert.deepEqual(c.parts, [
      { type: "tool-call", id: "tool-use-id", name: "test-tool", arguments: '{"value":"Sparkle Day"}' },
    ]);
    assert.deepEqual(c.finish?.stop, { unified: "tool-calls", raw: "tool_use" });
    assert.equal(c.finish?.usage.input, 125);
  });

  it("max_tokens → max-tokens", () => {
    const { c } = replay(fixtureEvents("issue-17523-converse-stream.chunks.txt"));
    assert.deepEqual(c.finish?.stop, { unified: "max-tokens", raw: "max_tokens" });
  });

  it("a stream cut before messageStop ends with an error; the meter flags its output as estimated", () => {
    const events = fixtureEvents("bedrock-text.chunks.txt").slice(0, 6);
    const { c, metered } = replay(events);
    assert.equal(c.finish, null);
    assert.equal(c.error?.type, "upstream_error");
    assert.equal(metered.finished, false);
    assert.equal(metered.estimated, true);
    assert.ok(metered.usage.output > 0);
  });

  it("an exception mid-stream becomes the canonical error, and the meter's in-band error", () => {
    const events: SseEvent[] = [
      ...fixtureEvents("bedrock-text.chunks.txt").slice(0, 3),
      { event: "throttlingException", data: '{"message":"Too many tokens, please wait before trying again."}' },
    ];
    const { c, metered } = replay(events);
    assert.deepEqual(c.error, {
      type: "throttlingException",
      message: "Too many tokens, please wait before trying again.",
    });
    assert.deepEqual(metered.error, {
      type: "throttlingException",
      message: "Too many tokens, please wait before trying again.",
    });
  });

  it("messageStop without metadata still finishes (usage unknown here, not an error)", () => {
    const events = fixtureEvents("bedrock-text.chunks.txt").filter((e) => e.event !== "metadata");
    const { c, metered } = replay(events);
    assert.equal(c.error, null);
    assert.equal(c.finish?.stop.unified, "end");
    assert.equal(metered.estimated, true);
  });
});
