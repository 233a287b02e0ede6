import type { StreamMeter, StreamMetering } from "../dialect.ts";
import { sumStringValueLengths } from "../shared/json-scan.ts";
import type { StreamMeterOptions } from "../shared/meter-options.ts";
import { isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../shared/narrow.ts";
import { SseFramer } from "../shared/sse-framer.ts";
import { StreamState } from "../shared/stream-state.ts";
import { type AnthropicCounts, anthropicCountsToUsage, mergeAnthropicCounts, readAnthropicCounts } from "./usage.ts";

/** Block types whose start event can carry model-generated content (or starts a model-generated tool call). */
const MODEL_BLOCK_TYPES = new Set([
  "text",
  "thinking",
  "redacted_thinking",
  "tool_use",
  "server_tool_use",
  "mcp_tool_use",
]);
const TOOL_CALL_BLOCK_TYPES = new Set(["tool_use", "server_tool_use", "mcp_tool_use"]);
const BLOCK_TYPE_PREFIX = '"content_block":{"type":"';

/**
 * Meters an Anthropic Messages SSE stream. Usage: `message_start` carries input and cache counts; each
 * `message_delta` carries cumulative counts (output, and possibly revised input/cache numbers), merged field by
 * field, latest wins. `message_stop` ends the message; `event: error` is an in-band error.
 *
 * Hot-path shortcuts (dispatch is on the SSE `event:` name, as the official SDK does):
 * - `ping`, `content_block_stop`: ignored without parsing.
 * - `content_block_delta` (by far the most frequent event): not parsed. The delta's text length is read straight
 *   from the JSON text (`sumStringValueLengths`, exact for valid JSON, see json-scan.ts): `text` for text_delta,
 *   `thinking` for thinking_delta, `partial_json` for input_json_delta; signature and citation deltas are skipped.
 * - `content_block_start`: parsed only for model blocks (text, thinking, tool calls). Server-tool results
 *   (web_fetch documents, code-execution output) can be large and are not model output, so they are skipped after
 *   reading the block type from the JSON text.
 * - `message_stop`: no parse needed.
 * Events without an `event:` line (or with an unknown one) are parsed and dispatched on their `type`.
 */
export function createAnthropicStreamMeter(options: StreamMeterOptions = {}): StreamMeter {
  return new AnthropicStreamMeter(options.shortcuts ?? true);
}

class AnthropicStreamMeter implements StreamMeter {
  readonly #state = new StreamState();
  readonly #counts: AnthropicCounts = {};
  readonly #shortcuts: boolean;
  readonly #framer: SseFramer;
  /** A message_delta with usage arrived: output is the provider's count, not an estimate. */
  #finalUsage = false;

  constructor(shortcuts: boolean) {
    this.#shortcuts = shortcuts;
    this.#framer = new SseFramer((event, data) => this.#onEvent(event, data));
  }

  push(chunk: Uint8Array): void {
    this.#framer.push(chunk);
  }

  end(): void {
    this.#framer.end();
  }

  result(): StreamMetering {
    return this.#state.result(anthropicCountsToUsage(this.#counts), this.#finalUsage);
  }

  #onEvent(event: string | undefined, data: string): void {
    if (this.#shortcuts && this.#tryShortcut(event, data)) return;
    const parsed = tryParseJson(data);
    if (!isObject(parsed)) return;
    // Once parsed, the payload's own `type` decides (it equals the event name on a well-formed stream).
    this.#onParsedEvent(stringAt(parsed, "type") ?? event, parsed);
  }

  /** Handles the event without JSON.parse when it safely can; false means "parse it". */
  #tryShortcut(event: string | undefined, data: string): boolean {
    switch (event) {
      case "ping":
      case "content_block_stop":
        return true;
      case "message_stop":
        this.#state.finished = true;
        return true;
      case "content_block_delta":
        this.#countDelta(data);
        return true;
      case "content_block_start": {
        const blockType = peekBlockType(data);
        return blockType !== null && !MODEL_BLOCK_TYPES.has(blockType);
      }
      default:
        return false;
    }
  }

  #countDelta(data: string): void {
    if (data.includes('"text_delta"')) this.#state.addOutput(sumStringValueLengths(data, "text"));
    else if (data.includes('"thinking_delta"')) this.#state.addReasoning(sumStringValueLengths(data, "thinking"));
    else if (data.includes('"input_json_delta"')) this.#state.addOutput(sumStringValueLengths(data, "partial_json"));
  }

  #onParsedEvent(type: string | undefined, event: JsonObject): void {
    const state = this.#state;
    switch (type) {
      case "message_start": {
        const message = objectAt(event, "message");
        const model = stringAt(message, "model");
        if (model) state.servedModel = model;
        const usage = message === undefined ? undefined : objectAt(message, "usage");
        if (usage !== undefined) mergeAnthropicCounts(this.#counts, readAnthropicCounts(usage));
        return;
      }
      case "message_delta": {
        const stopReason = stringAt(objectAt(event, "delta"), "stop_reason");
        if (stopReason !== undefined) state.stopReason = stopReason;
        const usage = objectAt(event, "usage");
        if (usage !== undefined) {
          mergeAnthropicCounts(this.#counts, readAnthropicCounts(usage));
          this.#finalUsage = true;
        }
        return;
      }
      case "message_stop":
        state.finished = true;
        return;
      case "content_block_start":
        this.#onBlockStart(objectAt(event, "content_block"));
        return;
      case "content_block_delta":
        this.#onDelta(objectAt(event, "delta"));
        return;
      case "error": {
        const error = objectAt(event, "error");
        state.setError({
          type: stringAt(error, "type") ?? "error",
          message: stringAt(error, "message") ?? "",
        });
        return;
      }
      default:
        return;
    }
  }

  #onBlockStart(block: JsonObject | undefined): void {
    if (block === undefined) return;
    const type = stringAt(block, "type") ?? "";
    if (type === "text") this.#state.addOutput((stringAt(block, "text") ?? "").length);
    else if (type === "thinking") this.#state.addReasoning((stringAt(block, "thinking") ?? "").length);
    // Redacted thinking arrives whole and encrypted; its length is a rough stand-in for the thinking it hides.
    else if (type === "redacted_thinking") this.#state.addReasoning((stringAt(block, "data") ?? "").length);
    else if (TOOL_CALL_BLOCK_TYPES.has(type)) {
      // The tool name is model output even when no argument text follows (a no-argument call).
      this.#state.contentStarted = true;
      const input = block.input;
      if (isObject(input) && Object.keys(input).length > 0) this.#state.addOutput(JSON.stringify(input).length);
    }
  }

  #onDelta(delta: JsonObject | undefined): void {
    switch (stringAt(delta, "type")) {
      case "text_delta":
        this.#state.addOutput((stringAt(delta, "text") ?? "").length);
        return;
      case "thinking_delta":
        this.#state.addReasoning((stringAt(delta, "thinking") ?? "").length);
        return;
      case "input_json_delta":
        this.#state.addOutput((stringAt(delta, "partial_json") ?? "").length);
        return;
      default:
        return;
    }
  }
}

/** The content block's type read from the JSON text in Anthropic's key order; null when it is not in that order. */
function peekBlockType(data: string): string | null {
  const at = data.indexOf(BLOCK_TYPE_PREFIX);
  if (at === -1) return null;
  const start = at + BLOCK_TYPE_PREFIX.length;
  const end = data.indexOf('"', start);
  return end === -1 ? null : data.slice(start, end);
}
