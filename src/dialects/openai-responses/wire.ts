/**
 * OpenAI Responses API wire types, limited to what metering and error rendering read, after `openai-node`
 * `resources/responses/responses.ts` (`Response`, `ResponseUsage`, `ResponseStreamEvent`).
 */

export interface ResponsesUsage {
  /** All input tokens, cached ones included. */
  input_tokens: number;
  input_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } | null;
  output_tokens: number;
  output_tokens_details?: { reasoning_tokens?: number } | null;
  total_tokens: number;
}

export type ResponsesStatus = "completed" | "failed" | "in_progress" | "cancelled" | "queued" | "incomplete";

export interface ResponsesOutputItem {
  type: string;
  /** message: content parts (`output_text{text}`, `refusal{refusal}`). */
  content?: { type: string; text?: string; refusal?: string }[];
  /** function_call */
  arguments?: string;
  /** custom_tool_call */
  input?: string;
  /** reasoning */
  summary?: { type: string; text: string }[];
}

export interface ResponsesResponse {
  id: string;
  object: "response";
  status?: ResponsesStatus;
  model: string;
  output: ResponsesOutputItem[];
  usage?: ResponsesUsage | null;
  error?: { code: string; message: string } | null;
  incomplete_details?: { reason?: string } | null;
}

/** The stream events metering reads; the SSE `event:` name equals `type`. */
export type ResponsesStreamEvent =
  | { type: "response.created" | "response.in_progress" | "response.queued"; response: ResponsesResponse }
  | { type: "response.completed" | "response.incomplete" | "response.failed"; response: ResponsesResponse }
  | {
      type:
        | "response.output_text.delta"
        | "response.refusal.delta"
        | "response.function_call_arguments.delta"
        | "response.custom_tool_call_input.delta"
        | "response.reasoning_summary_text.delta"
        | "response.reasoning_text.delta";
      delta: string;
    }
  | ResponsesErrorEvent;

/**
 * `openai-node` declares the error fields at the top level; the live API has also been recorded sending them nested
 * under `error` (fixture openai-error.1). Readers accept both; Tollgate writes both.
 */
export interface ResponsesErrorEvent {
  type: "error";
  code: string | null;
  message: string;
  param: string | null;
  sequence_number?: number;
  error?: { type?: string; code?: string | null; message?: string; param?: string | null };
}
