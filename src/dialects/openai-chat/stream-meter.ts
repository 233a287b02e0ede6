import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { StreamMeter, StreamMetering } from "../dialect.ts";
import { hasArrayValue, hasObjectValue, hasStringValue, sumStringValueLengths } from "../shared/json-scan.ts";
import type { StreamMeterOptions } from "../shared/meter-options.ts";
import { arrayAt, isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../shared/narrow.ts";
import { SseFramer } from "../shared/sse-framer.ts";
import { StreamState } from "../shared/stream-state.ts";
import { convertOpenAiChatUsage, countChatMessageChars, findChatUsage } from "./usage.ts";

/**
 * Meters an OpenAI Chat Completions stream (`data: <chunk>` events, then `data: [DONE]`), including compatible
 * providers: Azure's first chunk with empty `model`/`choices`, DeepSeek and xAI `reasoning_content`, Groq's usage in
 * the finish chunk and in `x_groq.usage`. Usage arrives in one chunk near the end (with `choices: []` when the client
 * asked `stream_options.include_usage`; Groq puts it on the finish chunk). A few providers repeat running usage on
 * every chunk; the latest is kept and counts as final only once a finish reason, an empty `choices` or `[DONE]` says
 * the stream is over.
 *
 * Hot-path shortcut: a chunk is JSON-parsed only when it can matter beyond its text, i.e. while the model is still
 * unknown, or when its text shows a `"usage": {` / `x_groq.usage` object, an `"error"`, a string `finish_reason`, or
 * a custom tool call. Every other chunk (plain content, reasoning or tool-argument deltas) only has its text length
 * read without parsing, from the `content`, `refusal`, `arguments`, `reasoning_content` and `reasoning` string values.
 */
export function createOpenAiChatStreamMeter(options: StreamMeterOptions = {}): StreamMeter {
  return new OpenAiChatStreamMeter(options.shortcuts ?? true);
}

class OpenAiChatStreamMeter implements StreamMeter {
  readonly #state = new StreamState();
  readonly #shortcuts: boolean;
  readonly #framer: SseFramer;
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
    if (this.#shortcuts && !this.#needsParse(data)) {
      this.#countTextOnly(data);
      return;
    }
    const chunk = tryParseJson(data);
    if (isObject(chunk)) this.#onChunk(chunk);
  }

  #needsParse(data: string): boolean {
    return (
      this.#state.servedModel === null ||
      hasObjectValue(data, "usage") ||
      data.includes('"error"') ||
      hasStringValue(data, "finish_reason") ||
      data.includes('"custom"')
    );
  }

  #countTextOnly(data: string): void {
    const state = this.#state;
    state.addOutput(
      sumStringValueLengths(data, "content") +
        sumStringValueLengths(data, "refusal") +
        sumStringValueLengths(data, "arguments"),
    );
    state.addReasoning(sumStringValueLengths(data, "reasoning_content") + sumStringValueLengths(data, "reasoning"));
    if (hasArrayValue(data, "tool_calls")) state.contentStarted = true;
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
