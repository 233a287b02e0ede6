import { createAnthropicStreamMeter } from "./anthropic/stream-meter.ts";
import { meterAnthropicBody } from "./anthropic/usage.ts";
import { createConverseStreamMeter } from "./bedrock-converse/stream-meter.ts";
import { meterConverseBody } from "./bedrock-converse/usage.ts";
import type { BodyMetering, Dialect, StreamMeter } from "./dialect.ts";
import { createGeminiStreamMeter } from "./gemini/stream-meter.ts";
import { meterGeminiBody } from "./gemini/usage.ts";
import { createOpenAiChatStreamMeter } from "./openai-chat/stream-meter.ts";
import { meterOpenAiChatBody } from "./openai-chat/usage.ts";
import { createEmbeddingsStreamMeter } from "./openai-embeddings/stream-meter.ts";
import { meterEmbeddingsBody, meterEmbeddingsEdges } from "./openai-embeddings/usage.ts";
import { createOpenAiResponsesStreamMeter } from "./openai-responses/stream-meter.ts";
import { meterResponsesBody } from "./openai-responses/usage.ts";
import { type BodyMeterOptions, BodyStreamMeter } from "./shared/body-meter.ts";
import type { StreamMeterOptions } from "./shared/meter-options.ts";

export { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
export type { StreamMeterOptions } from "./shared/meter-options.ts";

/**
 * The meter for a STREAMED response in `dialect`: feed it a copy of the upstream bytes, call `end()` when the
 * upstream body ends, read `result()` at any time. Embeddings are never streamed; their meter buffers the body.
 */
export function createStreamMeter(dialect: Dialect, options: StreamMeterOptions = {}): StreamMeter {
  switch (dialect) {
    case "anthropic":
      return createAnthropicStreamMeter(options);
    case "openai-chat":
      return createOpenAiChatStreamMeter(options);
    case "openai-responses":
      return createOpenAiResponsesStreamMeter(options);
    case "openai-embeddings":
      return createEmbeddingsStreamMeter();
    case "gemini":
      return createGeminiStreamMeter(options);
    case "bedrock-converse":
      return createConverseStreamMeter(options);
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

/** Usage and served model of a complete, already JSON-parsed, non-streaming response body in `dialect`. */
export function meterBody(dialect: Dialect, body: unknown): BodyMetering {
  switch (dialect) {
    case "anthropic":
      return meterAnthropicBody(body);
    case "openai-chat":
      return meterOpenAiChatBody(body);
    case "openai-responses":
      return meterResponsesBody(body);
    case "openai-embeddings":
      return meterEmbeddingsBody(body);
    case "gemini":
      return meterGeminiBody(body);
    case "bedrock-converse":
      return meterConverseBody(body);
    default: {
      const unreachable: never = dialect;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}

/**
 * A StreamMeter for a NON-streaming response forwarded as bytes (passthrough): buffers the body (up to
 * `maxBytes`, default 16 MiB) and applies `meterBody` at `end()`. Use it so byte-forwarding routes meter
 * non-streamed replies the same way as streamed ones.
 */
export function createBodyMeter(dialect: Dialect, options: Pick<BodyMeterOptions, "maxBytes"> = {}): StreamMeter {
  const fallback = dialect === "openai-embeddings" ? meterEmbeddingsEdges : undefined;
  return new BodyStreamMeter((body) => meterBody(dialect, body), { ...options, fallback });
}
