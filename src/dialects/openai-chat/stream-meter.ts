import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { StreamMeter, StreamMetering } from "../dialect.ts";
import { FieldScanner, fieldIndexes } from "../shared/field-scanner.ts";
import type { StreamMeterOptions } from "../shared/meter-options.ts";
import { arrayAt, isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../shared/narrow.ts";
import { SseFramer } from "../shared/sse-framer.ts";
import { StreamState } from "../shared/stream-state.ts";
import { convertOpenAiChatUsage, countChatMessageChars, findChatUsage } from "./usage.ts";

/** The chunk fields the shortcut reads, and their indexes in the scanner. */
const SCANNED_KEYS = [
  "content",
  "refusal",
  "arguments",
  "reasoning_content",
  "reasoning",
  "tool_calls",
  "usage",
  "error",
  "finish_reason",
  "custom",
  "model",
] as const;
const F = fieldIndexes(SCANNED_KEYS);

/**
 * Meters an OpenAI Chat Completions stream (`data: <chunk>` events, then `data: [DONE]`), including compatible
 * providers: Azure's first chunk with empty `model`/`choices`, DeepSeek and xAI `reasoning_content`, Groq's usage in
 * the finish chunk and in `x_groq.usage`. Usage arrives in one chunk near the end (with `choices: []` when the client
 * asked `stream_options.include_usage`; Groq puts it on the finish chunk). A few providers repeat running usage on
 * every chunk; the latest is kept and counts as final only once a finish reason, an empty `choices` or `[DONE]` says
 * the stream is over.
 *
 * Hot-path shortcut: each chunk is first read in one pass over its text (FieldScanner, no JSON.parse). A chunk is
 * parsed only when that pass finds a `usage` object (top level or `x_groq`), an `error` object, a string
 * `finish_reason` or a custom tool call: a few chunks per stream. Every other chunk (content, reasoning or
 * tool-argument deltas) yields the model and the lengths of its `content`, `refusal`, `arguments`,
 * `reasoning_content` and `reasoning` strings from that pass. Measured: ~25% less work than parsing every chunk
 * (test/dialects/meter-bench.ts).
 */
export function createOpenAiChatStreamMeter(options: StreamMeterOptions = {}): StreamMeter {
  return new OpenAiChatStreamMeter(options.shortcuts ?? true);
}

class OpenAiChatStreamMeter implements StreamMeter {
  readonly #state = new StreamState();
  readonly #shortcuts: boolean;
  readonly #framer: SseFramer;
  readonly #scanner = new FieldScanner(SCANNED_KEYS, ["finish_reason", "model"]);
  #usage: Usage = emptyUsage();
  #usageSeen = false;
  #finishSeen = false;
  #finalUsage = false;

  constructor(shortcuts: boolean) {
    this.#shortcuts = shortcuts;
    this.#framer = new SseFramer((_event, data) => this.#onData(data));
  }

  push(chunk: Uint8Array): void {
    this.#framer.push(chunk);
  }

  end(): void {
    this.#framer.end();
  }

  result(): StreamMetering {
    return this.#state.result(this.#usage, this.#finalUsage);
  }

  #onData(data: string): void {
    if (data === "[DONE]") {
      this.#state.finished = true;
      if (this.#usageSeen) this.#finalUsage = true;
      return;
    }
    if (this.#shortcuts && this.#readWithoutParsing(data)) return;
    const chunk = tryParseJson(data);
    if (isObject(chunk)) this.#onChunk(chunk);
  }

  /** Reads a plain delta chunk in one pass over its text; false when the chunk needs a real parse. */
  #readWithoutParsing(data: string): boolean {
    const scan = this.#scanner;
    scan.scan(data);
    if (
      scan.hasObject(F.usage) ||
      scan.hasObject(F.error) ||
      scan.first(F.finish_reason) !== null ||
      scan.hasObject(F.custom)
    ) {
      return false;
    }
    const state = this.#state;
    const model = scan.first(F.model);
    if (model) state.servedModel = model;
    state.addOutput(scan.chars(F.content) + scan.chars(F.refusal) + scan.chars(F.arguments));
    state.addReasoning(scan.chars(F.reasoning_content) + scan.chars(F.reasoning));
    if (scan.hasNonEmptyArray(F.tool_calls)) state.contentStarted = true;
    return true;
  }

  #onChunk(chunk: JsonObject): void {
    const state = this.#state;
    const error = objectAt(chunk, "error");
    if (error !== undefined) {
      state.setError({
        type: stringAt(error, "type") ?? stringAt(error, "code") ?? "error",
        message: stringAt(error, "message") ?? "",
      });
      return;
    }
    const model = stringAt(chunk, "model");
    if (model) state.servedModel = model;

    const choices = arrayAt(chunk, "choices");
    let finishInChunk = false;
    for (const choice of choices ?? []) {
      if (!isObject(choice)) continue;
      const delta = objectAt(choice, "delta");
      if (delta !== undefined) {
        const chars = countChatMessageChars(delta);
        state.addOutput(chars.outputChars);
        state.addReasoning(chars.reasoningChars);
        if ((arrayAt(delta, "tool_calls")?.length ?? 0) > 0) state.contentStarted = true;
      }
      const finishReason = stringAt(choice, "finish_reason");
      if (finishReason !== undefined) {
        state.stopReason = finishReason;
        finishInChunk = true;
        this.#finishSeen = true;
      }
    }

    const usage = findChatUsage(chunk);
    if (usage !== undefined) {
      this.#usage = convertOpenAiChatUsage(usage);
      this.#usageSeen = true;
      if (finishInChunk || this.#finishSeen || choices?.length === 0) this.#finalUsage = true;
      if (finishInChunk) state.finished = true;
    }
  }
}
