import { bedrockStreamExceptionName } from "../../dialects/bedrock-converse/errors.ts";
import { sseEvent } from "../../dialects/shared/error-shape.ts";
import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { CanonicalStreamEvent, StreamMapper } from "../canonical.ts";
import { converseUsageObject } from "./canonical-to-response.ts";
import { canonicalStopToConverse } from "./stop-reason.ts";

interface OpenBlock {
  readonly kind: "text" | "reasoning" | "tool";
  /** Converse contentBlockIndex, once the block wrote something (text and reasoning start on their first delta). */
  readonly index: number | null;
}

export interface ConverseCanonicalToStreamState {
  readonly started: boolean;
  readonly nextIndex: number;
  readonly blocks: Readonly<Record<number, OpenBlock>>;
  readonly usage: Usage;
  readonly done: boolean;
}

type Draft = { -readonly [K in keyof ConverseCanonicalToStreamState]: ConverseCanonicalToStreamState[K] };

/**
 * Canonical events → ConverseStream events as SSE text (`event: <eventType>`, `data: <payload>`), which the
 * gateway encodes into AWS event-stream messages for the client. Every event carries its contentBlockIndex, so
 * interleaved blocks (parallel tool calls) are written as they come. The end is messageStop then metadata (usage).
 * Reasoning signatures are passed only when they are Bedrock's own.
 */
export function converseCanonicalToStream(): StreamMapper<
  ConverseCanonicalToStreamState,
  CanonicalStreamEvent,
  string
> {
  return {
    initial: () => ({ started: false, nextIndex: 0, blocks: {}, usage: emptyUsage(), done: false }),

    step(state, event) {
      if (state.done) return { state, out: [] };
      const draft: Draft = { ...state };
      const out: string[] = [];
      onEvent(draft, event, out);
      return { state: draft, out };
    },

    finish(state) {
      if (state.done) return [];
      return [sseEvent("modelStreamErrorException", { message: "The response stream ended before it was complete." })];
    },
  };
}

function ensureStarted(s: Draft, out: string[]): void {
  if (s.started) return;
  out.push(sseEvent("messageStart", { role: "assistant" }));
  s.started = true;
}

function onEvent(s: Draft, event: CanonicalStreamEvent, out: string[]): void {
  switch (event.type) {
    case "start":
      ensureStarted(s, out);
      return;
    case "usage":
      s.usage = { ...s.usage, ...definedOnly(event.usage) };
      return;
    case "text-start":
    case "reasoning-start":
      ensureStarted(s, out);
      s.blocks = {
        ...s.blocks,
        [event.block]: { kind: event.type === "text-start" ? "text" : "reasoning", index: null },
      };
      return;
    case "tool-call-start": {
      ensureStarted(s, out);
      const index = s.nextIndex++;
      s.blocks = { ...s.blocks, [event.block]: { kind: "tool", index } };
      out.push(
        sseEvent("contentBlockStart", {
          contentBlockIndex: index,
          start: { toolUse: { toolUseId: event.id, name: event.name } },
        }),
      );
      return;
    }
    case "text-delta":
      if (event.text !== "") delta(s, event.block, "text", { text: event.text }, out);
      return;
    case "reasoning-delta":
      if (event.text !== "") delta(s, event.block, "reasoning", { reasoningContent: { text: event.text } }, out);
      return;
    case "reasoning-opaque": {
      const opaque = event.opaque;
      if (opaque.dialect !== "bedrock-converse") return;
      const payload = opaque.kind === "redacted" ? { redactedContent: opaque.value } : { signature: opaque.value };
      delta(s, event.block, "reasoning", { reasoningContent: payload }, out);
      return;
    }
    case "tool-call-delta":
      if (event.argumentsDelta !== "") delta(s, event.block, "tool", { toolUse: { input: event.argumentsDelta } }, out);
      return;
    case "block-end":
      endBlock(s, event.block, out);
      return;
    case "finish": {
      ensureStarted(s, out);
      for (const block of Object.keys(s.blocks)) endBlock(s, Number(block), out);
      out.push(
        sseEvent("messageStop", { stopReason: canonicalStopToConverse(event.stop) }),
        sseEvent("metadata", { usage: converseUsageObject(event.usage), metrics: { latencyMs: 0 } }),
      );
      s.done = true;
      return;
    }
    case "error":
      out.push(sseEvent(bedrockStreamExceptionName(event.error.type), { message: event.error.message }));
      s.done = true;
      return;
    default: {
      const unreachable: never = event;
      throw new Error(`unknown canonical event ${JSON.stringify(unreachable)}`);
    }
  }
}

function definedOnly(usage: Partial<Usage>): Partial<Usage> {
  const out: Partial<Usage> = {};
  for (const key of Object.keys(usage) as (keyof Usage)[]) {
    const v = usage[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function delta(s: Draft, block: number, kind: OpenBlock["kind"], payload: object, out: string[]): void {
  const open = s.blocks[block];
  if (open === undefined || open.kind !== kind) return;
  let index = open.index;
  if (index === null) {
    index = s.nextIndex++;
    s.blocks = { ...s.blocks, [block]: { kind, index } };
  }
  out.push(sseEvent("contentBlockDelta", { contentBlockIndex: index, delta: payload }));
}

function endBlock(s: Draft, block: number, out: string[]): void {
  const open = s.blocks[block];
  if (open === undefined) return;
  const { [block]: _closed, ...rest } = s.blocks;
  s.blocks = rest;
  if (open.index !== null) out.push(sseEvent("contentBlockStop", { contentBlockIndex: open.index }));
}
