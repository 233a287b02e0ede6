/**
 * Micro-benchmark of the stream meters: per-event cost with the parse-free shortcuts against parsing every event,
 * on synthetic streams shaped like the recorded ones. Not a test; run with `node test/dialects/meter-bench.ts`.
 * Each figure is the best of 40 interleaved runs, so other load on the machine matters less.
 */
import type { Dialect } from "../../src/dialects/dialect.ts";
import { createStreamMeter } from "../../src/dialects/meters.ts";
import { SseFramer } from "../../src/dialects/shared/sse-framer.ts";

const EVENTS = 5000;
const text = (i: number) => ` token ${i} with "quotes" and more text`;

function anthropicWire(): string {
  const start = {
    type: "message_start",
    message: {
      model: "claude-x",
      id: "msg_1",
      type: "message",
      role: "assistant",
      content: [],
      usage: { input_tokens: 1000, output_tokens: 1 },
    },
  };
  let wire = `event: message_start\ndata: ${JSON.stringify(start)}\n\n`;
  wire += `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n`;
  for (let i = 0; i < EVENTS; i++) {
    const delta = { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: text(i) } };
    wire += `event: content_block_delta\ndata: ${JSON.stringify(delta)}\n\n`;
  }
  wire += `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":${EVENTS * 8}}}\n\n`;
  return `${wire}event: message_stop\ndata: {"type":"message_stop"}\n\n`;
}

function chatWire(): string {
  const envelope = {
    id: "chatcmpl-E6yvi7cuDcHZEHTMxcLDyf3CMKIO2",
    object: "chat.completion.chunk",
    created: 1785332890,
    model: "gpt-4o-2024-08-06",
    service_tier: "default",
    system_fingerprint: "fp_627de6ad19",
  };
  let wire = "";
  for (let i = 0; i < EVENTS; i++) {
    const choices = [{ index: 0, delta: { content: text(i) }, logprobs: null, finish_reason: null }];
    wire += `data: ${JSON.stringify({ ...envelope, choices, obfuscation: "kxfWAnRUqJ" })}\n\n`;
  }
  const usage = { prompt_tokens: 10, completion_tokens: EVENTS * 8, total_tokens: 10 + EVENTS * 8 };
  return `${wire}data: ${JSON.stringify({ ...envelope, choices: [], usage })}\n\ndata: [DONE]\n\n`;
}

function responsesWire(): string {
  let wire = "";
  for (let i = 0; i < EVENTS; i++) {
    const event = {
      type: "response.output_text.delta",
      content_index: 0,
      delta: text(i),
      item_id: "msg_68c1f0b6b7f88190a4e4c4d0c3f9a1b20e8f0c4c5b6a7d8e",
      logprobs: [],
      obfuscation: "2ajSAGID",
      output_index: 0,
      sequence_number: i + 4,
    };
    wire += `event: response.output_text.delta\ndata: ${JSON.stringify(event)}\n\n`;
  }
  const response = {
    model: "gpt-5",
    status: "completed",
    usage: { input_tokens: 10, output_tokens: 1, total_tokens: 11 },
  };
  return `${wire}event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", response })}\n\n`;
}

function geminiWire(): string {
  let wire = "";
  for (let i = 0; i < EVENTS; i++) {
    const chunk = {
      candidates: [{ content: { parts: [{ text: text(i) }], role: "model" }, index: 0 }],
      usageMetadata: {
        promptTokenCount: 900,
        candidatesTokenCount: i * 8,
        totalTokenCount: 900 + i * 8,
        thoughtsTokenCount: 120,
      },
      modelVersion: "gemini-3-pro-preview",
      responseId: "bH6LaZW8Fp_3nsEPqtaSwQ4",
    };
    wire += `data: ${JSON.stringify(chunk)}\r\n\r\n`;
  }
  return wire;
}

/** About one event per upstream read, as providers flush. */
function chunks(wire: string): Uint8Array[] {
  const bytes = new TextEncoder().encode(wire);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 300) out.push(bytes.subarray(i, i + 300));
  return out;
}

function bestOf(runs: number, fns: (() => void)[]): number[] {
  const best = fns.map(() => Number.POSITIVE_INFINITY);
  for (let r = 0; r < runs; r++) {
    fns.forEach((fn, k) => {
      const start = process.hrtime.bigint();
      fn();
      best[k] = Math.min(best[k] ?? Number.POSITIVE_INFINITY, Number(process.hrtime.bigint() - start) / 1e3);
    });
  }
  return best;
}

const streams: [Dialect, string][] = [
  ["anthropic", anthropicWire()],
  ["openai-chat", chatWire()],
  ["openai-responses", responsesWire()],
  ["gemini", geminiWire()],
];
for (const [dialect, wire] of streams) {
  const input = chunks(wire);
  const meter = (shortcuts: boolean) => () => {
    const m = createStreamMeter(dialect, { shortcuts });
    for (const c of input) m.push(c);
    m.end();
    m.result();
  };
  const framing = () => {
    const framer = new SseFramer(() => {});
    for (const c of input) framer.push(c);
    framer.end();
  };
  const [frameUs = 0, shortcutUs = 0, parseUs = 0] = bestOf(40, [framing, meter(true), meter(false)]);
  const perEvent = (us: number) => (us / EVENTS).toFixed(2);
  console.log(
    `${dialect.padEnd(17)} SSE framing ${perEvent(frameUs)} µs/event; metering beyond framing: ` +
      `shortcuts ${perEvent(shortcutUs - frameUs)} µs, parse every event ${perEvent(parseUs - frameUs)} µs`,
  );
}
