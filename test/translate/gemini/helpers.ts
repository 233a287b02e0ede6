import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SseFramer } from "../../../src/dialects/shared/sse-framer.ts";
import type { Usage } from "../../../src/metering/usage.ts";
import type {
  CanonicalPart,
  CanonicalRequest,
  CanonicalStop,
  CanonicalStreamEvent,
  SseEvent,
  StreamMapper,
} from "../../../src/translate/canonical.ts";
import { buildWire } from "../../dialects/helpers.ts";

export { fixtureJson, fixtureLines, fixtureText } from "../../dialects/helpers.ts";

/** Runs a stream mapper over its whole input, as the pipeline does: step each input, then finish. */
export function runMapper<S, I, O>(mapper: StreamMapper<S, I, O>, inputs: Iterable<I>): O[] {
  let state = mapper.initial();
  const out: O[] = [];
  for (const input of inputs) {
    const r = mapper.step(state, input);
    state = r.state;
    out.push(...r.out);
  }
  out.push(...mapper.finish(state));
  return out;
}

/** The SSE events of a wire text, framed by the gateway's own framer. */
export function sseEvents(wire: string): SseEvent[] {
  const events: SseEvent[] = [];
  const framer = new SseFramer((event, data) => events.push({ event, data }));
  framer.pushText(wire);
  framer.endText();
  return events;
}

/** A Gemini chunks fixture as the wire sends it (`data: …` CRLF CRLF) and framed back into events. */
export function geminiWire(lines: string[]): string {
  return buildWire(lines, { named: false, done: false, eol: "\r\n" });
}

export interface Collected {
  start: { id: string; model: string } | null;
  parts: CanonicalPart[];
  finish: { stop: CanonicalStop; usage: Usage } | null;
  error: { type: string; message: string } | null;
  usages: Partial<Usage>[];
}

/**
 * Folds canonical events into parts, asserting the stream is well formed: `start` first, each block started once
 * and ended once, deltas only inside their block and of its kind, nothing after `finish` or `error`, and exactly
 * one of the two at the end.
 */
export function collect(events: readonly CanonicalStreamEvent[]): Collected {
  const c: Collected = { start: null, parts: [], finish: null, error: null, usages: [] };
  const blocks = new Map<number, { part: CanonicalPart; open: boolean }>();
  const open = (block: number, part: CanonicalPart): void => {
    assert.ok(!blocks.has(block), `block ${block} started twice`);
    blocks.set(block, { part, open: true });
    c.parts.push(part);
  };
  const at = (block: number, type: CanonicalPart["type"]): CanonicalPart => {
    const b = blocks.get(block);
    assert.ok(b?.open, `event for block ${block} outside its start/end`);
    assert.equal(b.part.type, type, `block ${block} is ${b.part.type}, not ${type}`);
    return b.part;
  };
  events.forEach((e, i) => {
    assert.ok(c.finish === null && c.error === null, `event ${e.type} after the end`);
    if (i === 0 && e.type !== "error") assert.equal(e.type, "start", "the first event is start");
    switch (e.type) {
      case "start":
        assert.equal(c.start, null, "two starts");
        c.start = { id: e.id, model: e.model };
        break;
      case "text-start":
        open(e.block, { type: "text", text: "" });
        break;
      case "reasoning-start":
        open(e.block, { type: "reasoning", text: "", opaque: null });
        break;
      case "tool-call-start":
        open(e.block, { type: "tool-call", id: e.id, name: e.name, arguments: "" });
        break;
      case "text-delta": {
        const p = at(e.block, "text");
        if (p.type === "text") p.text += e.text;
        break;
      }
      case "reasoning-delta": {
        const p = at(e.block, "reasoning");
        if (p.type === "reasoning") p.text += e.text;
        break;
      }
      case "reasoning-opaque": {
        const p = at(e.block, "reasoning");
        if (p.type === "reasoning") p.opaque = e.opaque;
        break;
      }
      case "tool-call-delta": {
        const p = at(e.block, "tool-call");
        if (p.type === "tool-call") p.arguments += e.argumentsDelta;
        break;
      }
      case "block-end": {
        const b = blocks.get(e.block);
        assert.ok(b?.open, `block-end for block ${e.block} that is not open`);
        b.open = false;
        break;
      }
      case "usage":
        c.usages.push(e.usage);
        break;
      case "finish":
        c.finish = { stop: e.stop, usage: e.usage };
        break;
      case "error":
        c.error = e.error;
        break;
      default: {
        const unreachable: never = e;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  });
  assert.ok(c.finish !== null || c.error !== null, "the stream ends with finish or error");
  if (c.finish !== null) for (const [n, b] of blocks) assert.ok(!b.open, `block ${n} never ended`);
  return c;
}

/** A canonical request with every field at its neutral value. */
export function canonicalRequest(overrides: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    model: "gemini-2.5-flash",
    system: [],
    messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    tools: [],
    toolChoice: null,
    parallelToolCalls: null,
    maxOutputTokens: null,
    temperature: null,
    topP: null,
    topK: null,
    stop: [],
    stream: false,
    reasoning: null,
    responseFormat: null,
    user: null,
    ...overrides,
  };
}

/** A local server answering every request with `body()` (SSE unless told), for the official SDK to read. */
export async function startSseServer(
  body: () => string,
  contentType = "text/event-stream",
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": contentType });
      res.end(body());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
