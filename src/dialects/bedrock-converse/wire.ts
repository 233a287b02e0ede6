/**
 * Bedrock Converse / ConverseStream wire types (the shapes in test/fixtures/recorded/bedrock and the AWS SDK's
 * `@aws-sdk/client-bedrock-runtime` models). JSON bodies; a stream is an AWS event stream whose events are named
 * by `:event-type` and carry one of the members below as JSON (the gateway bridges them to SSE events named alike).
 */

export interface ConverseUsage {
  /** Input tokens neither read from nor written to the prompt cache (Anthropic semantics). */
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export type ConverseStopReason =
  | "end_turn"
  | "tool_use"
  | "max_tokens"
  | "stop_sequence"
  | "guardrail_intervened"
  | "content_filtered"
  | "model_context_window_exceeded"
  | "malformed_model_output"
  | "malformed_tool_use";

/** Names of the ConverseStream events (`:event-type`). */
export type ConverseStreamEventName =
  | "messageStart"
  | "contentBlockStart"
  | "contentBlockDelta"
  | "contentBlockStop"
  | "messageStop"
  | "metadata";

/** In-stream exceptions (`:exception-type`), camel-cased as on the wire. */
export type ConverseStreamExceptionName =
  | "internalServerException"
  | "modelStreamErrorException"
  | "validationException"
  | "throttlingException"
  | "serviceUnavailableException";

/** An error reply: `{"message": …}` with the exception named in `x-amzn-errortype`. */
export interface BedrockErrorBody {
  message: string;
}
