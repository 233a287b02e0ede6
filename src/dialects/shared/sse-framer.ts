import { createParser, type EventSourceParser } from "eventsource-parser";
import { tryParseJson } from "./narrow.ts";

/** Called once per complete SSE event; `event` is the `event:` field, absent for data-only streams. */
export type SseEventHandler = (event: string | undefined, data: string) => void;

/**
 * An SSE event larger than this (in UTF-16 code units) stops metering for the stream instead of growing memory
 * without bound. Real events are far smaller; the biggest are Anthropic server-tool results (fetched documents).
 */
export const MAX_SSE_EVENT_CHARS = 32 * 1024 * 1024;

/**
 * Turns a byte stream cut anywhere (inside a UTF-8 character, inside a line, between `\r` and `\n`) into SSE events.
 * `eventsource-parser` does the framing and accepts `\n\n`, `\r\n\r\n` and `\r\r` between events; `TextDecoder`
 * in streaming mode holds back a split multi-byte character. Never throws: a failing handler loses one event,
 * an oversized event stops framing (`broken`), and the meter reports what it knew.
 */
export class SseFramer {
  readonly #decoder = new TextDecoder();
  readonly #parser: EventSourceParser;
  readonly #onEvent: SseEventHandler;
  #flushing = false;
  #broken = false;

  constructor(onEvent: SseEventHandler, maxEventChars: number = MAX_SSE_EVENT_CHARS) {
    this.#onEvent = onEvent;
    this.#parser = createParser({
      maxBufferSize: maxEventChars,
      onEvent: (message) => this.#dispatch(message.event, message.data),
      onError: (error) => {
        if (error.type === "max-buffer-size-exceeded") this.#broken = true;
      },
    });
  }

  /** True once an oversized event made the framer give up. */
  get broken(): boolean {
    return this.#broken;
  }

  push(chunk: Uint8Array): void {
    if (this.#broken) return;
    this.pushText(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Flushes a split character and a last event that lacks its closing blank line. */
  end(): void {
    if (this.#broken) return;
    this.endText(this.#decoder.decode());
  }

  /** For callers that decode themselves (the Gemini meter sniffs the body format first). */
  pushText(text: string): void {
    if (!this.#broken) this.#feed(text);
  }

  endText(rest = ""): void {
    if (this.#broken) return;
    this.#feed(rest);
    this.#flushing = true;
    this.#feed("\n\n");
  }

  #feed(text: string): void {
    if (text === "") return;
    try {
      this.#parser.feed(text);
    } catch {
      this.#broken = true;
    }
  }

  #dispatch(event: string | undefined, data: string): void {
    // An event completed only by end() was never closed by the upstream: the connection may have dropped inside it.
    // Trust it only when its data is whole (valid JSON or the [DONE] sentinel).
    if (this.#flushing && data !== "[DONE]" && tryParseJson(data) === undefined) return;
    try {
      this.#onEvent(event, data);
    } catch {
      // A metering bug must not break the stream it watches; this event is simply not counted.
    }
  }
}
