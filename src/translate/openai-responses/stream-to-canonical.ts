import { convertResponsesUsage } from "../../dialects/openai-responses/usage.ts";
import {
  arrayAt,
  isObject,
  objectAt,
  stringAt,
  tryParseJson,
  type JsonObject as WireObject,
} from "../../dialects/shared/narrow.ts";
import { emptyUsage } from "../../metering/usage.ts";
import type { CanonicalStreamEvent, SseEvent, StreamMapper } from "../canonical.ts";
import { stopFromStatus } from "./map-stop.ts";
import { outputToParts } from "./response-to-canonical.ts";
import { flatToolName } from "./tools.ts";

/**
 * An upstream Responses SSE stream → canonical events, as a pure reducer. Output items are tracked by
 * `output_index`; each message content part, function/custom tool call and reasoning item is one canonical block.
 * A reasoning item's `encrypted_content` is taken from `output_item.done` (the one on `output_item.added` may be
 * incomplete). `*.done` events that carry more than the deltas did (or no deltas at all) are reconciled, so
 * every block ends with its full content. The terminal event (`response.completed` / `incomplete` / `failed`)
 * gives the stop and the usage; a stream that ends without one ends with an `error` event.
 */

type ItemKind = "message" | "function" | "custom" | "reasoning" | "other";

interface ItemState {
  readonly kind: ItemKind;
  readonly block: number | null;
  /** What was emitted so far: function arguments, custom tool input (unescaped) or reasoning text. */
  readonly emitted: string;
  /** The reasoning part the last delta belonged to (`s<summary_index>` / `c<content_index>`). */
  readonly part: string | null;
  readonly closed: boolean;
}

interface TextBlock {
  readonly block: number;
  readonly text: string;
  readonly closed: boolean;
}

export interface ResponsesToCanonicalState {
  readonly started: boolean;
  /** The terminal event was handled; everything after it is ignored. */
  readonly ended: boolean;
  readonly errored: boolean;
  readonly nextBlock: number;
  readonly sawToolCall: boolean;
  /** By output_index. */
  readonly items: ReadonlyMap<number, ItemState>;
  /** By `${output_index}:${content_index}`. */
  readonly texts: ReadonlyMap<string, TextBlock>;
}

/** A working copy of the state for one step: the input state is never mutated. */
interface Draft {
  started: boolean;
  ended: boolean;
  errored: boolean;
  nextBlock: number;
  sawToolCall: boolean;
  items: Map<number, ItemState>;
  texts: Map<string, TextBlock>;
  out: CanonicalStreamEvent[];
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

export const responsesStreamToCanonical: StreamMapper<ResponsesToCanonicalState, SseEvent, CanonicalStreamEvent> = {
  initial: () => ({
    started: false,
    ended: false,
    errored: false,
    nextBlock: 0,
    sawToolCall: false,
    items: new Map(),
    texts: new Map(),
  }),

  step(state, input) {
    if (state.ended || input.data === "[DONE]") return { state, out: [] };
    const event = tryParseJson(input.data);
    if (!isObject(event)) return { state, out: [] };
    const d = draft(state);
    handle(d, stringAt(event, "type") ?? input.event ?? "", event);
    return { state: freeze(d), out: d.out };
  },

  finish(state) {
    if (state.ended) return [];
    const d = draft(state);
    closeAll(d);
    if (!d.errored) {
      d.out.push({
        type: "error",
        error: {
          type: "upstream_stream_incomplete",
          message: "The upstream stream ended before the response completed",
        },
      });
    }
    return d.out;
  },
};

function draft(state: ResponsesToCanonicalState): Draft {
  return { ...state, items: new Map(state.items), texts: new Map(state.texts), out: [] };
}

function freeze(d: Draft): ResponsesToCanonicalState {
  return {
    started: d.started,
    ended: d.ended,
    errored: d.errored,
    nextBlock: d.nextBlock,
    sawToolCall: d.sawToolCall,
    items: d.items,
    texts: d.texts,
  };
}

function handle(d: Draft, type: string, event: WireObject): void {
  const outputIndex = typeof event.output_index === "number" ? event.output_index : -1;
  const delta = stringAt(event, "delta") ?? "";
  switch (type) {
    case "response.created":
    case "response.in_progress":
    case "response.queued":
      ensureStarted(d, objectAt(event, "response"));
      return;
    case "response.output_item.added":
      ensureStarted(d, undefined);
      itemAdded(d, outputIndex, objectAt(event, "item") ?? {});
      return;
    case "response.content_part.added": {
      ensureStarted(d, undefined);
      const part = objectAt(event, "part");
      if (part?.type === "output_text" || part?.type === "refusal") {
        const text = stringAt(part, "text") ?? stringAt(part, "refusal") ?? "";
        appendText(d, outputIndex, contentIndex(event), text);
      }
      return;
    }
    case "response.output_text.delta":
    case "response.refusal.delta":
      ensureStarted(d, undefined);
      appendText(d, outputIndex, contentIndex(event), delta);
      return;
    case "response.output_text.done":
      completeText(d, outputIndex, contentIndex(event), stringAt(event, "text"));
      return;
    case "response.refusal.done":
      completeText(d, outputIndex, contentIndex(event), stringAt(event, "refusal"));
      return;
    case "response.content_part.done": {
      const part = objectAt(event, "part");
      const text = stringAt(part, "text") ?? stringAt(part, "refusal");
      if (part?.type === "output_text" || part?.type === "refusal") {
        ensureStarted(d, undefined);
        completeText(d, outputIndex, contentIndex(event), text);
        closeText(d, `${outputIndex}:${contentIndex(event)}`);
      }
      return;
    }
    case "response.function_call_arguments.delta":
    case "response.custom_tool_call_input.delta":
      callDelta(d, outputIndex, delta);
      return;
    case "response.function_call_arguments.done":
      reconcileCall(d, outputIndex, stringAt(event, "arguments"));
      return;
    case "response.custom_tool_call_input.done":
      reconcileCall(d, outputIndex, stringAt(event, "input"));
      return;
    case "response.reasoning_summary_text.delta":
      reasoningDelta(d, outputIndex, `s${String(event.summary_index ?? 0)}`, delta);
      return;
    case "response.reasoning_text.delta":
      reasoningDelta(d, outputIndex, `c${String(event.content_index ?? 0)}`, delta);
      return;
    case "response.output_item.done":
      ensureStarted(d, undefined);
      itemDone(d, outputIndex, objectAt(event, "item") ?? {});
      return;
    case "error": {
      closeAll(d);
      const nested = objectAt(event, "error");
      d.out.push({
        type: "error",
        error: {
          type: stringAt(nested, "type") ?? stringAt(nested, "code") ?? stringAt(event, "code") ?? "error",
          message: stringAt(nested, "message") ?? stringAt(event, "message") ?? "",
        },
      });
      d.errored = true;
      return;
    }
    default:
      if (TERMINAL.has(type)) terminal(d, type, objectAt(event, "response") ?? {});
  }
}

function contentIndex(event: WireObject): number {
  return typeof event.content_index === "number" ? event.content_index : 0;
}

function ensureStarted(d: Draft, response: WireObject | undefined): void {
  if (d.started) return;
  d.started = true;
  d.out.push({ type: "start", id: stringAt(response, "id") ?? "", model: stringAt(response, "model") ?? "" });
}

function newBlock(d: Draft): number {
  const block = d.nextBlock;
  d.nextBlock += 1;
  return block;
}

// ---------- text ----------

function openText(d: Draft, outputIndex: number, content: number): TextBlock {
  const key = `${outputIndex}:${content}`;
  const existing = d.texts.get(key);
  if (existing !== undefined) return existing;
  const block: TextBlock = { block: newBlock(d), text: "", closed: false };
  d.out.push({ type: "text-start", block: block.block });
  d.texts.set(key, block);
  return block;
}

function appendText(d: Draft, outputIndex: number, content: number, text: string): void {
  const block = openText(d, outputIndex, content);
  if (text === "" || block.closed) return;
  d.out.push({ type: "text-delta", block: block.block, text });
  d.texts.set(`${outputIndex}:${content}`, { ...block, text: block.text + text });
}

/** A `.done` with the full text: emit what the deltas did not (all of it when there were none). */
function completeText(d: Draft, outputIndex: number, content: number, full: string | undefined): void {
  if (full === undefined) return;
  const block = d.texts.get(`${outputIndex}:${content}`);
  const sent = block?.text ?? "";
  if (full.length > sent.length && full.startsWith(sent)) appendText(d, outputIndex, content, full.slice(sent.length));
  else if (block === undefined) openText(d, outputIndex, content);
}

function closeText(d: Draft, key: string): void {
  const block = d.texts.get(key);
  if (block === undefined || block.closed) return;
  d.out.push({ type: "block-end", block: block.block });
  d.texts.set(key, { ...block, closed: true });
}

// ---------- items ----------

function itemAdded(d: Draft, outputIndex: number, item: WireObject): void {
  if (d.items.has(outputIndex)) return;
  switch (item.type) {
    case "message":
      d.items.set(outputIndex, { kind: "message", block: null, emitted: "", part: null, closed: false });
      return;
    case "function_call":
    case "custom_tool_call":
      startCall(d, outputIndex, item);
      return;
    case "reasoning": {
      const block = newBlock(d);
      d.out.push({ type: "reasoning-start", block });
      d.items.set(outputIndex, { kind: "reasoning", block, emitted: "", part: null, closed: false });
      return;
    }
    default:
      d.items.set(outputIndex, { kind: "other", block: null, emitted: "", part: null, closed: false });
  }
}

function startCall(d: Draft, outputIndex: number, item: WireObject): void {
  const kind: ItemKind = item.type === "custom_tool_call" ? "custom" : "function";
  const block = newBlock(d);
  d.sawToolCall = true;
  d.out.push({
    type: "tool-call-start",
    block,
    id: stringAt(item, "call_id") ?? stringAt(item, "id") ?? `call_${outputIndex}`,
    name: flatToolName(stringAt(item, "namespace"), stringAt(item, "name") ?? ""),
  });
  // A custom tool's free text travels as the canonical arguments `{"input": "…"}`, escaped as it streams.
  if (kind === "custom") d.out.push({ type: "tool-call-delta", block, argumentsDelta: '{"input":"' });
  d.items.set(outputIndex, { kind, block, emitted: "", part: null, closed: false });
  const initial = kind === "custom" ? stringAt(item, "input") : stringAt(item, "arguments");
  if (initial) callDelta(d, outputIndex, initial);
}

function callDelta(d: Draft, outputIndex: number, delta: string): void {
  const item = d.items.get(outputIndex);
  if (item === undefined || item.block === null || item.closed || delta === "") return;
  if (item.kind !== "function" && item.kind !== "custom") return;
  const argumentsDelta = item.kind === "custom" ? JSON.stringify(delta).slice(1, -1) : delta;
  d.out.push({ type: "tool-call-delta", block: item.block, argumentsDelta });
  d.items.set(outputIndex, { ...item, emitted: item.emitted + delta });
}

function reconcileCall(d: Draft, outputIndex: number, full: string | undefined): void {
  const item = d.items.get(outputIndex);
  if (full === undefined || item === undefined) return;
  if (full.length > item.emitted.length && full.startsWith(item.emitted)) {
    callDelta(d, outputIndex, full.slice(item.emitted.length));
  }
}

function closeCall(d: Draft, outputIndex: number): void {
  const item = d.items.get(outputIndex);
  if (item === undefined || item.block === null || item.closed) return;
  if (item.kind === "custom") d.out.push({ type: "tool-call-delta", block: item.block, argumentsDelta: '"}' });
  d.out.push({ type: "block-end", block: item.block });
  d.items.set(outputIndex, { ...item, closed: true });
}

function reasoningDelta(d: Draft, outputIndex: number, part: string, delta: string): void {
  const item = d.items.get(outputIndex);
  if (item?.kind !== "reasoning" || item.block === null || item.closed || delta === "") return;
  // Summary parts are separate paragraphs.
  const text = item.emitted !== "" && item.part !== part ? `\n\n${delta}` : delta;
  d.out.push({ type: "reasoning-delta", block: item.block, text });
  d.items.set(outputIndex, { ...item, emitted: item.emitted + text, part });
}

function itemDone(d: Draft, outputIndex: number, item: WireObject): void {
  if (!d.items.has(outputIndex)) itemAdded(d, outputIndex, item);
  const state = d.items.get(outputIndex);
  if (state === undefined || state.closed) return;
  switch (state.kind) {
    case "message": {
      const content = arrayAt(item, "content") ?? [];
      content.forEach((part, index) => {
        if (!isObject(part) || (part.type !== "output_text" && part.type !== "refusal")) return;
        completeText(d, outputIndex, index, stringAt(part, "text") ?? stringAt(part, "refusal"));
      });
      closeTexts(d, outputIndex);
      d.items.set(outputIndex, { ...state, closed: true });
      return;
    }
    case "function":
      reconcileCall(d, outputIndex, stringAt(item, "arguments"));
      closeCall(d, outputIndex);
      return;
    case "custom":
      reconcileCall(d, outputIndex, stringAt(item, "input"));
      closeCall(d, outputIndex);
      return;
    case "reasoning": {
      if (state.block === null) return;
      if (state.emitted === "") {
        const summary = (arrayAt(item, "summary") ?? []).flatMap((p) =>
          isObject(p) && typeof p.text === "string" && p.text !== "" ? [p.text] : [],
        );
        if (summary.length > 0) reasoningDelta(d, outputIndex, "s0", summary.join("\n\n"));
      }
      const encrypted = stringAt(item, "encrypted_content");
      if (encrypted) {
        d.out.push({
          type: "reasoning-opaque",
          block: state.block,
          opaque: { dialect: "openai-responses", kind: "encrypted", value: encrypted },
        });
      }
      d.out.push({ type: "block-end", block: state.block });
      d.items.set(outputIndex, { ...(d.items.get(outputIndex) ?? state), closed: true });
      return;
    }
    case "other":
      d.items.set(outputIndex, { ...state, closed: true });
      return;
    default: {
      const unreachable: never = state.kind;
      throw new Error(`unknown item kind ${String(unreachable)}`);
    }
  }
}

function closeTexts(d: Draft, outputIndex: number): void {
  for (const key of d.texts.keys()) if (key.startsWith(`${outputIndex}:`)) closeText(d, key);
}

/** Closes every open block (in block order), e.g. before an error or at a truncated end. */
function closeAll(d: Draft): void {
  for (const key of d.texts.keys()) closeText(d, key);
  for (const [outputIndex, item] of d.items) {
    if (item.closed) continue;
    if (item.kind === "function" || item.kind === "custom") closeCall(d, outputIndex);
    else if (item.kind === "reasoning" && item.block !== null) {
      d.out.push({ type: "block-end", block: item.block });
      d.items.set(outputIndex, { ...item, closed: true });
    }
  }
}

function terminal(d: Draft, type: string, response: WireObject): void {
  ensureStarted(d, response);
  // An upstream that sent only the final Response (no item events): its output becomes blocks here.
  if (d.nextBlock === 0) emitWholeOutput(d, arrayAt(response, "output") ?? []);
  closeAll(d);
  if (type === "response.failed" && !d.errored) {
    const error = objectAt(response, "error");
    d.out.push({
      type: "error",
      error: {
        type: stringAt(error, "code") ?? "response_failed",
        message: stringAt(error, "message") ?? "The response failed",
      },
    });
    d.errored = true;
  }
  const usage = objectAt(response, "usage");
  const status = stringAt(response, "status") ?? type.slice("response.".length);
  d.out.push({
    type: "finish",
    stop: stopFromStatus(status, stringAt(objectAt(response, "incomplete_details") ?? {}, "reason"), d.sawToolCall),
    usage: usage === undefined ? emptyUsage() : convertResponsesUsage(usage),
  });
  d.ended = true;
}

function emitWholeOutput(d: Draft, output: unknown[]): void {
  for (const part of outputToParts(output)) {
    const block = newBlock(d);
    switch (part.type) {
      case "text":
        d.out.push({ type: "text-start", block }, { type: "text-delta", block, text: part.text });
        break;
      case "reasoning":
        d.out.push({ type: "reasoning-start", block });
        if (part.text !== "") d.out.push({ type: "reasoning-delta", block, text: part.text });
        if (part.opaque !== null) d.out.push({ type: "reasoning-opaque", block, opaque: part.opaque });
        break;
      case "tool-call":
        d.sawToolCall = true;
        d.out.push(
          { type: "tool-call-start", block, id: part.id, name: part.name },
          { type: "tool-call-delta", block, argumentsDelta: part.arguments },
        );
        break;
      default:
        continue;
    }
    d.out.push({ type: "block-end", block });
  }
}
