import assert from "node:assert/strict";
import { Stream } from "openai/core/streaming";
import { accumulateResponse } from "openai/lib/responses/ResponseAccumulator";
import type { ResponseStreamEvent, Response as ResponsesResponse } from "openai/resources/responses/responses";
import { SseFramer } from "../../../src/dialects/shared/sse-framer.ts";
import type { Usage } from "../../../src/metering/usage.ts";
import type { CanonicalStop, CanonicalStreamEvent, SseEvent, StreamMapper } from "../../../src/translate/canonical.ts";
import { buildWire, fixtureLines } from "../../dialects/helpers.ts";

export { buildWire, fixtureJson, fixtureLines } from "../../dialects/helpers.ts";

/** SSE text → events, through the gateway's own framer. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const framer = new SseFramer((event, data) => events.push({ event, data }));
  framer.pushText(text);
  framer.endText();
  return events;
}

/** A Responses chunks fixture (or some of its lines) as the SSE events the upstream sent. */
export function fixtureEvents(lines: string[]): SseEvent[] {
  return parseSse(buildWire(lines, { named: true, done: false }));
}

/** The four agent steps recorded one after another in one file: split at each response.created. */
export function encryptedContentSteps(): string[][] {
  const steps: string[][] = [];
  for (const line of fixtureLines("openai-responses/openai-reasoning-encrypted-content.1.chunks.txt")) {
    if (line.includes('"type":"response.created"')) steps.push([]);
    steps.at(-1)?.push(line);
  }
  return steps;
}

export function runMapper<S, I, O>(mapper: StreamMapper<S, I, O>, inputs: Iterable<I>): O[] {
  let state = mapper.initial();
  const out: O[] = [];
  for (const input of inputs) {
    const result = mapper.step(state, input);
    state = result.state;
    out.push(...result.out);
  }
  out.push(...mapper.finish(state));
  return out;
}

export interface AssembledBlock {
  kind: "text" | "reasoning" | "tool-call";
  text: string;
  id?: string;
  name?: string;
  opaque?: unknown;
}

export interface Assembled {
  start: { id: string; model: string } | null;
  blocks: AssembledBlock[];
  finish: { stop: CanonicalStop; usage: Usage } | null;
  errors: { type: string; message: string }[];
}

/**
 * Folds canonical events into blocks, asserting the stream is well formed: `start` first, each block started once
 * and ended once with its deltas in between, nothing after the terminal event(s).
 */
export function assembleCanonical(events: CanonicalStreamEvent[]): Assembled {
  const result: Assembled = { start: null, blocks: [], finish: null, errors: [] };
  const open = new Set<number>();
  const ended = new Set<number>();
  const block = (index: number, type: string): AssembledBlock => {
    assert.ok(open.has(index), `${type} for block ${index}, which is not open`);
    const found = result.blocks[index];
    assert.ok(found);
    return found;
  };
  const begin = (index: number, value: AssembledBlock): void => {
    assert.ok(!open.has(index) && !ended.has(index), `block ${index} started twice`);
    assert.equal(index, result.blocks.length, "blocks are numbered in order");
    open.add(index);
    result.blocks.push(value);
  };
  events.forEach((event, i) => {
    if (i === 0) assert.ok(event.type === "start" || event.type === "error", "the stream begins with start");
    assert.equal(result.finish, null, `${event.type} after finish`);
    switch (event.type) {
      case "start":
        assert.equal(result.start, null, "start twice");
        result.start = { id: event.id, model: event.model };
        break;
      case "text-start":
        begin(event.block, { kind: "text", text: "" });
        break;
      case "reasoning-start":
        begin(event.block, { kind: "reasoning", text: "" });
        break;
      case "tool-call-start":
        begin(event.block, { kind: "tool-call", text: "", id: event.id, name: event.name });
        break;
      case "text-delta":
      case "reasoning-delta":
        block(event.block, event.type).text += event.text;
        break;
      case "tool-call-delta":
        block(event.block, event.type).text += event.argumentsDelta;
        break;
      case "reasoning-opaque":
        block(event.block, event.type).opaque = event.opaque;
        break;
      case "block-end":
        block(event.block, event.type);
        open.delete(event.block);
        ended.add(event.block);
        break;
      case "usage":
        break;
      case "finish":
        result.finish = { stop: event.stop, usage: event.usage };
        break;
      case "error":
        result.errors.push(event.error);
        break;
    }
  });
  assert.equal(open.size, 0, `blocks left open: ${[...open].join(", ")}`);
  return result;
}

export interface SdkParsed {
  /** Each SSE event's name and payload, in order. */
  events: { event: string | null; data: ResponseStreamEvent }[];
  /** The Response the SDK's accumulator built from the events. */
  response: ResponsesResponse | undefined;
}

/**
 * Reads Responses SSE text with the official SDK: `Stream.fromSSEResponse` (events mode, so `error` events are
 * items rather than throws) and `accumulateResponse`, which validates every event against the snapshot (item ids,
 * output and content indexes, item types) and throws on a malformed sequence. Also checks each `event:` name
 * equals the payload type and sequence numbers count up from 0.
 */
export async function sdkParse(sse: string): Promise<SdkParsed> {
  const response = new Response(sse, { headers: { "content-type": "text/event-stream" } });
  const stream = Stream.fromSSEResponse<{ event: string | null; data: ResponseStreamEvent }>(
    response,
    new AbortController(),
    undefined,
    true,
    "events",
  );
  const parsed: SdkParsed = { events: [], response: undefined };
  for await (const item of stream) {
    parsed.events.push(item);
    assert.equal(item.event, item.data.type, "event: name equals the payload type");
    assert.equal(item.data.sequence_number, parsed.events.length - 1, "sequence numbers count up from 0");
    parsed.response = accumulateResponse(item.data, parsed.response);
  }
  return parsed;
}

export function usage(input: number, cacheRead: number, output: number, reasoning: number, cacheWrite5m = 0): Usage {
  return { input, cacheRead, cacheWrite5m, cacheWrite1h: 0, output, reasoning };
}
