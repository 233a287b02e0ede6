import { anthropicErrorType } from "../../dialects/anthropic/errors.ts";
import type { AnthropicErrorType } from "../../dialects/anthropic/wire.ts";
import { sseEvent } from "../../dialects/shared/error-shape.ts";
import type { ErrorKind } from "../../errors/catalog.ts";
import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { CanonicalStreamEvent, JsonObject, StreamMapper } from "../canonical.ts";
import { anthropicUsageObject } from "./canonical-to-response.ts";
import { canonicalStopToAnthropic } from "./stop-reason.ts";

type BlockEvent = Exclude<CanonicalStreamEvent, { type: "start" | "usage" | "finish" | "error" }>;

/** The block being written. Text and reasoning blocks are started on their first content, so empty ones vanish. */
interface ActiveBlock {
  readonly block: number;
  readonly kind: "text" | "reasoning" | "tool";
  /** Anthropic content index once content_block_start was written. */
  readonly index: number | null;
  /** A reasoning block written as redacted_thinking: it takes no deltas. */
  readonly redacted: boolean;
}

/** A block that started while another was being written: its events wait here, in order. */
interface PendingBlock {
  readonly block: number;
  readonly events: readonly BlockEvent[];
}

export interface AnthropicCanonicalToStreamState {
  readonly message: { readonly id: string } | null;
  /** message_start written. */
  readonly started: boolean;
  /** Running usage (latest value per bucket). */
  readonly usage: Usage;
  readonly nextIndex: number;
  readonly active: ActiveBlock | null;
  readonly queue: readonly PendingBlock[];
  /** message_stop or error written: nothing may follow. */
  readonly done: boolean;
}

/** A mutable copy of the state for one step; nested values are replaced, never changed in place. */
type Draft = { -readonly [K in keyof AnthropicCanonicalToStreamState]: AnthropicCanonicalToStreamState[K] };

/**
 * Canonical events → Anthropic Messages SSE text, every event with its `event:` line: message_start, one
 * content_block_start / _delta / _stop run per block, message_delta (stop reason and the final usage), message_stop.
 *
 * Anthropic clients read one block at a time and index deltas by position in `content`, so blocks that arrive
 * interleaved (parallel tool calls streamed side by side) are written one after another: a block that starts while
 * another is open is buffered until that one ends. message_start waits for the first block (or the end), so usage
 * that arrives right after the upstream's start still makes it into message_start. Reasoning is written only with
 * Anthropic's own signature or redacted data; another provider's opaque reasoning is never passed on.
 */
export function anthropicCanonicalToStream(
  model: string,
): StreamMapper<AnthropicCanonicalToStreamState, CanonicalStreamEvent, string> {
  return {
    initial: () => ({
      message: null,
      started: false,
      usage: emptyUsage(),
      nextIndex: 0,
      active: null,
      queue: [],
      done: false,
    }),

    step(state, event) {
      if (state.done) return { state, out: [] };
      const draft: Draft = { ...state };
      const out: string[] = [];
      onEvent(draft, event, model, out);
      return { state: draft, out };
    },

    finish(state) {
      if (state.done) return [];
      // The canonical stream ended without finish or error: the client must still see the stream fail.
      return [errorEvent("api_error", "The response stream ended before it was complete.")];
    },
  };
}

function onEvent(s: Draft, event: CanonicalStreamEvent, model: string, out: string[]): void {
  switch (event.type) {
    case "start":
      s.message = { id: event.id };
      return;
    case "usage":
      s.usage = mergeUsage(s.usage, event.usage);
      return;
    case "finish": {
      ensureStarted(s, model, out);
      endAllBlocks(s, out);
      const usage = event.usage;
      out.push(
        sseEvent("message_delta", {
          type: "message_delta",
          delta: { stop_reason: canonicalStopToAnthropic(event.stop), stop_sequence: null },
          usage: anthropicUsageObject(usage),
        }),
        sseEvent("message_stop", { type: "message_stop" }),
      );
      s.usage = usage;
      s.done = true;
      return;
    }
    case "error":
      out.push(errorEvent(anthropicErrorTypeOf(event.error.type), event.error.message));
      s.done = true;
      return;
    case "text-start":
    case "reasoning-start":
    case "tool-call-start":
      ensureStarted(s, model, out);
      if (s.active === null) open(s, event, out);
      else s.queue = [...s.queue, { block: event.block, events: [event] }];
      return;
    case "text-delta":
    case "reasoning-delta":
    case "reasoning-opaque":
    case "tool-call-delta":
    case "block-end":
      onBlockEvent(s, event, out);
      return;
    default: {
      const unreachable: never = event;
      throw new Error(`unknown canonical event ${JSON.stringify(unreachable)}`);
    }
  }
}

function mergeUsage(usage: Usage, update: Partial<Usage>): Usage {
  return {
    input: update.input ?? usage.input,
    cacheRead: update.cacheRead ?? usage.cacheRead,
    cacheWrite5m: update.cacheWrite5m ?? usage.cacheWrite5m,
    cacheWrite1h: update.cacheWrite1h ?? usage.cacheWrite1h,
    output: update.output ?? usage.output,
    reasoning: update.reasoning ?? usage.reasoning,
  };
}

function ensureStarted(s: Draft, model: string, out: string[]): void {
  if (s.started) return;
  out.push(
    sseEvent("message_start", {
      type: "message_start",
      message: {
        id: s.message?.id || "msg_tollgate",
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsageObject(s.usage),
      },
    }),
  );
  s.started = true;
}

function open(s: Draft, event: BlockEvent, out: string[]): void {
  switch (event.type) {
    case "text-start":
      s.active = { block: event.block, kind: "text", index: null, redacted: false };
      return;
    case "reasoning-start":
      s.active = { block: event.block, kind: "reasoning", index: null, redacted: false };
      return;
    case "tool-call-start": {
      const index = writeStart(s, { type: "tool_use", id: event.id, name: event.name, input: {} }, out);
      s.active = { block: event.block, kind: "tool", index, redacted: false };
      return;
    }
    default:
      return;
  }
}

function writeStart(s: Draft, contentBlock: JsonObject, out: string[]): number {
  const index = s.nextIndex;
  s.nextIndex = index + 1;
  out.push(sseEvent("content_block_start", { type: "content_block_start", index, content_block: contentBlock }));
  return index;
}

function writeDelta(index: number, delta: JsonObject, out: string[]): void {
  out.push(sseEvent("content_block_delta", { type: "content_block_delta", index, delta }));
}

function onBlockEvent(s: Draft, event: BlockEvent, out: string[]): void {
  const active = s.active;
  if (active !== null && active.block === event.block) {
    onActive(s, active, event, out);
    return;
  }
  const at = s.queue.findIndex((pending) => pending.block === event.block);
  if (at === -1) return;
  s.queue = s.queue.map((pending, i) =>
    i === at ? { block: pending.block, events: [...pending.events, event] } : pending,
  );
}

function onActive(s: Draft, active: ActiveBlock, event: BlockEvent, out: string[]): void {
  switch (event.type) {
    case "text-delta": {
      if (active.kind !== "text" || event.text === "") return;
      const index = active.index ?? writeStart(s, { type: "text", text: "" }, out);
      s.active = { ...active, index };
      writeDelta(index, { type: "text_delta", text: event.text }, out);
      return;
    }
    case "tool-call-delta":
      if (active.kind === "tool" && active.index !== null && event.argumentsDelta !== "") {
        writeDelta(active.index, { type: "input_json_delta", partial_json: event.argumentsDelta }, out);
      }
      return;
    case "reasoning-delta": {
      if (active.kind !== "reasoning" || active.redacted || event.text === "") return;
      const index = active.index ?? writeStart(s, { type: "thinking", thinking: "", signature: "" }, out);
      s.active = { ...active, index };
      writeDelta(index, { type: "thinking_delta", thinking: event.text }, out);
      return;
    }
    case "reasoning-opaque": {
      const opaque = event.opaque;
      if (active.kind !== "reasoning" || active.redacted || opaque.dialect !== "anthropic") return;
      if (opaque.kind === "redacted") {
        // Redacted thinking arrives whole; it cannot follow thinking text in the same block.
        if (active.index !== null) return;
        const index = writeStart(s, { type: "redacted_thinking", data: opaque.value }, out);
        s.active = { ...active, index, redacted: true };
        return;
      }
      if (opaque.kind !== "signature") return;
      const index = active.index ?? writeStart(s, { type: "thinking", thinking: "", signature: "" }, out);
      s.active = { ...active, index };
      writeDelta(index, { type: "signature_delta", signature: opaque.value }, out);
      return;
    }
    case "block-end":
      if (active.index !== null) {
        out.push(sseEvent("content_block_stop", { type: "content_block_stop", index: active.index }));
      }
      s.active = null;
      promote(s, out);
      return;
    default:
      return;
  }
}

/** Writes buffered blocks while none is open: each one's events are replayed in order. */
function promote(s: Draft, out: string[]): void {
  while (s.active === null) {
    const [first, ...rest] = s.queue;
    if (first === undefined) return;
    s.queue = rest;
    for (const event of first.events) {
      if (s.active === null) open(s, event, out);
      else onBlockEvent(s, event, out);
    }
  }
}

/** At the end of the message every block is closed, buffered ones included. */
function endAllBlocks(s: Draft, out: string[]): void {
  for (;;) {
    const active = s.active;
    if (active !== null) onActive(s, active, { type: "block-end", block: active.block }, out);
    else if (s.queue.length > 0) promote(s, out);
    else return;
  }
}

function errorEvent(type: string, message: string): string {
  return sseEvent("error", { type: "error", error: { type, message } });
}

const ANTHROPIC_ERROR_TYPES: ReadonlySet<string> = new Set<AnthropicErrorType>([
  "invalid_request_error",
  "authentication_error",
  "billing_error",
  "permission_error",
  "not_found_error",
  "request_too_large",
  "rate_limit_error",
  "timeout_error",
  "api_error",
  "overloaded_error",
]);

const ERROR_KINDS: Record<ErrorKind, true> = {
  invalid_request: true,
  authentication: true,
  permission: true,
  not_found: true,
  payload_too_large: true,
  rate_limited: true,
  budget_exhausted: true,
  upstream_error: true,
  upstream_unavailable: true,
  upstream_timeout: true,
  internal: true,
};

function isAnthropicErrorType(type: string): type is AnthropicErrorType {
  return ANTHROPIC_ERROR_TYPES.has(type);
}

function isErrorKind(type: string): type is ErrorKind {
  return Object.hasOwn(ERROR_KINDS, type);
}

/** Other providers' in-stream error codes that have a clear Anthropic type. */
const FOREIGN_ERROR_TYPES = new Map<string, AnthropicErrorType>([
  ["rate_limit_exceeded", "rate_limit_error"],
  ["insufficient_quota", "billing_error"],
  ["server_error", "api_error"],
  ["RESOURCE_EXHAUSTED", "rate_limit_error"],
  ["UNAVAILABLE", "overloaded_error"],
  ["DEADLINE_EXCEEDED", "timeout_error"],
  ["INVALID_ARGUMENT", "invalid_request_error"],
  ["PERMISSION_DENIED", "permission_error"],
  ["UNAUTHENTICATED", "authentication_error"],
  ["NOT_FOUND", "not_found_error"],
  // AWS Bedrock's in-stream exceptions.
  ["throttlingException", "rate_limit_error"],
  ["serviceUnavailableException", "overloaded_error"],
  ["validationException", "invalid_request_error"],
  ["modelTimeoutException", "timeout_error"],
]);

/**
 * The canonical error's type as an Anthropic error type (the SDK builds its error from it): Anthropic's own types
 * pass, Tollgate's error kinds map through the dialect's table, known foreign codes map, anything else is api_error.
 */
export function anthropicErrorTypeOf(type: string): AnthropicErrorType {
  if (isAnthropicErrorType(type)) return type;
  if (isErrorKind(type)) return anthropicErrorType(type);
  return FOREIGN_ERROR_TYPES.get(type) ?? "api_error";
}
