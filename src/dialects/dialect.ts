import type { Usage } from "../metering/usage.ts";

/** The wire formats clients speak to Tollgate and providers speak to Tollgate. */
export type Dialect =
  | "anthropic"
  | "openai-chat"
  | "openai-responses"
  | "openai-embeddings"
  | "gemini"
  | "bedrock-converse";

/** Error bodies come in four shapes; the OpenAI dialects share one. Bedrock's is `{"message"}` + `x-amzn-errortype`. */
export type ErrorFamily = "anthropic" | "openai" | "gemini" | "bedrock";

export function errorFamilyOf(dialect: Dialect): ErrorFamily {
  switch (dialect) {
    case "anthropic":
      return "anthropic";
    case "openai-chat":
    case "openai-responses":
    case "openai-embeddings":
      return "openai";
    case "gemini":
      return "gemini";
    case "bedrock-converse":
      return "bedrock";
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

/** An error the upstream reported inside an otherwise successful (HTTP 200) stream or body. */
export interface InBandError {
  type: string;
  message: string;
}

/** What metering learned from a complete, non-streaming response body. */
export interface BodyMetering {
  usage: Usage;
  /** The model the provider says served the request, when it says. */
  servedModel: string | null;
  /** True when the body carried no usage at all and the numbers are an estimate. */
  estimated: boolean;
}

/** What metering learned from a stream so far. */
export interface StreamMetering {
  usage: Usage;
  servedModel: string | null;
  /** True when the provider's final usage never arrived and output was estimated from the streamed text. */
  estimated: boolean;
  /** The terminal event (message_stop, [DONE], response.completed, last Gemini chunk with finishReason) was seen. */
  finished: boolean;
  /** A model-generated token (text, thinking, tool arguments) has been seen. */
  contentStarted: boolean;
  /** An error event inside the stream (Anthropic `event: error`, Responses `response.failed`, …). */
  error: InBandError | null;
  /** The provider's stop / finish reason, raw. */
  stopReason: string | null;
}

/**
 * A side parser fed a copy of the upstream stream's bytes. It never alters or delays the bytes; it only watches
 * them to meter usage. `push` must be cheap: it runs once per upstream chunk on the hot path.
 */
export interface StreamMeter {
  push(chunk: Uint8Array): void;
  /** Call when the upstream body ended (cleanly or not); flushes any partial event. */
  end(): void;
  result(): StreamMetering;
}
