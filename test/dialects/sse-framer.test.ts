import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SseFramer } from "../../src/dialects/shared/sse-framer.ts";
import { everyByte } from "./helpers.ts";

function frame(chunks: Uint8Array[], maxEventChars?: number): [string | undefined, string][] {
  const events: [string | undefined, string][] = [];
  const framer = new SseFramer((event, data) => events.push([event, data]), maxEventChars);
  for (const chunk of chunks) framer.push(chunk);
  framer.end();
  return events;
}

const encode = (s: string) => new TextEncoder().encode(s);

describe("SseFramer (eventsource-parser under the hood)", () => {
  for (const [name, sep, eol] of [
    ["\\n\\n", "\n\n", "\n"],
    ["\\r\\n\\r\\n", "\r\n\r\n", "\r\n"],
    ["\\r\\r", "\r\r", "\r"],
  ]) {
    it(`accepts ${name} between events, byte by byte, with a character split across chunks`, () => {
      const wire = `event: a${eol}data: {"t":"é😀"}${sep}data: {"n":2}${sep}: comment${sep}data: [DONE]${sep}`;
      const expected: [string | undefined, string][] = [
        ["a", '{"t":"é😀"}'],
        [undefined, '{"n":2}'],
        [undefined, "[DONE]"],
      ];
      assert.deepEqual(frame([encode(wire)]), expected);
      assert.deepEqual(frame(everyByte(encode(wire))), expected);
    });
  }

  it("joins multi-line data with \\n", () => {
    assert.deepEqual(frame([encode('data: {"a":\ndata: 1}\n\n')]), [[undefined, '{"a":\n1}']]);
  });

  it("delivers a whole last event that lacks its blank line, but not a torn one", () => {
    assert.deepEqual(frame([encode('data: {"a":1}\n\ndata: {"b":2}')]), [
      [undefined, '{"a":1}'],
      [undefined, '{"b":2}'],
    ]);
    assert.deepEqual(frame([encode('data: {"a":1}\n\ndata: {"b":')]), [[undefined, '{"a":1}']]);
  });

  it("gives up on an oversized event instead of buffering without bound, and never throws", () => {
    const big = `data: ${"x".repeat(100)}`;
    assert.deepEqual(
      frame([encode('data: {"a":1}\n\n'), encode(big), encode(big), encode('\n\ndata: {"b":2}\n\n')], 64),
      [[undefined, '{"a":1}']],
    );
  });

  it("a throwing handler loses only its event", () => {
    const seen: string[] = [];
    const framer = new SseFramer((_e, data) => {
      if (data === "boom") throw new Error("bug");
      seen.push(data);
    });
    framer.push(encode("data: 1\n\ndata: boom\n\ndata: 2\n\n"));
    framer.end();
    assert.deepEqual(seen, ["1", "2"]);
  });
});
