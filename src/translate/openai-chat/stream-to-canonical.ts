import { convertOpenAiChatUsage, findChatUsage } from "../../dialects/openai-chat/usage.ts";
import { arrayAt, isObject, objectAt, stringAt, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { CanonicalStreamEvent, SseEvent, StreamMapper } from "../canonical.ts";
import { mapOpenAiChatFinishReason } from "./response-to-canonical.ts";

/** A tool call being streamed, by its Chat `index`. */
interface ToolSlot {
  block: number;
  id: string;
}

export interface ChatToCanonicalState {
  /** streaming → (finish_reason seen) finishing → (finish or error emitted) done. */
  phase: "streaming" | "finishing" | "done";
  started: boolean;
  id: string;
  model: string;
  nextBlock: number;
  textBlock: number | null;
  reasoningBlock: number | null;
  /** The current call per Chat tool index. */
  tools: Readonly<Record<number, ToolSlot>>;
  /** Tool blocks still open (they stay open until the finish: fragments of several calls may interleave). */
  openTools: readonly number[];
  toolCalls: number;
  finishReason: string | null;
  usage: Usage | null;
}

type Step = { state: ChatToCanonicalState; out: CanonicalStreamEvent[] };

/** The error type a stream cut before its end gets (the catalog code the client mapper renders). */
export const STREAM_INCOMPLETE = "TG_UPSTREAM_STREAM_INCOMPLETE";

/**
 * Chat Completions SSE (`data: <chunk>` … `data: [DONE]`, OpenAI and compatible servers) → canonical events.
 *
 * Reads `choices[0].delta`: `reasoning_content`/`reasoning` and `content`/`refusal` open a reasoning or text block
 * on their first non-empty delta (a new kind closes the previous one); `tool_calls[]` entries are keyed by `index`
 * (the first carries id and name, then argument fragments), each its own block, open until the finish. The
 * `finish_reason` closes every block; the finish event waits for the usage chunk and is sent on `[DONE]` (or at the
 * end of input when the upstream left `[DONE]` out after its finish_reason). An `error` chunk becomes an error event.
 * A stream that ends before any finish_reason ends with an error event (STREAM_INCOMPLETE).
 */
export function createOpenAiChatStreamToCanonical(): StreamMapper<
  ChatToCanonicalState,
  SseEvent,
  CanonicalStreamEvent
> {
  return { initial, step, finish };
}

function initial(): ChatToCanonicalState {
  return {
    phase: "streaming",
    started: false,
    id: "",
    model: "",
    nextBlock: 0,
    textBlock: null,
    reasoningBlock: null,
    tools: {},
    openTools: [],
    toolCalls: 0,
    finishReason: null,
    usage: null,
  };
}

function step(state: ChatToCanonicalState, input: SseEvent): Step {
  if (state.phase === "done") return { state, out: [] };
  const data = input.data.trim();
  if (data === "") return { state, out: [] };
  if (data === "[DONE]") return finishWith(state);
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return errorWith(state, { type: "invalid_response", message: "The upstream sent a chunk that is not JSON." });
  }
  if (!isObject(chunk)) return { state, out: [] };
  const error = objectAt(chunk, "error");
  if (error !== undefined || input.event === "error") {
    const err = error ?? chunk;
    return errorWith(state, {
      type: stringAt(err, "type") ?? stringAt(err, "code") ?? "error",
      message: stringAt(err, "message") ?? "The upstream reported an error.",
    });
  }
  return onChunk(state, chunk);
}

function onChunk(prev: ChatToCanonicalState, chunk: WireObject): Step {
  let state = prev;
  const out: CanonicalStreamEvent[] = [];
  const id = stringAt(chunk, "id");
  const model = stringAt(chunk, "model");
  // Azure's first chunk has an empty id and model: keep the first real ones.
  if ((id && !state.id) || (model && model !== state.model)) {
    state = { ...state, id: state.id || id || "", model: model || state.model };
  }

  const choices = arrayAt(chunk, "choices") ?? [];
  const choice = choices.find((c) => isObject(c) && (c.index === 0 || c.index === undefined));
  if (isObject(choice)) {
    const delta = objectAt(choice, "delta") ?? {};
    const reasoning = stringAt(delta, "reasoning_content") || stringAt(delta, "reasoning");
    if (reasoning) state = reasoningDelta(state, reasoning, out);
    const text = (stringAt(delta, "content") ?? "") + (stringAt(delta, "refusal") ?? "");
    if (text !== "") state = textDelta(state, text, out);
    for (const [position, call] of (arrayAt(delta, "tool_calls") ?? []).entries()) {
      if (isObject(call)) state = toolCallDelta(state, call, position, out);
    }
    const finishReason = stringAt(choice, "finish_reason");
    if (finishReason) {
      state = closeAll(start(state, out), out);
      state = { ...state, phase: "finishing", finishReason };
    }
  }

  const usage = findChatUsage(chunk);
  if (usage !== undefined) {
    const converted = convertOpenAiChatUsage(usage);
    if (state.usage === null || !sameUsage(state.usage, converted)) {
      state = { ...start(state, out), usage: converted };
      out.push({ type: "usage", usage: converted });
    }
  }
  return { state, out };
}

/** Emits `start` once, before the first other event. */
function start(state: ChatToCanonicalState, out: CanonicalStreamEvent[]): ChatToCanonicalState {
  if (state.started) return state;
  out.push({ type: "start", id: state.id, model: state.model });
  return { ...state, started: true };
}

function reasoningDelta(prev: ChatToCanonicalState, text: string, out: CanonicalStreamEvent[]): ChatToCanonicalState {
  let state = start(prev, out);
  if (state.reasoningBlock === null) {
    state = closeText(state, out);
    const block = state.nextBlock;
    out.push({ type: "reasoning-start", block });
    state = { ...state, reasoningBlock: block, nextBlock: block + 1 };
  }
  out.push({ type: "reasoning-delta", block: state.reasoningBlock ?? 0, text });
  return state;
}

function textDelta(prev: ChatToCanonicalState, text: string, out: CanonicalStreamEvent[]): ChatToCanonicalState {
  let state = start(prev, out);
  if (state.textBlock === null) {
    state = closeReasoning(state, out);
    const block = state.nextBlock;
    out.push({ type: "text-start", block });
    state = { ...state, textBlock: block, nextBlock: block + 1 };
  }
  out.push({ type: "text-delta", block: state.textBlock ?? 0, text });
  return state;
}

function toolCallDelta(
  prev: ChatToCanonicalState,
  call: WireObject,
  position: number,
  out: CanonicalStreamEvent[],
): ChatToCanonicalState {
  let state = start(prev, out);
  // A few compatible servers leave `index` out: fall back to the entry's position.
  const index = typeof call.index === "number" ? call.index : position;
  const id = stringAt(call, "id");
  const fn = objectAt(call, "function");
  let slot = state.tools[index];
  // A new id at a known index is a new call (servers that number every call 0).
  if (slot === undefined || (id && id !== slot.id)) {
    state = closeReasoning(closeText(state, out), out);
    const block = state.nextBlock;
    slot = { block, id: id || `call_${state.toolCalls}` };
    out.push({ type: "tool-call-start", block, id: slot.id, name: stringAt(fn, "name") ?? "" });
    state = {
      ...state,
      nextBlock: block + 1,
      tools: { ...state.tools, [index]: slot },
      openTools: [...state.openTools, block],
      toolCalls: state.toolCalls + 1,
    };
  }
  const args = stringAt(fn, "arguments");
  if (args) out.push({ type: "tool-call-delta", block: slot.block, argumentsDelta: args });
  return state;
}

function closeText(state: ChatToCanonicalState, out: CanonicalStreamEvent[]): ChatToCanonicalState {
  if (state.textBlock === null) return state;
  out.push({ type: "block-end", block: state.textBlock });
  return { ...state, textBlock: null };
}

function closeReasoning(state: ChatToCanonicalState, out: CanonicalStreamEvent[]): ChatToCanonicalState {
  if (state.reasoningBlock === null) return state;
  out.push({ type: "block-end", block: state.reasoningBlock });
  return { ...state, reasoningBlock: null };
}

/** Closes every open block, in block order. */
function closeAll(state: ChatToCanonicalState, out: CanonicalStreamEvent[]): ChatToCanonicalState {
  const open = [...state.openTools];
  if (state.textBlock !== null) open.push(state.textBlock);
  if (state.reasoningBlock !== null) open.push(state.reasoningBlock);
  for (const block of open.sort((a, b) => a - b)) out.push({ type: "block-end", block });
  return { ...state, textBlock: null, reasoningBlock: null, openTools: [] };
}

function finishWith(prev: ChatToCanonicalState): Step {
  const out: CanonicalStreamEvent[] = [];
  const state = closeAll(start(prev, out), out);
  out.push({
    type: "finish",
    stop: mapOpenAiChatFinishReason(state.finishReason, state.toolCalls > 0),
    usage: state.usage ?? emptyUsage(),
  });
  return { state: { ...state, phase: "done" }, out };
}

function errorWith(prev: ChatToCanonicalState, error: { type: string; message: string }): Step {
  const out: CanonicalStreamEvent[] = [];
  const state = closeAll(start(prev, out), out);
  out.push({ type: "error", error });
  return { state: { ...state, phase: "done" }, out };
}

function finish(state: ChatToCanonicalState): CanonicalStreamEvent[] {
  switch (state.phase) {
    case "done":
      return [];
    // The model's turn ended; only `[DONE]` (and perhaps the usage chunk) is missing.
    case "finishing":
      return finishWith(state).out;
    case "streaming":
      return errorWith(state, {
        type: STREAM_INCOMPLETE,
        message: "The upstream stream ended before the response was complete.",
      }).out;
    default: {
      const unreachable: never = state.phase;
      throw new Error(`unknown phase ${String(unreachable)}`);
    }
  }
}

function sameUsage(a: Usage, b: Usage): boolean {
  return (
    a.input === b.input &&
    a.cacheRead === b.cacheRead &&
    a.cacheWrite5m === b.cacheWrite5m &&
    a.cacheWrite1h === b.cacheWrite1h &&
    a.output === b.output &&
    a.reasoning === b.reasoning
  );
}
