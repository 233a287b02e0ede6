/**
 * OpenAI Chat Completions wire types, limited to what metering and error rendering read, after `openai-node`
 * (`resources/chat/completions`, `resources/completions` `CompletionUsage`) plus the fields OpenAI-compatible
 * providers add (DeepSeek, Groq, xAI). Everything is read defensively.
 */

export interface OpenAiChatUsage {
  /** All prompt tokens, cached ones included. */
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    /** Reported by some compatible providers that bill cache writes. */
    cache_write_tokens?: number;
    audio_tokens?: number;
    image_tokens?: number;
    text_tokens?: number;
  } | null;
  completion_tokens_details?: {
    reasoning_tokens?: number;
    accepted_prediction_tokens?: number;
    rejected_prediction_tokens?: number;
    audio_tokens?: number;
  } | null;
  /** DeepSeek: cache hits and misses; they add up to prompt_tokens. */
  prompt_cache_hit_tokens?: number;
  prompt_cache_miss_tokens?: number;
}

export interface OpenAiChatToolCallDelta {
  index: number;
  id?: string;
  type?: "function" | "custom";
  function?: { name?: string; arguments?: string };
  custom?: { name?: string; input?: string };
}

export interface OpenAiChatDelta {
  role?: string;
  content?: string | null;
  refusal?: string | null;
  /** DeepSeek, xAI. */
  reasoning_content?: string | null;
  /** OpenRouter, Groq and others. */
  reasoning?: string | null;
  tool_calls?: OpenAiChatToolCallDelta[] | null;
}

export interface OpenAiChatChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: { index: number; delta: OpenAiChatDelta; finish_reason: string | null }[];
  /** Present (non-null) only on the final chunk when `stream_options.include_usage` is set. */
  usage?: OpenAiChatUsage | null;
  /** Groq puts the usage here too (and, in older versions, only here). */
  x_groq?: { id?: string; usage?: OpenAiChatUsage | null } | null;
}

export interface OpenAiChatCompletion {
  id: string;
  object: "chat.completion";
  model: string;
  choices: { index: number; message: OpenAiChatDelta; finish_reason: string | null }[];
  usage?: OpenAiChatUsage | null;
}

export type OpenAiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "server_error";

/** The error object of every OpenAI dialect (chat, responses, embeddings). */
export interface OpenAiErrorObject {
  message: string;
  type: OpenAiErrorType | string;
  param: string | null;
  code: string | null;
}

export interface OpenAiErrorBody {
  error: OpenAiErrorObject;
}
