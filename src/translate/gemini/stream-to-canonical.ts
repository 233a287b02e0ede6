import {
  type GeminiCounts,
  geminiCountsToUsage,
  hasAnyCount,
  mergeGeminiCounts,
  readGeminiCounts,
} from "../../dialects/gemini/usage.ts";
import {
  arrayAt,
  isObject,
  objectAt,
  stringAt,
  tryParseJson,
  type JsonObject as WireObject,
} from "../../dialects/shared/narrow.ts";
import type { CanonicalStop, CanonicalStreamEvent, SseEvent, StreamMapper } from "../canonical.ts";
import { mapGeminiBlockReason, mapGeminiFinishReason } from "./finish-reason.ts";
import { objectField, stringField, toJsonObject } from "./json.ts";
import { applyPartialArgs, type PartialArgsState } from "./partial-args.ts";
import { GEMINI_SIGNATURE } from "./parts.ts";

/** A function call whose arguments arrive in pieces (Vertex `partialArgs`), emitted whole when it ends. */
interface PartialCall extends PartialArgsState {
  block: number;
}

export interface GeminiStreamState {
  started: boolean;
  /** An error chunk ended the stream; nothing more is emitted. */
  failed: boolean;
  nextBlock: number;
  /** The text or reasoning block that deltas go to; `signed` once a reasoning block got its signature. */
  open: { kind: "text" | "reasoning"; block: number; signed: boolean } | null;
  /** Function calls seen: the next call's index (its id is `call_<index>` when Gemini sends none). */
  calls: number;
  partial: PartialCall | null;
  stop: CanonicalStop | null;
  counts: GeminiCounts;
  /** The last usage emitted (JSON), to emit only changes. */
  lastUsage: string;
}

/**
 * Gemini `streamGenerateContent?alt=sse` → canonical events. Each `data:` chunk is a whole GenerateContentResponse
 * holding the NEW part(s) only: text parts are deltas, function calls arrive whole (Vertex may stream their
 * arguments as `partialArgs`), `thoughtSignature` rides on a part (it becomes a reasoning block of its own, just
 * before the part's block, as in parts.ts). `usageMetadata` is a running total (latest count wins, via
 * dialects/gemini/usage.ts). The chunk with `finishReason` (or a prompt `blockReason`) is the last; `finish` is
 * emitted when the input ends so a later usage-only chunk still counts. An `{"error":…}` chunk ends the stream with
 * an `error` event; input ending without a finish reason ends it with `error` `stream_incomplete`. Inline media
 * and other non-text output parts have no canonical stream event and are skipped.
 */
export function geminiStreamToCanonical(): StreamMapper<GeminiStreamState, SseEvent, CanonicalStreamEvent> {
  return { initial, step, finish };
}

function initial(): GeminiStreamState {
  return {
    started: false,
    failed: false,
    nextBlock: 0,
    open: null,
    calls: 0,
    partial: null,
    stop: null,
    counts: {},
    lastUsage: "",
  };
}

function clone(state: GeminiStreamState): GeminiStreamState {
  return {
    ...state,
    open: state.open === null ? null : { ...state.open },
    partial: state.partial === null ? null : structuredClone(state.partial),
    counts: { ...state.counts },
  };
}

function step(prev: GeminiStreamState, input: SseEvent): { state: GeminiStreamState; out: CanonicalStreamEvent[] } {
  const data = input.data.trim();
  if (prev.failed || data === "" || data === "[DONE]") return { state: prev, out: [] };
  const s = clone(prev);
  const out: CanonicalStreamEvent[] = [];
  const chunk = tryParseJson(data);
  if (!isObject(chunk)) {
    fail(s, out, { type: "invalid_response", message: "the upstream sent a stream chunk that is not a JSON object" });
    return { state: s, out };
  }
  const error = objectAt(chunk, "error");
  if (error !== undefined) {
    const code = error.code;
    fail(s, out, {
      type: stringAt(error, "status") ?? (typeof code === "number" ? String(code) : "error"),
      message: stringAt(error, "message") ?? "",
    });
    return { state: s, out };
  }
  if (!s.started) {
    s.started = true;
    out.push({ type: "start", id: stringAt(chunk, "responseId") ?? "", model: stringAt(chunk, "modelVersion") ?? "" });
  }

  const candidate = arrayAt(chunk, "candidates")?.find(isObject);
  for (const part of arrayAt(objectAt(candidate ?? {}, "content") ?? {}, "parts") ?? []) {
    if (isObject(part)) onPart(s, out, part);
  }
  const finishReason = stringAt(candidate, "finishReason");
  const blockReason = stringAt(objectAt(chunk, "promptFeedback"), "blockReason");
  if (finishReason !== undefined || blockReason !== undefined) {
    closeOpen(s, out);
    endPartial(s, out);
    s.stop =
      finishReason !== undefined
        ? mapGeminiFinishReason(finishReason, s.calls > 0)
        : mapGeminiBlockReason(blockReason ?? "");
  }

  const usage = objectAt(chunk, "usageMetadata");
  if (usage !== undefined) {
    const counts = readGeminiCounts(usage);
    if (hasAnyCount(counts)) {
      mergeGeminiCounts(s.counts, counts);
      const next = geminiCountsToUsage(s.counts);
      const json = JSON.stringify(next);
      if (json !== s.lastUsage) {
        s.lastUsage = json;
        out.push({ type: "usage", usage: next });
      }
    }
  }
  return { state: s, out };
}

function finish(state: GeminiStreamState): CanonicalStreamEvent[] {
  if (state.failed) return [];
  const s = clone(state);
  const out: CanonicalStreamEvent[] = [];
  closeOpen(s, out);
  endPartial(s, out);
  if (s.stop === null) {
    out.push({
      type: "error",
      error: { type: "stream_incomplete", message: "the upstream stream ended before its last chunk (finishReason)" },
    });
  } else {
    out.push({ type: "finish", stop: s.stop, usage: geminiCountsToUsage(s.counts) });
  }
  return out;
}

function fail(s: GeminiStreamState, out: CanonicalStreamEvent[], error: { type: string; message: string }): void {
  closeOpen(s, out);
  if (s.partial !== null) {
    out.push({ type: "block-end", block: s.partial.block });
    s.partial = null;
  }
  s.failed = true;
  out.push({ type: "error", error });
}

function onPart(s: GeminiStreamState, out: CanonicalStreamEvent[], part: WireObject): void {
  const signature = stringField(part, "thoughtSignature");
  const text = stringField(part, "text");
  if (part.thought === true && text !== undefined) {
    if (s.open?.kind === "reasoning" && s.open.signed && signature !== undefined) closeOpen(s, out);
    const open = ensureOpen(s, out, "reasoning");
    if (text !== "") out.push({ type: "reasoning-delta", block: open.block, text });
    if (signature !== undefined) {
      out.push({ type: "reasoning-opaque", block: open.block, opaque: geminiOpaque(signature) });
      open.signed = true;
    }
    return;
  }
  const call = objectField(part, "functionCall");
  if (signature !== undefined) {
    // A signature starts what it rides on, except on a later piece of a call whose arguments are still streaming
    // (the call's block stays open; blocks may interleave).
    const continuation = call !== undefined && !stringField(call, "name") && s.partial !== null;
    closeOpen(s, out);
    if (!continuation) endPartial(s, out);
    const block = s.nextBlock++;
    out.push({ type: "reasoning-start", block });
    out.push({ type: "reasoning-opaque", block, opaque: geminiOpaque(signature) });
    out.push({ type: "block-end", block });
  }
  if (text !== undefined) {
    if (text !== "") {
      const open = ensureOpen(s, out, "text");
      out.push({ type: "text-delta", block: open.block, text });
    }
    return;
  }
  if (call !== undefined) {
    onFunctionCall(s, out, call);
    return;
  }
  const code = objectField(part, "executableCode");
  const result = objectField(part, "codeExecutionResult");
  if (code !== undefined || result !== undefined) {
    const body = code !== undefined ? (stringField(code, "code") ?? "") : (stringField(result, "output") ?? "");
    const open = ensureOpen(s, out, "text");
    out.push({ type: "text-delta", block: open.block, text: `\n\`\`\`\n${body}\n\`\`\`\n` });
  }
}

function onFunctionCall(s: GeminiStreamState, out: CanonicalStreamEvent[], call: WireObject): void {
  const name = stringField(call, "name");
  const partialArgs = arrayAt(call, "partialArgs");
  const streamed = call.willContinue === true || partialArgs !== undefined;
  if (name !== undefined && name !== "") {
    closeOpen(s, out);
    endPartial(s, out);
    const block = s.nextBlock++;
    const index = s.calls++;
    const id = stringField(call, "id");
    out.push({ type: "tool-call-start", block, id: id !== undefined && id !== "" ? id : `call_${index}`, name });
    const args = objectField(call, "args");
    if (!streamed) {
      out.push({
        type: "tool-call-delta",
        block,
        argumentsDelta: JSON.stringify(args === undefined ? {} : toJsonObject(args)),
      });
      out.push({ type: "block-end", block });
      return;
    }
    s.partial = { block, args: args === undefined ? {} : toJsonObject(args), continuing: null };
  }
  const partial = s.partial;
  if (partial === null) return;
  if (partialArgs !== undefined) applyPartialArgs(partial, partialArgs);
  if (call.willContinue !== true) endPartial(s, out);
}

function endPartial(s: GeminiStreamState, out: CanonicalStreamEvent[]): void {
  const partial = s.partial;
  if (partial === null) return;
  s.partial = null;
  out.push({ type: "tool-call-delta", block: partial.block, argumentsDelta: JSON.stringify(partial.args) });
  out.push({ type: "block-end", block: partial.block });
}

function ensureOpen(
  s: GeminiStreamState,
  out: CanonicalStreamEvent[],
  kind: "text" | "reasoning",
): NonNullable<GeminiStreamState["open"]> {
  if (s.open !== null && s.open.kind === kind) return s.open;
  closeOpen(s, out);
  endPartial(s, out);
  const block = s.nextBlock++;
  out.push({ type: kind === "text" ? "text-start" : "reasoning-start", block });
  s.open = { kind, block, signed: false };
  return s.open;
}

function closeOpen(s: GeminiStreamState, out: CanonicalStreamEvent[]): void {
  if (s.open === null) return;
  out.push({ type: "block-end", block: s.open.block });
  s.open = null;
}

function geminiOpaque(value: string): { dialect: "gemini"; kind: typeof GEMINI_SIGNATURE; value: string } {
  return { dialect: "gemini", kind: GEMINI_SIGNATURE, value };
}
