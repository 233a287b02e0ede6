import {
  type AnthropicCounts,
  anthropicCountsToUsage,
  mergeAnthropicCounts,
  readAnthropicCounts,
} from "../../dialects/anthropic/usage.ts";
import { isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../../dialects/shared/narrow.ts";
import type { CanonicalStreamEvent, SseEvent, StreamMapper } from "../canonical.ts";
import { anthropicStopToCanonical } from "./stop-reason.ts";

export interface AnthropicStreamToCanonicalState {
  readonly counts: AnthropicCounts;
  /** Anthropic content index → canonical block, for the blocks passed on (server-tool blocks are not). */
  readonly blocks: Readonly<Record<number, number>>;
  /** Anthropic indexes started and not yet stopped, in order. */
  readonly open: readonly number[];
  readonly nextBlock: number;
  readonly stopReason: string | null;
  /** message_stop or error seen: the stream is over. */
  readonly ended: boolean;
}

type Out = CanonicalStreamEvent[];

/**
 * Anthropic Messages SSE → canonical events. Dispatch is on the payload's `type` (equal to the `event:` name on a
 * well-formed stream; a stream without `event:` lines still works). Usage is merged field by field across
 * message_start and message_delta with the dialect's own usage reader, so the totals equal what the meter bills.
 * Server-tool blocks and citations are Anthropic-side detail and are not passed on.
 */
export const anthropicStreamToCanonical: StreamMapper<AnthropicStreamToCanonicalState, SseEvent, CanonicalStreamEvent> =
  {
    initial: () => ({ counts: {}, blocks: {}, open: [], nextBlock: 0, stopReason: null, ended: false }),

    step(state, input) {
      if (state.ended) return { state, out: [] };
      const parsed = tryParseJson(input.data);
      if (!isObject(parsed)) return { state, out: [] };
      const out: Out = [];
      const next = onEvent(state, stringAt(parsed, "type") ?? input.event, parsed, out);
      return { state: next, out };
    },

    finish(state) {
      if (state.ended) return [];
      // The upstream stopped without message_stop: close what is open, then say the stream is incomplete.
      const out: Out = closeOpen(state);
      out.push({
        type: "error",
        error: { type: "upstream_error", message: "The upstream stream ended before its final event." },
      });
      return out;
    },
  };

function onEvent(
  state: AnthropicStreamToCanonicalState,
  type: string | undefined,
  event: JsonObject,
  out: Out,
): AnthropicStreamToCanonicalState {
  switch (type) {
    case "message_start": {
      const message = objectAt(event, "message");
      out.push({ type: "start", id: stringAt(message, "id") ?? "", model: stringAt(message, "model") ?? "" });
      return withUsage(state, message === undefined ? undefined : objectAt(message, "usage"), out);
    }
    case "content_block_start":
      return onBlockStart(state, event, out);
    case "content_block_delta":
      onDelta(state, event, out);
      return state;
    case "content_block_stop": {
      const index = indexOf(event);
      const block = state.blocks[index];
      if (block === undefined || !state.open.includes(index)) return state;
      out.push({ type: "block-end", block });
      return { ...state, open: state.open.filter((i) => i !== index) };
    }
    case "message_delta": {
      const stopReason = stringAt(objectAt(event, "delta"), "stop_reason") ?? state.stopReason;
      return withUsage({ ...state, stopReason }, objectAt(event, "usage"), out);
    }
    case "message_stop":
      out.push(...closeOpen(state), {
        type: "finish",
        stop: anthropicStopToCanonical(state.stopReason),
        usage: anthropicCountsToUsage(state.counts),
      });
      return { ...state, open: [], ended: true };
    case "error": {
      const error = objectAt(event, "error");
      out.push({
        type: "error",
        error: { type: stringAt(error, "type") ?? "api_error", message: stringAt(error, "message") ?? "" },
      });
      return { ...state, ended: true };
    }
    default:
      return state;
  }
}

function withUsage(
  state: AnthropicStreamToCanonicalState,
  usage: JsonObject | undefined,
  out: Out,
): AnthropicStreamToCanonicalState {
  if (usage === undefined) return state;
  const counts = { ...state.counts };
  mergeAnthropicCounts(counts, readAnthropicCounts(usage));
  out.push({ type: "usage", usage: anthropicCountsToUsage(counts) });
  return { ...state, counts };
}

function indexOf(event: JsonObject): number {
  const index = event.index;
  return typeof index === "number" ? index : -1;
}

function onBlockStart(
  state: AnthropicStreamToCanonicalState,
  event: JsonObject,
  out: Out,
): AnthropicStreamToCanonicalState {
  const index = indexOf(event);
  const content = objectAt(event, "content_block");
  const block = state.nextBlock;
  switch (stringAt(content, "type")) {
    case "text": {
      out.push({ type: "text-start", block });
      const text = stringAt(content, "text") ?? "";
      if (text !== "") out.push({ type: "text-delta", block, text });
      break;
    }
    case "thinking": {
      out.push({ type: "reasoning-start", block });
      const text = stringAt(content, "thinking") ?? "";
      if (text !== "") out.push({ type: "reasoning-delta", block, text });
      const signature = stringAt(content, "signature") ?? "";
      if (signature !== "") {
        out.push({
          type: "reasoning-opaque",
          block,
          opaque: { dialect: "anthropic", kind: "signature", value: signature },
        });
      }
      break;
    }
    case "redacted_thinking":
      out.push(
        { type: "reasoning-start", block },
        {
          type: "reasoning-opaque",
          block,
          opaque: { dialect: "anthropic", kind: "redacted", value: stringAt(content, "data") ?? "" },
        },
      );
      break;
    case "tool_use": {
      out.push({
        type: "tool-call-start",
        block,
        id: stringAt(content, "id") ?? "",
        name: stringAt(content, "name") ?? "",
      });
      // Streamed calls start with `input: {}` and send the arguments as deltas; a whole input here is sent as one.
      const input = content?.input;
      if (isObject(input) && Object.keys(input).length > 0) {
        out.push({ type: "tool-call-delta", block, argumentsDelta: JSON.stringify(input) });
      }
      break;
    }
    default:
      return state;
  }
  return {
    ...state,
    blocks: { ...state.blocks, [index]: block },
    open: [...state.open, index],
    nextBlock: block + 1,
  };
}

function onDelta(state: AnthropicStreamToCanonicalState, event: JsonObject, out: Out): void {
  const index = indexOf(event);
  const block = state.blocks[index];
  if (block === undefined || !state.open.includes(index)) return;
  const delta = objectAt(event, "delta");
  switch (stringAt(delta, "type")) {
    case "text_delta": {
      const text = stringAt(delta, "text") ?? "";
      if (text !== "") out.push({ type: "text-delta", block, text });
      return;
    }
    case "thinking_delta": {
      const text = stringAt(delta, "thinking") ?? "";
      if (text !== "") out.push({ type: "reasoning-delta", block, text });
      return;
    }
    case "signature_delta": {
      const value = stringAt(delta, "signature") ?? "";
      if (value !== "")
        out.push({ type: "reasoning-opaque", block, opaque: { dialect: "anthropic", kind: "signature", value } });
      return;
    }
    case "input_json_delta": {
      const text = stringAt(delta, "partial_json") ?? "";
      if (text !== "") out.push({ type: "tool-call-delta", block, argumentsDelta: text });
      return;
    }
    default:
      return;
  }
}

function closeOpen(state: AnthropicStreamToCanonicalState): Out {
  return state.open.flatMap((index): Out => {
    const block = state.blocks[index];
    return block === undefined ? [] : [{ type: "block-end", block }];
  });
}
