import type { IncomingHttpHeaders } from "node:http";
import { sseEvent } from "../../dialects/shared/error-shape.ts";
import { isObject, stringAt, tryParseJson } from "../../dialects/shared/narrow.ts";
import type { Relay } from "../../pipeline/relay-body.ts";
import { chunkBytes, EventStreamDecoder, type EventStreamMessage } from "./event-stream.ts";

/**
 * How a Bedrock event stream maps onto SSE: "chunk" (InvokeModelWithResponseStream: each `chunk` carries an Anthropic
 * SSE payload as base64) or "event" (ConverseStream: the event type names the SSE event, the payload is its data).
 */
export type EventStreamMode = "chunk" | "event";

/** Anthropic error types for Bedrock's in-stream exceptions (an Anthropic client reads the error event's type). */
const ANTHROPIC_ERROR_OF: Readonly<Record<string, string>> = {
  throttlingException: "rate_limit_error",
  serviceUnavailableException: "overloaded_error",
  validationException: "invalid_request_error",
  modelTimeoutException: "timeout_error",
  internalServerException: "api_error",
  modelStreamErrorException: "api_error",
};

/** One event-stream message as SSE text; "" for messages that carry nothing for the client. */
export function messageToSse(message: EventStreamMessage, mode: EventStreamMode): string {
  const failed = message.messageType !== "event";
  if (failed) {
    const exception = lowerFirst(message.type) || "internalServerException";
    const parsed = tryParseJson(message.payload);
    const text = isObject(parsed) ? (stringAt(parsed, "message") ?? stringAt(parsed, "Message")) : undefined;
    const errorMessage = text ?? message.payload;
    if (mode === "event") return sseEvent(exception, { message: errorMessage });
    return sseEvent("error", {
      type: "error",
      error: { type: ANTHROPIC_ERROR_OF[exception] ?? "api_error", message: errorMessage },
    });
  }
  if (mode === "event") {
    // Payloads are compact JSON on the wire; re-serialised only if one ever spans lines (SSE data is one line).
    const data = message.payload.includes("\n")
      ? JSON.stringify(tryParseJson(message.payload) ?? null)
      : message.payload;
    return `event: ${message.type}\ndata: ${data}\n\n`;
  }
  if (message.type !== "chunk") return "";
  const inner = chunkBytes(message.payload);
  const parsed = inner === null ? undefined : tryParseJson(inner);
  if (!isObject(parsed)) return "";
  return sseEvent(stringAt(parsed, "type") ?? null, parsed);
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** The upstream's response headers as the SSE relays expect them (they copy them to the client). */
export function sseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return { ...headers, "content-type": "text/event-stream; charset=utf-8" };
}

/**
 * A relay in front of an SSE relay: decodes Bedrock's binary event stream and hands the inner relay the same events
 * as SSE text, so the dialect meters, budget holds and translators work unchanged. A malformed message (bad CRC)
 * ends the stream as an upstream error and stops the upstream.
 */
export class EventStreamBridge implements Relay {
  readonly #inner: Relay;
  readonly #mode: EventStreamMode;
  readonly #stop: () => void;
  readonly #decoder = new EventStreamDecoder();
  #broken = false;

  constructor(inner: Relay, mode: EventStreamMode, stop: () => void) {
    this.#inner = inner;
    this.#mode = mode;
    this.#stop = stop;
  }

  onData(chunk: Buffer): boolean {
    if (this.#broken) return true;
    let text = "";
    try {
      for (const message of this.#decoder.push(chunk)) text += messageToSse(message, this.#mode);
    } catch (err) {
      this.#broken = true;
      this.#inner.onError(new Error(`malformed Bedrock event stream: ${(err as Error).message}`));
      this.#stop();
      return true;
    }
    return text === "" ? true : this.#inner.onData(Buffer.from(text, "utf8"));
  }

  onEnd(): void {
    if (!this.#broken) this.#inner.onEnd();
  }

  onError(err: Error): void {
    if (!this.#broken) this.#inner.onError(err);
  }

  clientGone(): void {
    this.#inner.clientGone();
  }
}
