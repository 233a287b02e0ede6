import { sseEvent } from "../../dialects/shared/error-shape.ts";
import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { CanonicalStop, CanonicalStreamEvent, JsonObject, StreamMapper } from "../canonical.ts";
import { toResponsesUsage } from "./convert-usage.ts";
import { terminalForStop } from "./map-stop.ts";
import {
  callArguments,
  clientResponseId,
  messageItem,
  outputItemId,
  outputTextPart,
  reasoningItem,
  responseObject,
  summaryPart,
  toolCallItem,
} from "./output-items.ts";
import type { ResponsesOutputOptions } from "./output-options.ts";
import type { ReasoningOpaque } from "./reasoning-opaque.ts";
import { type ClientTool, clientToolFor } from "./tools.ts";

/**
 * Canonical events → the client's Responses SSE stream (`event:` lines, `sequence_number` from 0), as a pure
 * reducer. Each canonical block is one output item: text → message (one output_text part), reasoning → reasoning
 * item (one summary part), tool call → the item the client declared the tool as. Function-call arguments stream as
 * `function_call_arguments.delta`s; custom-tool input and local-shell actions need the whole arguments, so they are
 * sent at the block's end. Every `output_item.done` carries the full item, and the terminal event carries the full
 * output and usage: `response.completed`, `response.incomplete` (max tokens, content filter) or `response.failed`
 * (after an `error` event shaped like dialects/openai-responses/errors.ts).
 */

type ItemKind =
  | { readonly kind: "message" }
  | { readonly kind: "reasoning" }
  | { readonly kind: "call"; readonly callId: string; readonly client: ClientTool };

type OpenItem = ItemKind & {
  readonly outputIndex: number;
  readonly id: string;
  /** Text, reasoning text or call arguments so far. */
  readonly text: string;
  readonly opaque: ReasoningOpaque | null;
};

type ItemPrefix = "msg" | "rs" | "fc" | "ctc" | "lsc";

export interface CanonicalToResponsesStreamState {
  readonly phase: "idle" | "open" | "done";
  readonly sequence: number;
  readonly id: string;
  readonly usage: Usage;
  readonly nextOutputIndex: number;
  /** By canonical block. */
  readonly open: ReadonlyMap<number, OpenItem>;
  /** Finished items by output index (the terminal event's `output`). */
  readonly done: ReadonlyMap<number, JsonObject>;
}

interface Draft {
  phase: "idle" | "open" | "done";
  sequence: number;
  id: string;
  usage: Usage;
  nextOutputIndex: number;
  open: Map<number, OpenItem>;
  done: Map<number, JsonObject>;
  out: string[];
}

export function canonicalToResponsesStream(
  model: string,
  options: ResponsesOutputOptions = {},
): StreamMapper<CanonicalToResponsesStreamState, CanonicalStreamEvent, string> {
  const createdAt = options.createdAt ?? 0;
  const includeEncrypted = options.includeEncryptedReasoning ?? true;

  const emit = (d: Draft, type: string, payload: JsonObject): void => {
    d.out.push(sseEvent(type, { type, ...payload, sequence_number: d.sequence }));
    d.sequence += 1;
  };

  const response = (
    d: Draft,
    status: "in_progress" | "completed" | "incomplete" | "failed",
    extra: { incompleteReason?: string | null; error?: { code: string; message: string } | null } = {},
  ): JsonObject =>
    responseObject({
      id: d.id,
      model,
      createdAt,
      status,
      output: status === "in_progress" ? [] : [...d.done].sort(([a], [b]) => a - b).map(([, item]) => item),
      usage: status === "in_progress" ? null : toResponsesUsage(d.usage),
      ...extra,
    });

  const start = (d: Draft, id: string): void => {
    if (d.phase !== "idle") return;
    d.phase = "open";
    d.id = clientResponseId(id === "" ? "tollgate" : id);
    emit(d, "response.created", { response: response(d, "in_progress") });
    emit(d, "response.in_progress", { response: response(d, "in_progress") });
  };

  const openItem = (d: Draft, block: number, kind: ItemKind, prefix: ItemPrefix): OpenItem => {
    const outputIndex = d.nextOutputIndex;
    d.nextOutputIndex += 1;
    const opened: OpenItem = {
      ...kind,
      outputIndex,
      id: outputItemId(prefix, d.id, outputIndex),
      text: "",
      opaque: null,
    };
    d.open.set(block, opened);
    return opened;
  };

  /** The item as the client sees it, in progress or finished. */
  const itemObject = (item: OpenItem, done: boolean): JsonObject => {
    const status = done ? "completed" : "in_progress";
    switch (item.kind) {
      case "message":
        return messageItem(item.id, done ? [item.text] : [], status);
      case "reasoning":
        return done
          ? reasoningItem(item.id, item.text, item.opaque, includeEncrypted)
          : { id: item.id, type: "reasoning", summary: [] };
      case "call": {
        // Arguments (custom input, shell action) are filled in when the item is done.
        const call = { id: item.callId, arguments: done ? callArguments(item.text) : "" };
        return toolCallItem(item.id, call, item.client, status);
      }
      default: {
        const unreachable: never = item;
        throw new Error(`unknown item ${JSON.stringify(unreachable)}`);
      }
    }
  };

  const added = (d: Draft, item: OpenItem): void => {
    emit(d, "response.output_item.added", { output_index: item.outputIndex, item: itemObject(item, false) });
    if (item.kind === "message") {
      emit(d, "response.content_part.added", {
        item_id: item.id,
        output_index: item.outputIndex,
        content_index: 0,
        part: outputTextPart(""),
      });
    }
  };

  const delta = (d: Draft, block: number, text: string): void => {
    const item = d.open.get(block);
    if (item === undefined || text === "") return;
    d.open.set(block, { ...item, text: item.text + text });
    const at = { item_id: item.id, output_index: item.outputIndex };
    if (item.kind === "message") {
      emit(d, "response.output_text.delta", { ...at, content_index: 0, delta: text, logprobs: [] });
    } else if (item.kind === "reasoning") {
      if (item.text === "")
        emit(d, "response.reasoning_summary_part.added", { ...at, summary_index: 0, part: summaryPart("") });
      emit(d, "response.reasoning_summary_text.delta", { ...at, summary_index: 0, delta: text });
    } else if (item.client.kind === "function") {
      emit(d, "response.function_call_arguments.delta", { ...at, delta: text });
    }
  };

  const end = (d: Draft, block: number): void => {
    const item = d.open.get(block);
    if (item === undefined) return;
    d.open.delete(block);
    const at = { item_id: item.id, output_index: item.outputIndex };
    const done = itemObject(item, true);
    if (item.kind === "message") {
      emit(d, "response.output_text.done", { ...at, content_index: 0, text: item.text, logprobs: [] });
      emit(d, "response.content_part.done", { ...at, content_index: 0, part: outputTextPart(item.text) });
    } else if (item.kind === "reasoning" && item.text !== "") {
      emit(d, "response.reasoning_summary_text.done", { ...at, summary_index: 0, text: item.text });
      emit(d, "response.reasoning_summary_part.done", { ...at, summary_index: 0, part: summaryPart(item.text) });
    } else if (item.kind === "call" && item.client.kind === "function") {
      if (item.text === "") emit(d, "response.function_call_arguments.delta", { ...at, delta: "{}" });
      emit(d, "response.function_call_arguments.done", { ...at, arguments: callArguments(item.text) });
    } else if (item.kind === "call" && item.client.kind === "custom") {
      const input = typeof done.input === "string" ? done.input : "";
      if (input !== "") emit(d, "response.custom_tool_call_input.delta", { ...at, delta: input });
      emit(d, "response.custom_tool_call_input.done", { ...at, input });
    }
    d.done.set(item.outputIndex, done);
    emit(d, "response.output_item.done", { output_index: item.outputIndex, item: done });
  };

  const endAll = (d: Draft): void => {
    for (const block of [...d.open.keys()].sort((a, b) => a - b)) end(d, block);
  };

  const fail = (d: Draft, error: { type: string; message: string }): void => {
    start(d, "");
    endAll(d);
    const code = clientErrorCode(error.type);
    // Both at the top level (openai-node's ResponseErrorEvent) and nested (as the live API sends it).
    emit(d, "error", {
      code,
      message: error.message,
      param: null,
      error: { type: error.type, code, message: error.message, param: null },
    });
    emit(d, "response.failed", { response: response(d, "failed", { error: { code, message: error.message } }) });
    d.phase = "done";
  };

  const finish = (d: Draft, stop: CanonicalStop, usage: Usage): void => {
    start(d, "");
    endAll(d);
    d.usage = usage;
    const terminal = terminalForStop(stop);
    const extra =
      terminal.status === "failed"
        ? { error: { code: "server_error", message: `The model stopped with an error (${stop.raw ?? "unknown"})` } }
        : { incompleteReason: terminal.incompleteReason };
    emit(d, `response.${terminal.status}`, { response: response(d, terminal.status, extra) });
    d.phase = "done";
  };

  const draft = (state: CanonicalToResponsesStreamState): Draft => ({
    ...state,
    open: new Map(state.open),
    done: new Map(state.done),
    out: [],
  });
  const freeze = (d: Draft): CanonicalToResponsesStreamState => ({
    phase: d.phase,
    sequence: d.sequence,
    id: d.id,
    usage: d.usage,
    nextOutputIndex: d.nextOutputIndex,
    open: d.open,
    done: d.done,
  });

  return {
    initial: () => ({
      phase: "idle",
      sequence: 0,
      id: "",
      usage: emptyUsage(),
      nextOutputIndex: 0,
      open: new Map(),
      done: new Map(),
    }),

    step(state, event) {
      if (state.phase === "done") return { state, out: [] };
      const d = draft(state);
      switch (event.type) {
        case "start":
          start(d, event.id);
          break;
        case "text-start":
          start(d, "");
          added(d, openItem(d, event.block, { kind: "message" }, "msg"));
          break;
        case "reasoning-start":
          start(d, "");
          added(d, openItem(d, event.block, { kind: "reasoning" }, "rs"));
          break;
        case "tool-call-start": {
          start(d, "");
          const client = clientToolFor(event.name, options.tools);
          const prefix = client.kind === "function" ? "fc" : client.kind === "custom" ? "ctc" : "lsc";
          added(d, openItem(d, event.block, { kind: "call", callId: event.id, client }, prefix));
          break;
        }
        case "text-delta":
        case "reasoning-delta":
          delta(d, event.block, event.text);
          break;
        case "tool-call-delta":
          delta(d, event.block, event.argumentsDelta);
          break;
        case "reasoning-opaque": {
          const item = d.open.get(event.block);
          if (item !== undefined) d.open.set(event.block, { ...item, opaque: event.opaque });
          break;
        }
        case "block-end":
          end(d, event.block);
          break;
        case "usage":
          d.usage = { ...d.usage, ...event.usage };
          break;
        case "finish":
          finish(d, event.stop, event.usage);
          break;
        case "error":
          fail(d, event.error);
          break;
        default: {
          const unreachable: never = event;
          throw new Error(`unknown canonical event ${JSON.stringify(unreachable)}`);
        }
      }
      return { state: freeze(d), out: d.out };
    },

    finish(state) {
      if (state.phase === "done") return [];
      const d = draft(state);
      fail(d, { type: "upstream_stream_incomplete", message: "The response ended before it was complete" });
      return d.out;
    },
  };
}

/**
 * The error code a Responses client acts on. Codex retries `rate_limit_exceeded` and `server_is_overloaded`, and
 * stops on `insufficient_quota`; other providers' names for the same conditions are mapped onto them.
 */
function clientErrorCode(type: string): string {
  switch (type) {
    case "rate_limit_error":
    case "RESOURCE_EXHAUSTED":
      return "rate_limit_exceeded";
    case "overloaded_error":
    case "UNAVAILABLE":
      return "server_is_overloaded";
    default:
      return type;
  }
}
