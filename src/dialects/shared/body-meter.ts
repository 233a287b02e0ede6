import { estimateTokensFromBytes } from "../../metering/estimate.ts";
import { emptyUsage } from "../../metering/usage.ts";
import type { BodyMetering, InBandError, StreamMeter, StreamMetering } from "../dialect.ts";
import { isObject, objectAt, stringAt, tryParseJson } from "./narrow.ts";

/** Bodies up to this size are buffered and parsed whole at the end. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Past the limit, this much of the start and of the end of the body is kept for `fallback`. */
const EDGE_BYTES = 64 * 1024;

export interface BodyMeterOptions {
  maxBytes?: number;
  /**
   * Reads usage from the first and last bytes of a body too large to buffer (embeddings responses can be tens of
   * megabytes of vectors, with `model` and `usage` after them). Null when it cannot tell.
   */
  fallback?: (head: string, tail: string) => BodyMetering | null;
}

/**
 * A StreamMeter for a NON-streaming response that arrives as bytes (passthrough forwards bodies unparsed): it
 * buffers the body and applies the dialect's `meterBody` at `end()`. `finished` means a complete JSON body was
 * parsed; `contentStarted` turns true at the first body byte (for a non-streamed reply that is first-token time).
 * A body over the size limit is not buffered: `fallback` reads what it can from its edges, else output is
 * estimated from the byte count and the result is flagged.
 */
export class BodyStreamMeter implements StreamMeter {
  readonly #meterBody: (body: unknown) => BodyMetering;
  readonly #maxBytes: number;
  readonly #fallback: BodyMeterOptions["fallback"];
  #chunks: Uint8Array[] = [];
  /** Bytes held in #chunks. */
  #heldBytes = 0;
  /** Bytes seen in all. */
  #bytes = 0;
  #head: Uint8Array | null = null;
  #ended = false;
  #result: StreamMetering = {
    usage: emptyUsage(),
    servedModel: null,
    estimated: true,
    finished: false,
    contentStarted: false,
    error: null,
    stopReason: null,
  };

  constructor(meterBody: (body: unknown) => BodyMetering, options: BodyMeterOptions = {}) {
    this.#meterBody = meterBody;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#fallback = options.fallback;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended || chunk.byteLength === 0) return;
    this.#result.contentStarted = true;
    this.#bytes += chunk.byteLength;
    this.#chunks.push(chunk);
    this.#heldBytes += chunk.byteLength;
    if (this.#head === null && this.#bytes > this.#maxBytes) {
      this.#head = concat(this.#chunks).subarray(0, EDGE_BYTES);
      this.#chunks = [chunk];
      this.#heldBytes = chunk.byteLength;
    }
    if (this.#head !== null) this.#trimTail();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.#result = { ...this.#result, ...(this.#head === null ? this.#meterWhole() : this.#meterEdges()) };
    } catch {
      // Metering must never throw into the response path; the result stays "estimated, unfinished".
    }
    this.#chunks = [];
    this.#heldBytes = 0;
    this.#head = null;
  }

  result(): StreamMetering {
    const r = this.#result;
    return { ...r, usage: { ...r.usage }, error: r.error === null ? null : { ...r.error } };
  }

  #meterWhole(): Partial<StreamMetering> {
    const body = tryParseJson(new TextDecoder().decode(concat(this.#chunks)));
    if (body === undefined) return this.#byteEstimate();
    return { ...this.#meterBody(body), finished: true, error: readErrorBody(body) };
  }

  #meterEdges(): Partial<StreamMetering> {
    const decoder = new TextDecoder();
    const head = decoder.decode(this.#head ?? new Uint8Array());
    const tail = decoder.decode(concat(this.#chunks));
    const fromEdges = this.#fallback?.(head, tail) ?? null;
    return fromEdges === null ? this.#byteEstimate() : { ...fromEdges, finished: !fromEdges.estimated };
  }

  #byteEstimate(): Partial<StreamMetering> {
    return { usage: { ...emptyUsage(), output: estimateTokensFromBytes(this.#bytes) }, estimated: true };
  }

  /** Keeps only the last EDGE_BYTES (or a little more) of the body once it is too large to buffer. */
  #trimTail(): void {
    while (this.#chunks.length > 1 && this.#heldBytes - (this.#chunks[0]?.byteLength ?? 0) >= EDGE_BYTES) {
      this.#heldBytes -= this.#chunks.shift()?.byteLength ?? 0;
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** An error carried in a 200 body: `{"error":{…}}` (OpenAI, Gemini) or `{"type":"error","error":{…}}` (Anthropic). */
function readErrorBody(body: unknown): InBandError | null {
  if (!isObject(body)) return null;
  const error = objectAt(body, "error");
  if (error === undefined || body.choices !== undefined || body.object === "response") return null;
  return {
    type: stringAt(error, "type") ?? stringAt(error, "status") ?? stringAt(error, "code") ?? "error",
    message: stringAt(error, "message") ?? "",
  };
}
