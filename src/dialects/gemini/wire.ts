/**
 * Gemini API (`generativelanguage`, also Vertex AI) wire types, limited to what metering and error rendering read,
 * after `@google/genai` `src/types.ts` (`GenerateContentResponse`, `GenerateContentResponseUsageMetadata`).
 * proto3 JSON omits zero and default fields, so every count is optional.
 */

export interface GeminiUsageMetadata {
  /** The whole prompt, cached content included. */
  promptTokenCount?: number;
  /** The part of the prompt served from the context cache. */
  cachedContentTokenCount?: number;
  /** Output excluding thoughts. */
  candidatesTokenCount?: number;
  /** Thinking tokens, billed as output, NOT included in candidatesTokenCount. */
  thoughtsTokenCount?: number;
  /** Prompt tokens of tool-use results (e.g. code execution, search), billed as input. */
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
  trafficType?: string;
}

export interface GeminiPart {
  text?: string;
  /** The text is a thought summary. */
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: {
    name?: string;
    args?: Record<string, unknown>;
    id?: string;
    /** Vertex streamed function-call arguments. */
    partialArgs?: { jsonPath?: string; stringValue?: string; willContinue?: boolean }[];
    willContinue?: boolean;
  };
  executableCode?: { language?: string; code?: string };
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: string;
  index?: number;
}

export interface GenerateContentResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
}

export type GeminiErrorStatus =
  | "INVALID_ARGUMENT"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "NOT_FOUND"
  | "RESOURCE_EXHAUSTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED";

/** google.rpc.Status as JSON. */
export interface GeminiErrorBody {
  error: { code: number; message: string; status: GeminiErrorStatus | string; details?: unknown[] };
}
