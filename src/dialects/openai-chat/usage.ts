import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { BodyMetering } from "../dialect.ts";
import { arrayAt, countAt, isObject, type JsonObject, objectAt, stringAt } from "../shared/narrow.ts";
import { estimateOutput } from "../shared/stream-state.ts";

/**
 * OpenAI chat → buckets. `prompt_tokens` INCLUDES cached tokens, so input = prompt − cache reads − cache writes.
 * Cache reads: `prompt_tokens_details.cached_tokens`, or DeepSeek's `prompt_cache_hit_tokens` when the standard field
 * is missing. Cache writes: `prompt_tokens_details.cache_write_tokens` (compatible providers that bill writes).
 * Output: `completion_tokens`, which for OpenAI includes reasoning. xAI instead reports reasoning on top of
 * `completion_tokens` (its `total_tokens` = prompt + completion + reasoning); that case is recognised from the
 * totals (or from reasoning exceeding completion) and the reasoning is added to output.
 */
export function convertOpenAiChatUsage(usage: JsonObject): Usage {
  const promptDetails = objectAt(usage, "prompt_tokens_details");
  const hit = countAt(usage, "prompt_cache_hit_tokens");
  const miss = countAt(usage, "prompt_cache_miss_tokens");
  const prompt = countAt(usage, "prompt_tokens") ?? (hit ?? 0) + (miss ?? 0);
  const cacheRead = Math.min(countAt(promptDetails, "cached_tokens") ?? hit ?? 0, prompt);
  const cacheWrite = Math.min(countAt(promptDetails, "cache_write_tokens") ?? 0, prompt - cacheRead);

  const completion = countAt(usage, "completion_tokens") ?? 0;
  const reasoning = countAt(objectAt(usage, "completion_tokens_details"), "reasoning_tokens") ?? 0;
  const total = countAt(usage, "total_tokens");
  const reasoningOnTop =
    reasoning > 0 &&
    (reasoning > completion ||
      (total !== undefined && total === prompt + completion + reasoning && total !== prompt + completion));
  const output = reasoningOnTop ? completion + reasoning : completion;

  return {
    input: prompt - cacheRead - cacheWrite,
    cacheRead,
    cacheWrite5m: cacheWrite,
    cacheWrite1h: 0,
    output,
    reasoning: Math.min(reasoning, output),
  };
}

/** The usage object of a chat completion or chunk: top-level `usage`, else Groq's `x_groq.usage`. */
export function findChatUsage(obj: JsonObject): JsonObject | undefined {
  return objectAt(obj, "usage") ?? objectAt(objectAt(obj, "x_groq") ?? {}, "usage");
}

/** Characters of model text in a chat message or delta: content, refusal, reasoning, tool-call arguments. */
export function countChatMessageChars(message: JsonObject): { outputChars: number; reasoningChars: number } {
  let outputChars = (stringAt(message, "content") ?? "").length + (stringAt(message, "refusal") ?? "").length;
  const reasoningChars =
    (stringAt(message, "reasoning_content") ?? "").length + (stringAt(message, "reasoning") ?? "").length;
  for (const call of arrayAt(message, "tool_calls") ?? []) {
    if (!isObject(call)) continue;
    outputChars += (stringAt(objectAt(call, "function"), "arguments") ?? "").length;
    outputChars += (stringAt(objectAt(call, "custom"), "input") ?? "").length;
  }
  return { outputChars, reasoningChars };
}

/**
 * Metering for a complete chat completion. An error body costs nothing. Without usage (a compatible server that
 * omits it) output is estimated from the message text and input is left at 0 for the caller to estimate.
 */
export function meterOpenAiChatBody(body: unknown): BodyMetering {
  if (!isObject(body) || (isObject(body.error) && body.choices === undefined)) {
    return { usage: emptyUsage(), servedModel: null, estimated: false };
  }
  const servedModel = stringAt(body, "model") || null;
  const usage = findChatUsage(body);
  if (usage !== undefined) return { usage: convertOpenAiChatUsage(usage), servedModel, estimated: false };
  let outputChars = 0;
  let reasoningChars = 0;
  for (const choice of arrayAt(body, "choices") ?? []) {
    const message = isObject(choice) ? objectAt(choice, "message") : undefined;
    if (message === undefined) continue;
    const chars = countChatMessageChars(message);
    outputChars += chars.outputChars;
    reasoningChars += chars.reasoningChars;
  }
  return { usage: estimateOutput(emptyUsage(), outputChars, reasoningChars), servedModel, estimated: true };
}
