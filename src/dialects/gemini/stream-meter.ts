import type { StreamMeter, StreamMetering } from "../dialect.ts";
import { FieldScanner, fieldIndexes } from "../shared/field-scanner.ts";
import type { StreamMeterOptions } from "../shared/meter-options.ts";
import { arrayAt, isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../shared/narrow.ts";
import { SseFramer } from "../shared/sse-framer.ts";
import { StreamState } from "../shared/stream-state.ts";
import { JsonElementSplitter } from "./json-element-splitter.ts";
import {
  countGeminiChunkChars,
  type GeminiCounts,
  geminiCountsToUsage,
  hasAnyCount,
  mergeGeminiCounts,
  readGeminiCounts,
} from "./usage.ts";

/**
 * The chunk fields the shortcut reads, and their indexes in the scanner. A chunk with an error, thought parts,
 * function calls, code or grounding (whose `text` values would mislead) is parsed instead.
 */
const SCANNED_KEYS = [
  "text",
  "modelVersion",
  "finishReason",
  "blockReason",
  "promptTokenCount",
  "cachedContentTokenCount",
  "toolUsePromptTokenCount",
  "candidatesTokenCount",
  "thoughtsTokenCount",
  "error",
  "thought",
  "functionCall",
  "executableCode",
  "groundingMetadata",
] as const;
const F = fieldIndexes(SCANNED_KEYS);
const COUNT_FIELDS = [
  F.promptTokenCount,
  F.cachedContentTokenCount,
  F.toolUsePromptTokenCount,
  F.candidatesTokenCount,
  F.thoughtsTokenCount,
];

/**
 * Meters a Gemini `:streamGenerateContent` response. With `alt=sse` it is `data: <GenerateContentResponse>` events
 * (no `event:` lines, no `[DONE]`; the stream ends when the connection closes); without it, one JSON array of
 * GenerateContentResponses written piece by piece. The format is recognised from the first character (`[` or `{`
 * means JSON). Each chunk's usageMetadata is a running total: the latest value of each count wins. A chunk with a
 * candidate `finishReason` (or a prompt `blockReason`) ends the response; a `{"error":{…}}` chunk is an in-band error.
 *
 * Hot-path shortcuts: most chunks carry a running usageMetadata, so parsing each would parse every chunk. Instead a
 * plain text chunk is read in one pass without JSON.parse (FieldScanner): the model from `modelVersion`, the finish
 * or block reason, the text length from the `text` values; a chunk with counts is kept as text and only the latest
 * one is parsed, lazily, when a result is asked for (every chunk repeats all running counts, so the last is
 * complete). Chunks with thought parts, function calls, code or grounding (whose `text` would mislead) are parsed.
 */
export function createGeminiStreamMeter(options: StreamMeterOptions = {}): StreamMeter {
  return new GeminiStreamMeter(options.shortcuts ?? true);
}

class GeminiStreamMeter implements StreamMeter {
  readonly #state = new StreamState();
  readonly #shortcuts: boolean;
  readonly #decoder = new TextDecoder();
  readonly #counts: GeminiCounts = {};
  readonly #scanner = new FieldScanner(SCANNED_KEYS, ["modelVersion", "finishReason", "blockReason"]);
  #sawCounts = false;
  /** The latest chunk with usage counts, not parsed yet. */
  #pendingUsage: string | null = null;
  #format: "unknown" | "sse" | "json" = "unknown";
  #sse: SseFramer | null = null;
  #json: JsonElementSplitter | null = null;
  /** Text seen before the format is known (only whitespace can be held back). */
  #held = "";

  constructor(shortcuts: boolean) {
    this.#shortcuts = shortcuts;
  }

  push(chunk: Uint8Array): void {
    this.#pushText(this.#decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    this.#pushText(this.#decoder.decode());
    this.#sse?.endText();
  }

  result(): StreamMetering {
    this.#flushPendingUsage();
    const finalUsage = this.#state.finished && this.#sawCounts;
    return this.#state.result(geminiCountsToUsage(this.#counts), finalUsage);
  }

  #pushText(text: string): void {
    if (text === "") return;
    if (this.#format === "unknown") {
      const all = this.#held + text;
      const first = all.trimStart().charCodeAt(0);
      if (Number.isNaN(first)) {
        this.#held = all;
        return;
      }
      this.#held = "";
      this.#startFormat(first === 91 || first === 123 ? "json" : "sse");
      text = all;
    }
    try {
      if (this.#sse !== null) this.#sse.pushText(text);
      else this.#json?.push(text);
    } catch {
      // Metering must never throw into the stream it watches.
    }
  }

  #startFormat(format: "sse" | "json"): void {
    this.#format = format;
    if (format === "sse") this.#sse = new SseFramer((_event, data) => this.#onChunkText(data));
    else
      this.#json = new JsonElementSplitter((json) => {
        try {
          this.#onChunkText(json);
        } catch {
          // A metering bug loses this chunk only, never the splitter's place in the body.
        }
      });
  }

  #onChunkText(data: string): void {
    if (this.#shortcuts && this.#readWithoutParsing(data)) return;
    const chunk = tryParseJson(data);
    if (isObject(chunk)) this.#onChunk(chunk);
  }

  /** Reads a plain text chunk in one pass over its text; false when the chunk needs a real parse. */
  #readWithoutParsing(data: string): boolean {
    const scan = this.#scanner;
    scan.scan(data);
    if (
      scan.seen(F.error) ||
      scan.seen(F.thought) ||
      scan.seen(F.functionCall) ||
      scan.seen(F.executableCode) ||
      scan.seen(F.groundingMetadata)
    ) {
      return false;
    }
    const state = this.#state;
    const model = scan.first(F.modelVersion);
    if (model) state.servedModel = model;
    if (COUNT_FIELDS.some((f) => scan.seen(f))) this.#pendingUsage = data;
    const reason = scan.first(F.finishReason) ?? scan.first(F.blockReason);
    if (reason !== null) {
      state.stopReason = reason;
      state.finished = true;
    }
    state.addOutput(scan.chars(F.text));
    return true;
  }

  #onChunk(chunk: JsonObject): void {
    const state = this.#state;
    const error = objectAt(chunk, "error");
    if (error !== undefined) {
      const code = error.code;
      state.setError({
        type: stringAt(error, "status") ?? (typeof code === "number" ? String(code) : "error"),
        message: stringAt(error, "message") ?? "",
      });
      return;
    }
    const model = stringAt(chunk, "modelVersion");
    if (model) state.servedModel = model;
    const usage = objectAt(chunk, "usageMetadata");
    if (usage !== undefined) this.#mergeCounts(readGeminiCounts(usage));
    for (const candidate of arrayAt(chunk, "candidates") ?? []) {
      const reason = isObject(candidate) ? stringAt(candidate, "finishReason") : undefined;
      if (reason !== undefined) {
        state.stopReason = reason;
        state.finished = true;
      }
    }
    const blockReason = stringAt(objectAt(chunk, "promptFeedback"), "blockReason");
    if (blockReason !== undefined) {
      state.stopReason = blockReason;
      state.finished = true;
    }
    const chars = countGeminiChunkChars(chunk);
    state.addOutput(chars.outputChars);
    state.addReasoning(chars.reasoningChars);
    if (chars.toolCall) state.contentStarted = true;
  }

  #mergeCounts(counts: GeminiCounts): void {
    // An older unparsed chunk must not overwrite these newer counts later.
    this.#flushPendingUsage();
    if (hasAnyCount(counts)) this.#sawCounts = true;
    mergeGeminiCounts(this.#counts, counts);
  }

  #flushPendingUsage(): void {
    const pending = this.#pendingUsage;
    if (pending === null) return;
    this.#pendingUsage = null;
    const chunk = tryParseJson(pending);
    const usage = isObject(chunk) ? objectAt(chunk, "usageMetadata") : undefined;
    if (usage === undefined) return;
    const counts = readGeminiCounts(usage);
    if (hasAnyCount(counts)) this.#sawCounts = true;
    mergeGeminiCounts(this.#counts, counts);
  }
}
