import type { Usage } from "../../metering/usage.ts";
import type { CanonicalResponse, CanonicalStop, JsonObject, JsonValue } from "../canonical.ts";

export interface OpenAiChatOutputOptions {
  /** `created` (Unix seconds) of the completion; the current time when not given. */
  created?: number;
}

/**
 * Canonical usage → Chat usage: `prompt_tokens` counts every input token (uncached, cache reads and cache writes,
 * as OpenAI's includes cached ones), `cached_tokens` the reads; `cache_write_tokens` (what compatible providers
 * report) only when there were writes. `completion_tokens` includes reasoning, as OpenAI's does.
 */
export function toOpenAiChatUsage(usage: Usage): JsonObject {
  const cacheWrite = usage.cacheWrite5m + usage.cacheWrite1h;
  const prompt = usage.input + usage.cacheRead + cacheWrite;
  const promptDetails: JsonObject = { cached_tokens: usage.cacheRead };
  if (cacheWrite > 0) promptDetails.cache_write_tokens = cacheWrite;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output,
    total_tokens: prompt + usage.output,
    prompt_tokens_details: promptDetails,
    completion_tokens_details: { reasoning_tokens: usage.reasoning },
  };
}

/**
 * A canonical stop as a Chat `finish_reason`. Chat has only stop, length, tool_calls and content_filter: a pause,
 * an error or an unknown reason reads `stop`, or `tool_calls` when the turn made tool calls (clients loop on it).
 */
export function toOpenAiChatFinishReason(stop: CanonicalStop, hasToolCalls: boolean): string {
  switch (stop.unified) {
    case "max-tokens":
      return "length";
    case "tool-calls":
      return "tool_calls";
    case "content-filter":
      return "content_filter";
    case "end":
    case "stop-sequence":
    case "pause":
    case "error":
    case "other":
      return hasToolCalls ? "tool_calls" : "stop";
    default: {
      const unreachable: never = stop.unified;
      throw new Error(`unknown stop ${String(unreachable)}`);
    }
  }
}

export function unixSeconds(options: OpenAiChatOutputOptions): number {
  return options.created ?? Math.floor(Date.now() / 1000);
}

/**
 * Canonical response → Chat completion body for the client (`model` is the name the client asked for). Reasoning
 * text is given as `reasoning_content` (the DeepSeek/xAI field many Chat clients read; others ignore it); opaque
 * reasoning data is never sent. Images in the answer have no place in a Chat message and are left out.
 */
export function canonicalToOpenAiChatResponse(
  res: CanonicalResponse,
  model: string,
  options: OpenAiChatOutputOptions = {},
): JsonObject {
  let text: string | null = null;
  let reasoning: string | null = null;
  const toolCalls: JsonValue[] = [];
  for (const part of res.content) {
    switch (part.type) {
      case "text":
        text = (text ?? "") + part.text;
        break;
      case "reasoning":
        if (part.text !== "") reasoning = (reasoning ?? "") + part.text;
        break;
      case "tool-call":
        toolCalls.push({ id: part.id, type: "function", function: { name: part.name, arguments: part.arguments } });
        break;
      case "image":
      case "tool-result":
        break;
      default: {
        const unreachable: never = part;
        throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
      }
    }
  }
  const message: JsonObject = { role: "assistant", content: text, refusal: null };
  if (reasoning !== null) message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: res.id,
    object: "chat.completion",
    created: unixSeconds(options),
    model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: toOpenAiChatFinishReason(res.stop, toolCalls.length > 0),
      },
    ],
    usage: toOpenAiChatUsage(res.usage),
  };
}
