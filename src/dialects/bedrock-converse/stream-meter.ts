import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { StreamMeter, StreamMetering } from "../dialect.ts";
import type { StreamMeterOptions } from "../shared/meter-options.ts";
import { isObject, type JsonObject, objectAt, stringAt, tryParseJson } from "../shared/narrow.ts";
import { SseFramer } from "../shared/sse-framer.ts";
import { StreamState } from "../shared/stream-state.ts";
import { convertConverseUsage } from "./usage.ts";

/**
 * Meters a ConverseStream after the gateway bridged its event-stream messages to SSE (`event: <:event-type>`,
 * `data: <payload>`; exceptions keep their `…Exception` name). Usage arrives whole in `metadata`, which may come
 * before or after `messageStop`; `messageStop` carries the stop reason and ends the message.
 */
export function createConverseStreamMeter(_options: StreamMeterOptions = {}): StreamMeter {
  return new ConverseStreamMeter();
}

class ConverseStreamMeter implements StreamMeter {
  readonly #state = new StreamState();
  readonly #framer = new SseFramer((event, data) => this.#onEvent(event, data));
  #usage: Usage = emptyUsage();
  #finalUsage = false;

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
    const parsed = tryParseJson(data);
    if (!isObject(parsed) || event === undefined) return;
    const state = this.#state;
    switch (event) {
      case "contentBlockStart":
        if (objectAt(objectAt(parsed, "start") ?? {}, "toolUse") !== undefined) state.contentStarted = true;
        return;
      case "contentBlockDelta":
        this.#onDelta(objectAt(parsed, "delta"));
        return;
      case "messageStop":
        state.stopReason = stringAt(parsed, "stopReason") ?? state.stopReason;
        state.finished = true;
        return;
      case "metadata": {
        const usage = convertConverseUsage(parsed.usage);
        if (usage !== null) {
          this.#usage = usage;
          this.#finalUsage = true;
        }
        return;
      }
      default:
        if (event.endsWith("Exception") || event.endsWith("Error")) {
          state.setError({ type: event, message: stringAt(parsed, "message") ?? "" });
        }
    }
  }

  #onDelta(delta: JsonObject | undefined): void {
    if (delta === undefined) return;
    const state = this.#state;
    const text = stringAt(delta, "text");
    if (text !== undefined) state.addOutput(text.length);
    const toolInput = stringAt(objectAt(delta, "toolUse"), "input");
    if (toolInput !== undefined) state.addOutput(toolInput.length);
    const reasoning = stringAt(objectAt(delta, "reasoningContent"), "text");
    if (reasoning !== undefined) state.addReasoning(reasoning.length);
  }
}
