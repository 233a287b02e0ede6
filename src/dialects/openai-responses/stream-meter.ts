import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { StreamMeter, StreamMetering } from "../dialect.ts";
import { sumStringValueLengths } from "../shared/json-scan.ts";
import type { StreamMeterOptions } from "../shared/meter-options.ts";
import { isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../shared/narrow.ts";
import { SseFramer } from "../shared/sse-framer.ts";
import { StreamState } from "../shared/stream-state.ts";
import { convertResponsesUsage } from "./usage.ts";

const OUTPUT_DELTAS = new Set([
  "response.output_text.delta",
  "response.refusal.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
  "response.mcp_call_arguments.delta",
  "response.code_interpreter_call_code.delta",
]);
const REASONING_DELTAS = new Set(["response.reasoning_summary_text.delta", "response.reasoning_text.delta"]);
const START_EVENTS = new Set(["response.created", "response.in_progress", "response.queued"]);
const TERMINAL_EVENTS = new Set(["response.completed", "response.incomplete", "response.failed"]);

/**
 * Meters an OpenAI Responses stream. The terminal event (`response.completed`, `response.incomplete` or
 * `response.failed`) carries the whole Response with its usage and model; `response.failed` and the `error` event
 * are in-band errors. A trailing `data: [DONE]` is accepted and ignored.
 *
 * Hot-path shortcuts (dispatch is on the SSE `event:` name, which OpenAI always sends):
 * - text, refusal, reasoning and tool-argument `*.delta` events are not parsed: the `delta` string's length is read
 *   from the JSON text;
 * - `response.created` / `in_progress` / `queued` are parsed only until the model is known (they repeat the whole
 *   request configuration, instructions and tools included, so can be large);
 * - every other event (`output_item.*`, `content_part.*`, `*.done`, …) is ignored unparsed.
 * Events without an `event:` name are parsed and dispatched on their `type`.
 */
export function createOpenAiResponsesStreamMeter(options: StreamMeterOptions = {}): StreamMeter {
  return new OpenAiResponsesStreamMeter(options.shortcuts ?? true);
}

class OpenAiResponsesStreamMeter implements StreamMeter {
  readonly #state = new StreamState();
  readonly #shortcuts: boolean;
  readonly #framer: SseFramer;
  #usage: Usage = emptyUsage();
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
    return this.#state.result(this.#usage, this.#finalUsage);
  }

  #onEvent(event: string | undefined, data: string): void {
    if (data === "[DONE]") return;
    if (this.#shortcuts && event !== undefined && this.#tryShortcut(event, data)) return;
    const parsed = tryParseJson(data);
    // Once parsed, the payload's own `type` decides (it equals the event name on a well-formed stream).
    if (isObject(parsed)) this.#onParsedEvent(stringAt(parsed, "type") ?? event ?? "", parsed);
  }

  /** Handles the event without JSON.parse when it safely can; false means "parse it". */
  #tryShortcut(event: string, data: string): boolean {
    if (OUTPUT_DELTAS.has(event)) {
      this.#state.addOutput(sumStringValueLengths(data, "delta"));
      return true;
    }
    if (REASONING_DELTAS.has(event)) {
      this.#state.addReasoning(sumStringValueLengths(data, "delta"));
      return true;
    }
    if (START_EVENTS.has(event)) return this.#state.servedModel !== null;
    return !TERMINAL_EVENTS.has(event) && event !== "error";
  }

  #onParsedEvent(type: string, event: JsonObject): void {
    const state = this.#state;
    if (OUTPUT_DELTAS.has(type)) {
      state.addOutput((stringAt(event, "delta") ?? "").length);
    } else if (REASONING_DELTAS.has(type)) {
      state.addReasoning((stringAt(event, "delta") ?? "").length);
    } else if (START_EVENTS.has(type)) {
      this.#readModel(objectAt(event, "response"));
    } else if (TERMINAL_EVENTS.has(type)) {
      this.#onTerminal(type, objectAt(event, "response"));
    } else if (type === "error") {
      // Top-level fields per openai-node; nested under `error` as the live API has also sent them.
      const nested = objectAt(event, "error");
      state.setError({
        type: stringAt(nested, "type") ?? stringAt(nested, "code") ?? stringAt(event, "code") ?? "error",
        message: stringAt(nested, "message") ?? stringAt(event, "message") ?? "",
      });
    }
  }

  #readModel(response: JsonObject | undefined): void {
    const model = stringAt(response, "model");
    if (model) this.#state.servedModel = model;
  }

  #onTerminal(type: string, response: JsonObject | undefined): void {
    const state = this.#state;
    state.finished = true;
    this.#readModel(response);
    const status = stringAt(response, "status") ?? type.slice("response.".length);
    state.stopReason = stringAt(objectAt(response ?? {}, "incomplete_details"), "reason") ?? status;
    if (type === "response.failed") {
      const error = objectAt(response ?? {}, "error");
      state.setError({
        type: stringAt(error, "code") ?? "response_failed",
        message: stringAt(error, "message") ?? "",
      });
    }
    const usage = objectAt(response ?? {}, "usage");
    if (usage !== undefined) {
      this.#usage = convertResponsesUsage(usage);
      this.#finalUsage = true;
    }
  }
}
