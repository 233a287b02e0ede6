import { convertConverseUsage } from "../../dialects/bedrock-converse/usage.ts";
import { isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../../dialects/shared/narrow.ts";
import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { CanonicalStreamEvent, SseEvent, StreamMapper } from "../canonical.ts";
import { converseStopToCanonical } from "./stop-reason.ts";

type BlockKind = "text" | "reasoning" | "tool";

export interface ConverseStreamToCanonicalState {
  readonly started: boolean;
  /** Converse contentBlockIndex → canonical block and its kind, for blocks started and not yet stopped. */
  readonly open: Readonly<Record<number, { block: number; kind: BlockKind }>>;
  readonly nextBlock: number;
  /** messageStop's reason, once seen. */
  readonly stopReason: string | null;
  readonly stopped: boolean;
  /** metadata's usage, once seen. */
  readonly usage: Usage | null;
  /** finish or error emitted. */
  readonly ended: boolean;
}

type Out = CanonicalStreamEvent[];

/**
 * ConverseStream events (bridged to SSE: `event` = the `:event-type`, `data` = the payload) → canonical events.
 * Text and reasoning blocks have no contentBlockStart on the wire: they start with their first delta. Usage comes
 * whole in `metadata`, before or after `messageStop`; the finish event waits until both arrived (or the stream ends).
 * Exceptions (`…Exception` events) end the stream with an error.
 */
export const converseStreamToCanonical: StreamMapper<ConverseStreamToCanonicalState, SseEvent, CanonicalStreamEvent> = {
  initial: () => ({
    started: false,
    open: {},
    nextBlock: 0,
    stopReason: null,
    stopped: false,
    usage: null,
    ended: false,
  }),

  step(state, input) {
    if (state.ended || input.event === undefined) return { state, out: [] };
    const parsed = tryParseJson(input.data);
    if (!isObject(parsed)) return { state, out: [] };
    const out: Out = [];
    let next = state;
    if (!next.started) {
      out.push({ type: "start", id: "", model: "" });
      next = { ...next, started: true };
    }
    next = onEvent(next, input.event, parsed, out);
    return { state: next, out };
  },

  finish(state) {
    if (state.ended) return [];
    const out: Out = closeAll(state);
    if (state.stopped) {
      // messageStop came but metadata never did: the message is complete, its usage unknown here.
      out.push({ type: "finish", stop: converseStopToCanonical(state.stopReason), usage: emptyUsage() });
      return out;
    }
    out.push({
      type: "error",
      error: { type: "upstream_error", message: "The upstream stream ended before its final event." },
    });
    return out;
  },
};

function onEvent(
  state: ConverseStreamToCanonicalState,
  event: string,
  payload: JsonObject,
  out: Out,
): ConverseStreamToCanonicalState {
  switch (event) {
    case "messageStart":
      return state;
    case "contentBlockStart": {
      const toolUse = objectAt(objectAt(payload, "start") ?? {}, "toolUse");
      if (toolUse === undefined) return state;
      const { state: next, block } = openBlock(state, indexOf(payload), "tool");
      out.push({
        type: "tool-call-start",
        block,
        id: stringAt(toolUse, "toolUseId") ?? "",
        name: stringAt(toolUse, "name") ?? "",
      });
      return next;
    }
    case "contentBlockDelta":
      return onDelta(state, indexOf(payload), objectAt(payload, "delta") ?? {}, out);
    case "contentBlockStop": {
      const index = indexOf(payload);
      const open = state.open[index];
      if (open === undefined) return state;
      out.push({ type: "block-end", block: open.block });
      return { ...state, open: without(state.open, index) };
    }
    case "messageStop": {
      const next = { ...state, stopped: true, stopReason: stringAt(payload, "stopReason") ?? null };
      return next.usage === null ? next : finishNow(next, out);
    }
    case "metadata": {
      const usage = convertConverseUsage(payload.usage);
      if (usage === null) return state;
      out.push({ type: "usage", usage });
      const next = { ...state, usage };
      return next.stopped ? finishNow(next, out) : next;
    }
    default:
      if (event.endsWith("Exception")) {
        out.push(...closeAll(state), {
          type: "error",
          error: { type: event, message: stringAt(payload, "message") ?? "" },
        });
        return { ...state, open: {}, ended: true };
      }
      return state;
  }
}

function onDelta(
  state: ConverseStreamToCanonicalState,
  index: number,
  delta: JsonObject,
  out: Out,
): ConverseStreamToCanonicalState {
  const text = stringAt(delta, "text");
  if (text !== undefined) {
    const { state: next, block } = ensureBlock(state, index, "text", out);
    if (text !== "") out.push({ type: "text-delta", block, text });
    return next;
  }
  const reasoning = objectAt(delta, "reasoningContent");
  if (reasoning !== undefined) {
    const { state: next, block } = ensureBlock(state, index, "reasoning", out);
    const thought = stringAt(reasoning, "text");
    if (thought !== undefined && thought !== "") out.push({ type: "reasoning-delta", block, text: thought });
    const signature = stringAt(reasoning, "signature");
    if (signature !== undefined && signature !== "") {
      out.push({
        type: "reasoning-opaque",
        block,
        opaque: { dialect: "bedrock-converse", kind: "signature", value: signature },
      });
    }
    const redacted = stringAt(reasoning, "redactedContent");
    if (redacted !== undefined) {
      out.push({
        type: "reasoning-opaque",
        block,
        opaque: { dialect: "bedrock-converse", kind: "redacted", value: redacted },
      });
    }
    return next;
  }
  const input = stringAt(objectAt(delta, "toolUse"), "input");
  const open = state.open[index];
  if (input !== undefined && open?.kind === "tool" && input !== "") {
    out.push({ type: "tool-call-delta", block: open.block, argumentsDelta: input });
  }
  return state;
}

/** The open block at `index`, or a new one of `kind` (closing one of another kind left at that index). */
function ensureBlock(
  state: ConverseStreamToCanonicalState,
  index: number,
  kind: BlockKind,
  out: Out,
): { state: ConverseStreamToCanonicalState; block: number } {
  const open = state.open[index];
  if (open !== undefined && open.kind === kind) return { state, block: open.block };
  let base = state;
  if (open !== undefined) {
    out.push({ type: "block-end", block: open.block });
    base = { ...state, open: without(state.open, index) };
  }
  const opened = openBlock(base, index, kind);
  out.push(
    kind === "text" ? { type: "text-start", block: opened.block } : { type: "reasoning-start", block: opened.block },
  );
  return opened;
}

function openBlock(
  state: ConverseStreamToCanonicalState,
  index: number,
  kind: BlockKind,
): { state: ConverseStreamToCanonicalState; block: number } {
  const block = state.nextBlock;
  return { state: { ...state, open: { ...state.open, [index]: { block, kind } }, nextBlock: block + 1 }, block };
}

function finishNow(state: ConverseStreamToCanonicalState, out: Out): ConverseStreamToCanonicalState {
  out.push(...closeAll(state), {
    type: "finish",
    stop: converseStopToCanonical(state.stopReason),
    usage: state.usage ?? emptyUsage(),
  });
  return { ...state, open: {}, ended: true };
}

function closeAll(state: ConverseStreamToCanonicalState): Out {
  return Object.values(state.open)
    .sort((a, b) => a.block - b.block)
    .map((open): CanonicalStreamEvent => ({ type: "block-end", block: open.block }));
}

function without<T>(record: Readonly<Record<number, T>>, index: number): Record<number, T> {
  const copy: Record<number, T> = { ...record };
  delete copy[index];
  return copy;
}

function indexOf(payload: JsonObject): number {
  const index = payload.contentBlockIndex;
  return typeof index === "number" ? index : 0;
}
