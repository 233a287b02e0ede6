/**
 * Anthropic Messages API wire types, limited to what metering and error rendering read. Field names and optionality
 * follow the official SDK (`@anthropic-ai/sdk`, `resources/messages` and `resources/shared`); numbers the SDK marks
 * nullable are `number | null`. Everything is read defensively, so unknown fields are simply ignored.
 */

export interface AnthropicCacheCreation {
  ephemeral_5m_input_tokens?: number | null;
  ephemeral_1h_input_tokens?: number | null;
}

/** `Usage` (message_start, non-streaming Message) and `MessageDeltaUsage` (message_delta) share these fields. */
export interface AnthropicUsage {
  /** Input tokens NOT read from or written to the cache. */
  input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  /** The TTL split of `cache_creation_input_tokens`, when the API gives it. */
  cache_creation?: AnthropicCacheCreation | null;
  output_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
  server_tool_use?: { web_search_requests?: number | null; web_fetch_requests?: number | null } | null;
  service_tier?: string | null;
}

export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature?: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use" | "server_tool_use"; id: string; name: string; input: unknown }
  | { type: string };

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "timeout_error"
  | "api_error"
  | "overloaded_error";

/** Error body, and the data of an in-stream `event: error`. */
export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType | string; message: string };
  request_id?: string | null;
}

export type AnthropicDelta =
  | { type: "text_delta"; text: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "input_json_delta"; partial_json: string }
  | { type: "signature_delta"; signature: string }
  | { type: "citations_delta"; citation: unknown };

/** Stream events; the SSE `event:` name equals `type`. */
export type AnthropicStreamEvent =
  | { type: "message_start"; message: AnthropicMessage }
  | { type: "content_block_start"; index: number; content_block: AnthropicContentBlock }
  | { type: "content_block_delta"; index: number; delta: AnthropicDelta }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason: string | null; stop_sequence: string | null };
      usage: AnthropicUsage;
    }
  | { type: "message_stop" }
  | { type: "ping" }
  | AnthropicErrorBody;
