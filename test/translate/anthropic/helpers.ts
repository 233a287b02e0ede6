import assert from "node:assert/strict";
import { MessageStream } from "@anthropic-ai/sdk/lib/MessageStream";
import type { Message, MessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import { Stream } from "@anthropic-ai/sdk/streaming";
import { SseFramer } from "../../../src/dialects/shared/sse-framer.ts";
import type { CanonicalStreamEvent, SseEvent, StreamMapper } from "../../../src/translate/canonical.ts";
import { buildWire, fixtureLines } from "../../dialects/helpers.ts";

export { fixtureJson, fixtureLines } from "../../dialects/helpers.ts";

/** Every Anthropic stream fixture (test/fixtures/recorded/anthropic/*.chunks.txt). */
export const STREAM_FIXTURES = [
  "anthropic-text.chunks.txt",
  "anthropic-clear-thinking.1.chunks.txt",
  "anthropic-code-execution-20260120-prompt-cache.1.chunks.txt",
  "anthropic-issue-11719-quoted-tool-input.chunks.txt",
  "anthropic-json-tool.1.chunks.txt",
  "anthropic-message-delta-input-tokens.chunks.txt",
  "anthropic-refusal.chunks.txt",
  "anthropic-tool-no-args.chunks.txt",
  "issue-10781.1.chunks.txt",
];

/** The wire text of a recorded stream, rebuilt as the fixtures README says (`event: <type>` + `data:`). */
export function fixtureWire(file: string): string {
  return buildWire(fixtureLines(`anthropic/${file}`), { named: true, done: false });
}

/** SSE text → events, framed by the gateway's own framer. */
export function sseEvents(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const framer = new SseFramer((event, data) => events.push({ event, data }));
  framer.pushText(text);
  framer.endText();
  return events;
}

/** Runs a mapper over all inputs, then its finish. */
export function runMapper<S, I, O>(mapper: StreamMapper<S, I, O>, inputs: Iterable<I>): O[] {
  let state = mapper.initial();
  const out: O[] = [];
  for (const input of inputs) {
    const step = mapper.step(state, input);
    state = step.state;
    out.push(...step.out);
  }
  out.push(...mapper.finish(state));
  return out;
}

/** The official SDK's SSE parser and message accumulator, fed the text as an HTTP response body. */
export async function sdkFinalMessage(sseText: string): Promise<Message> {
  const response = new Response(sseText, { headers: { "content-type": "text/event-stream" } });
  const events = Stream.fromSSEResponse<MessageStreamEvent>(response, new AbortController());
  return MessageStream.fromReadableStream(events.toReadableStream()).finalMessage();
}

export interface AssembledBlock {
  kind: "text" | "reasoning" | "tool-call";
  text: string;
  id?: string;
  name?: string;
  opaque: NonNullable<Extract<CanonicalStreamEvent, { type: "reasoning-opaque" }>["opaque"]>[];
}

/**
 * Folds canonical events into blocks, asserting the stream is well-formed on the way: each block starts once,
 * its deltas come between its start and its end, and nothing follows the terminal event.
 */
export function assembleCanonical(events: CanonicalStreamEvent[]): {
  blocks: AssembledBlock[];
  terminal: Extract<CanonicalStreamEvent, { type: "finish" | "error" }> | null;
  starts: number;
} {
  const blocks = new Map<number, AssembledBlock>();
  const open = new Set<number>();
  let terminal: Extract<CanonicalStreamEvent, { type: "finish" | "error" }> | null = null;
  let starts = 0;
  for (const event of events) {
    assert.equal(terminal, null, `event after the terminal one: ${JSON.stringify(event)}`);
    switch (event.type) {
      case "start":
        starts++;
        break;
      case "text-start":
      case "reasoning-start":
      case "tool-call-start": {
        assert.ok(!blocks.has(event.block), `block ${event.block} started twice`);
        const kind =
          event.type === "text-start" ? "text" : event.type === "reasoning-start" ? "reasoning" : "tool-call";
        const block: AssembledBlock = { kind, text: "", opaque: [] };
        if (event.type === "tool-call-start") {
          block.id = event.id;
          block.name = event.name;
        }
        blocks.set(event.block, block);
        open.add(event.block);
        break;
      }
      case "text-delta":
      case "reasoning-delta":
      case "tool-call-delta": {
        assert.ok(open.has(event.block), `delta outside block ${event.block}`);
        const block = blocks.get(event.block);
        assert.ok(block);
        block.text += event.type === "tool-call-delta" ? event.argumentsDelta : event.text;
        break;
      }
      case "reasoning-opaque":
        assert.ok(open.has(event.block), `opaque outside block ${event.block}`);
        blocks.get(event.block)?.opaque.push(event.opaque);
        break;
      case "block-end":
        assert.ok(open.delete(event.block), `block ${event.block} ended while not open`);
        break;
      case "usage":
        break;
      case "finish":
      case "error":
        if (event.type === "finish") assert.equal(open.size, 0, "finish with open blocks");
        terminal = event;
        break;
      default: {
        const unreachable: never = event;
        throw new Error(String(unreachable));
      }
    }
  }
  const ordered = [...blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block);
  return { blocks: ordered, terminal, starts };
}

/** Each SSE event of the text, as `{ event, data }`, asserting every one has its `event:` line. */
export function namedEvents(sseText: string): { event: string; data: Record<string, unknown> }[] {
  assert.ok(sseText.endsWith("\n\n"), "the text ends with a complete event");
  return sseText
    .slice(0, -2)
    .split("\n\n")
    .map((chunk) => {
      const match = /^event: ([a-z_]+)\ndata: (.*)$/s.exec(chunk);
      assert.ok(match, `not an event with an event: line: ${chunk}`);
      const data = JSON.parse(match[2] ?? "") as Record<string, unknown>;
      assert.equal(data.type, match[1], "event name equals the payload type");
      return { event: match[1] ?? "", data };
    });
}
