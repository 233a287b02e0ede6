import type { Usage } from "../metering/usage.ts";

/**
 * The canonical form every translation goes through: a client's request in dialect A becomes a CanonicalRequest,
 * which becomes the provider's request in dialect B; the provider's response (whole, or a stream of events) becomes
 * canonical, which becomes the client's response in A. Each dialect therefore owns six pure converters (see
 * translate/README.md), and any client can reach any provider.
 *
 * Rules every converter follows:
 * - Pure: input in, `{ value, warnings }` out. Nothing unsupported is dropped silently: it becomes a warning (kept on
 *   the log row) or a TranslationError (a 400 in the client's dialect).
 * - Every switch over a union ends in an exhaustiveness check.
 * - Provider-specific opaque data (thinking signatures, encrypted reasoning) is carried with the provider it came
 *   from and only ever sent back to that provider.
 */

/** The dialects translation speaks (embeddings are passthrough only). */
export type ChatDialect = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "bedrock-converse";

export interface Translated<T> {
  value: T;
  warnings: string[];
}

/** A request that cannot be expressed in the target dialect (→ 400 TG_TRANSLATION in the client's dialect). */
export class TranslationError extends Error {
  override name = "TranslationError";
}

// ---------- request ----------

export interface CanonicalRequest {
  /** The model as the upstream should see it (converters do not resolve names). */
  model: string;
  /** System instructions, in order (Anthropic `system`, OpenAI system/developer messages, Gemini systemInstruction). */
  system: CanonicalTextPart[];
  messages: CanonicalMessage[];
  tools: CanonicalTool[];
  toolChoice: CanonicalToolChoice | null;
  /** Allow several tool calls in one turn (null: the provider's default). */
  parallelToolCalls: boolean | null;
  maxOutputTokens: number | null;
  temperature: number | null;
  topP: number | null;
  topK: number | null;
  stop: string[];
  stream: boolean;
  /** Extended thinking / reasoning requested by the client. */
  reasoning: CanonicalReasoningRequest | null;
  /** Ask for JSON output (OpenAI response_format / text.format, Gemini responseMimeType + responseSchema). */
  responseFormat: CanonicalResponseFormat | null;
  /** The end user (OpenAI `user`, Anthropic `metadata.user_id`); never a secret. */
  user: string | null;
}

export interface CanonicalReasoningRequest {
  /** Token budget for thinking (Anthropic budget_tokens, Gemini thinkingBudget), when given. */
  budgetTokens: number | null;
  /** OpenAI effort (`minimal` … `high`), when given. */
  effort: string | null;
}

export type CanonicalResponseFormat =
  | { type: "json" }
  | { type: "json-schema"; name: string; schema: JsonObject; strict: boolean };

export type CanonicalToolChoice =
  | { type: "auto" }
  | { type: "none" }
  /** The model must call some tool. */
  | { type: "required" }
  | { type: "tool"; name: string };

export interface CanonicalTool {
  name: string;
  description: string | null;
  /** JSON Schema of the arguments, as the client sent it (converters adapt it to the target's accepted subset). */
  parameters: JsonObject;
}

export type CanonicalRole = "user" | "assistant";

/** Tool results travel in user messages (as Anthropic and Gemini do); Chat/Responses converters split them out. */
export interface CanonicalMessage {
  role: CanonicalRole;
  content: CanonicalPart[];
}

export type CanonicalPart =
  | CanonicalTextPart
  | CanonicalImagePart
  | CanonicalToolCallPart
  | CanonicalToolResultPart
  | CanonicalReasoningPart;

export interface CanonicalTextPart {
  type: "text";
  text: string;
}

export interface CanonicalImagePart {
  type: "image";
  source: { kind: "base64"; mediaType: string; data: string } | { kind: "url"; url: string };
}

export interface CanonicalToolCallPart {
  type: "tool-call";
  /** Stable id; dialects without ids (Gemini) get generated ones (`call_<n>`), kept through the round trip. */
  id: string;
  name: string;
  /** The arguments as JSON text (what streams deliver in fragments). */
  arguments: string;
}

export interface CanonicalToolResultPart {
  type: "tool-result";
  callId: string;
  /** The tool's name when the dialect carries it (Gemini needs it; taken from the matching call otherwise). */
  name: string | null;
  content: (CanonicalTextPart | CanonicalImagePart)[];
  isError: boolean;
}

export interface CanonicalReasoningPart {
  type: "reasoning";
  text: string;
  /**
   * Opaque proof of the reasoning, valid only for the provider that issued it (Anthropic `signature`, Anthropic
   * `redacted_thinking` data, OpenAI `encrypted_content`, Gemini `thoughtSignature`). Sent back only to that dialect.
   */
  opaque: { dialect: ChatDialect; kind: "signature" | "redacted" | "encrypted"; value: string } | null;
}

// ---------- response ----------

/** Why the model stopped: a unified value and the provider's raw one (unknown raw values map to "other"). */
export interface CanonicalStop {
  unified: "end" | "max-tokens" | "stop-sequence" | "tool-calls" | "content-filter" | "pause" | "error" | "other";
  raw: string | null;
}

export interface CanonicalResponse {
  id: string;
  model: string;
  content: CanonicalPart[];
  stop: CanonicalStop;
  usage: Usage;
}

// ---------- stream ----------

/**
 * A response stream in canonical events. Blocks are numbered in order of appearance; a block's deltas come between
 * its start and end; blocks may interleave (parallel tool calls streamed side by side).
 */
export type CanonicalStreamEvent =
  | { type: "start"; id: string; model: string }
  | { type: "text-start"; block: number }
  | { type: "text-delta"; block: number; text: string }
  | { type: "reasoning-start"; block: number }
  | { type: "reasoning-delta"; block: number; text: string }
  | { type: "reasoning-opaque"; block: number; opaque: NonNullable<CanonicalReasoningPart["opaque"]> }
  | { type: "tool-call-start"; block: number; id: string; name: string }
  | { type: "tool-call-delta"; block: number; argumentsDelta: string }
  | { type: "block-end"; block: number }
  /** Usage so far (running totals; the latest value of each bucket wins). */
  | { type: "usage"; usage: Partial<Usage> }
  | { type: "finish"; stop: CanonicalStop; usage: Usage }
  | { type: "error"; error: { type: string; message: string } };

/**
 * A stream mapper: a pure reducer. `step(state, input)` returns the next state and the outputs for that input;
 * `finish(state)` flushes at the end of input (closing open blocks, emitting terminal events).
 */
export interface StreamMapper<State, In, Out> {
  initial(): State;
  step(state: State, input: In): { state: State; out: Out[] };
  finish(state: State): Out[];
}

/** One server-sent event as parsed from the wire (dialects/shared/sse-framer.ts). */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
