import assert from "node:assert/strict";
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { Stream } from "openai/streaming";
import { SseFramer } from "../../../src/dialects/shared/sse-framer.ts";
import type { Usage } from "../../../src/metering/usage.ts";
import type { CanonicalStop, CanonicalStreamEvent, SseEvent, StreamMapper } from "../../../src/translate/canonical.ts";
import { buildWire, fixtureLines } from "../../dialects/helpers.ts";

export { fixtureJson, fixtureLines } from "../../dialects/helpers.ts";

/** The recorded Chat-compatible streams (OpenAI, Azure, Groq, DeepSeek, xAI). */
export const CHAT_STREAM_FIXTURES = [
  "openai-chat/azure-model-router.1.chunks.txt",
  "openai-chat/issue-15789-step-1.chunks.txt",
  "groq/groq-tool-call.chunks.txt",
  "deepseek/deepseek-tool-call.chunks.txt",
  "xai/xai-tool-call.chunks.txt",
] as const;

/** Frames SSE text with the gateway's own framer, as the pipeline will. */
export function sseEvents(wire: string): SseEvent[] {
  const events: SseEvent[] = [];
  const framer = new SseFramer((event, data) => events.push({ event, data }));
  framer.pushText(wire);
  framer.endText();
  return events;
}

/** A chunks fixture as the SSE events the upstream sent (`data: <line>` each, then `[DONE]`). */
export function fixtureEvents(path: string, done = true): SseEvent[] {
  return sseEvents(buildWire(fixtureLines(path), { named: false, done }));
}

export function runMapper<S, I, O>(mapper: StreamMapper<S, I, O>, inputs: Iterable<I>): O[] {
  let state = mapper.initial();
  const out: O[] = [];
  for (const input of inputs) {
    const next = mapper.step(state, input);
    state = next.state;
    out.push(...next.out);
  }
  out.push(...mapper.finish(state));
  return out;
}

export interface Collected {
  start: { id: string; model: string } | null;
  text: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  stop: CanonicalStop | null;
  usage: Usage | null;
  lastUsageEvent: Partial<Usage> | null;
  errors: { type: string; message: string }[];
}

/**
 * Folds canonical events into what they say, checking the stream's shape on the way: `start` first, each block
 * started once with increasing numbers, deltas only inside their block, every block ended before the terminal event,
 * exactly one terminal event (finish or error) and nothing after it.
 */
export function collect(events: CanonicalStreamEvent[]): Collected {
  const c: Collected = {
    start: null,
    text: "",
    reasoning: "",
    toolCalls: [],
    stop: null,
    usage: null,
    lastUsageEvent: null,
    errors: [],
  };
  const open = new Map<number, "text" | "reasoning" | "tool">();
  const tools = new Map<number, { id: string; name: string; arguments: string }>();
  let nextBlock = 0;
  let terminal = false;
  const expectOpen = (block: number, kind: "text" | "reasoning" | "tool") =>
    assert.equal(open.get(block), kind, `block ${block} must be an open ${kind} block`);
  const opened = (block: number, kind: "text" | "reasoning" | "tool") => {
    assert.equal(block, nextBlock, "blocks are numbered in order");
    nextBlock++;
    open.set(block, kind);
  };
  for (const [i, e] of events.entries()) {
    assert.equal(terminal, false, `event after the terminal event: ${JSON.stringify(e)}`);
    if (i === 0) assert.equal(e.type, "start", "the first event is start");
    switch (e.type) {
      case "start":
        assert.equal(c.start, null, "one start");
        c.start = { id: e.id, model: e.model };
        break;
      case "text-start":
        opened(e.block, "text");
        break;
      case "text-delta":
        expectOpen(e.block, "text");
        c.text += e.text;
        break;
      case "reasoning-start":
        opened(e.block, "reasoning");
        break;
      case "reasoning-delta":
        expectOpen(e.block, "reasoning");
        c.reasoning += e.text;
        break;
      case "reasoning-opaque":
        expectOpen(e.block, "reasoning");
        break;
      case "tool-call-start": {
        opened(e.block, "tool");
        const call = { id: e.id, name: e.name, arguments: "" };
        tools.set(e.block, call);
        c.toolCalls.push(call);
        break;
      }
      case "tool-call-delta": {
        expectOpen(e.block, "tool");
        const call = tools.get(e.block);
        assert.ok(call);
        call.arguments += e.argumentsDelta;
        break;
      }
      case "block-end":
        assert.ok(open.has(e.block), `block-end of an open block (${e.block})`);
        open.delete(e.block);
        break;
      case "usage":
        c.lastUsageEvent = e.usage;
        break;
      case "finish":
        assert.equal(open.size, 0, "every block ends before finish");
        c.stop = e.stop;
        c.usage = e.usage;
        terminal = true;
        break;
      case "error":
        assert.equal(open.size, 0, "every block ends before an error");
        c.errors.push(e.error);
        terminal = true;
        break;
      default: {
        const unreachable: never = e;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  }
  assert.equal(terminal, true, "the stream ends with finish or error");
  return c;
}

/** Parses client SSE text with the official openai SDK, as a client would: the raw chunks. */
export async function sdkChunks(sse: string): Promise<ChatCompletionChunk[]> {
  const stream = Stream.fromSSEResponse<ChatCompletionChunk>(
    new Response(sse, { headers: { "content-type": "text/event-stream" } }),
    new AbortController(),
  );
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** Parses client SSE text with the SDK's chat completion stream helper: the accumulated completion. */
export async function sdkFinalCompletion(sse: string): Promise<ChatCompletion> {
  const stream = Stream.fromSSEResponse<ChatCompletionChunk>(
    new Response(sse, { headers: { "content-type": "text/event-stream" } }),
    new AbortController(),
  );
  const runner = ChatCompletionStream.fromReadableStream(stream.toReadableStream());
  return runner.finalChatCompletion();
}
