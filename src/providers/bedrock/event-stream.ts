import { EventStreamCodec, type Message, type MessageHeaders } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { isObject, stringAt } from "../../dialects/shared/narrow.ts";

/**
 * AWS event streams (`application/vnd.amazon.eventstream`), the binary framing of Bedrock's streaming replies: each
 * message is `total length (4) | headers length (4) | prelude CRC (4) | headers | payload | message CRC (4)`.
 * The codec (CRCs, typed headers) is the AWS library's; this file only cuts a byte stream into whole messages and
 * names the few header shapes Bedrock uses.
 */
const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** A message larger than this is not a Bedrock event: the stream is treated as broken rather than buffered. */
const MAX_MESSAGE_BYTES = 24 * 1024 * 1024;
const PRELUDE_BYTES = 12;

/** One decoded message, reduced to what Bedrock streams carry. */
export interface EventStreamMessage {
  /** `:message-type`: "event", "exception" or "error". */
  messageType: string;
  /** `:event-type` for events, `:exception-type` for exceptions, `:error-code` for errors. */
  type: string;
  /** The payload as text (JSON for every Bedrock event); for `error` messages, `:error-message`. */
  payload: string;
}

/**
 * Cuts a byte stream (chunks split anywhere) into event-stream messages. `push` returns the messages completed by
 * the chunk; a malformed message (bad CRC, impossible length) throws, as the stream cannot be resynchronised.
 */
export class EventStreamDecoder {
  #buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): EventStreamMessage[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : concat(this.#buffer, chunk);
    const out: EventStreamMessage[] = [];
    let offset = 0;
    while (this.#buffer.length - offset >= PRELUDE_BYTES) {
      const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset + offset, 4);
      const length = view.getUint32(0, false);
      if (length < PRELUDE_BYTES + 4 || length > MAX_MESSAGE_BYTES) {
        throw new Error(`event stream message of impossible length ${length}`);
      }
      if (this.#buffer.length - offset < length) break;
      out.push(readMessage(codec.decode(this.#buffer.subarray(offset, offset + length))));
      offset += length;
    }
    this.#buffer = offset === 0 ? this.#buffer : this.#buffer.slice(offset);
    return out;
  }

  /** Bytes of an unfinished message left at the end (a cut stream). */
  get pending(): number {
    return this.#buffer.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function headerString(headers: MessageHeaders, name: string): string | undefined {
  const h = headers[name];
  return h?.type === "string" ? h.value : undefined;
}

function readMessage(message: Message): EventStreamMessage {
  const headers = message.headers;
  const messageType = headerString(headers, ":message-type") ?? "event";
  if (messageType === "error") {
    return {
      messageType,
      type: headerString(headers, ":error-code") ?? "UnknownError",
      payload: headerString(headers, ":error-message") ?? toUtf8(message.body),
    };
  }
  const type =
    (messageType === "exception" ? headerString(headers, ":exception-type") : headerString(headers, ":event-type")) ??
    "";
  return { messageType, type, payload: toUtf8(message.body) };
}

function str(value: string): { type: "string"; value: string } {
  return { type: "string", value };
}

/** An `event` message with a JSON payload (ConverseStream events, InvokeModel `chunk`s). */
export function encodeEvent(eventType: string, payload: string): Uint8Array {
  return codec.encode({
    headers: {
      ":event-type": str(eventType),
      ":content-type": str("application/json"),
      ":message-type": str("event"),
    },
    body: fromUtf8(payload),
  });
}

/** An `exception` message, Bedrock's in-stream error (`throttlingException`, `modelStreamErrorException`, …). */
export function encodeException(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ":exception-type": str(exceptionType),
      ":content-type": str("application/json"),
      ":message-type": str("exception"),
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}

/** InvokeModelWithResponseStream wraps each provider event (an Anthropic SSE payload) as base64 in a `chunk`. */
export function encodeChunk(eventJson: string): Uint8Array {
  return encodeEvent("chunk", JSON.stringify({ bytes: Buffer.from(eventJson, "utf8").toString("base64") }));
}

/** The provider event inside a `chunk` payload (`{"bytes": base64}`); null when the payload is not one. */
export function chunkBytes(payload: string): string | null {
  try {
    const parsed: unknown = JSON.parse(payload);
    const bytes = isObject(parsed) ? stringAt(parsed, "bytes") : undefined;
    return bytes === undefined ? null : Buffer.from(bytes, "base64").toString("utf8");
  } catch {
    return null;
  }
}
