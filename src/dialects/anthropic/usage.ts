import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { BodyMetering } from "../dialect.ts";
import { countAt, isObject, type JsonObject, objectAt, stringAt } from "../shared/narrow.ts";
import { estimateOutput } from "../shared/stream-state.ts";

/**
 * Anthropic's usage numbers as read from one `usage` object. Absent and null fields stay undefined so a stream can
 * merge `message_start` and `message_delta` field by field (the delta may repeat or override any of them).
 */
export interface AnthropicCounts {
  input?: number;
  cacheRead?: number;
  /** `cache_creation_input_tokens`: all cache writes, whatever their TTL. */
  cacheCreation?: number;
  cache5m?: number;
  cache1h?: number;
  output?: number;
  thinking?: number;
}

export function readAnthropicCounts(usage: JsonObject): AnthropicCounts {
  const creation = objectAt(usage, "cache_creation");
  return {
    input: countAt(usage, "input_tokens"),
    cacheRead: countAt(usage, "cache_read_input_tokens"),
    cacheCreation: countAt(usage, "cache_creation_input_tokens"),
    cache5m: countAt(creation, "ephemeral_5m_input_tokens"),
    cache1h: countAt(creation, "ephemeral_1h_input_tokens"),
    output: countAt(usage, "output_tokens"),
    thinking: countAt(objectAt(usage, "output_tokens_details"), "thinking_tokens"),
  };
}

/** Field-wise "latest known value wins": what Anthropic's cumulative `message_delta.usage` calls for. */
export function mergeAnthropicCounts(into: AnthropicCounts, from: AnthropicCounts): void {
  if (from.input !== undefined) into.input = from.input;
  if (from.cacheRead !== undefined) into.cacheRead = from.cacheRead;
  if (from.cacheCreation !== undefined) into.cacheCreation = from.cacheCreation;
  if (from.cache5m !== undefined) into.cache5m = from.cache5m;
  if (from.cache1h !== undefined) into.cache1h = from.cache1h;
  if (from.output !== undefined) into.output = from.output;
  if (from.thinking !== undefined) into.thinking = from.thinking;
}

/**
 * Anthropic → buckets. `input_tokens` already excludes cache reads and writes, so it maps straight to `input`.
 * Cache writes: the total is `cache_creation_input_tokens` (or, without it, the sum of the TTL split). The 1-hour
 * part comes from `cache_creation.ephemeral_1h_input_tokens` and the rest is 5-minute, the default TTL. Reconciling
 * this way matters for streams: `message_delta` can raise the total (server-side tool turns write more cache)
 * without repeating the split, and the extra then counts as 5-minute writes rather than vanishing.
 * Reasoning is `output_tokens_details.thinking_tokens` when the API splits it out, else 0; it is part of output.
 */
export function anthropicCountsToUsage(c: AnthropicCounts): Usage {
  const splitTotal =
    c.cache5m === undefined && c.cache1h === undefined ? undefined : (c.cache5m ?? 0) + (c.cache1h ?? 0);
  const cacheWrites = c.cacheCreation ?? splitTotal ?? 0;
  const cacheWrite1h = Math.min(c.cache1h ?? 0, cacheWrites);
  const output = c.output ?? 0;
  return {
    input: c.input ?? 0,
    cacheRead: c.cacheRead ?? 0,
    cacheWrite5m: cacheWrites - cacheWrite1h,
    cacheWrite1h,
    output,
    reasoning: Math.min(c.thinking ?? 0, output),
  };
}

/** Buckets for one Anthropic `usage` object; null when it is not an object. */
export function convertAnthropicUsage(usage: unknown): Usage | null {
  return isObject(usage) ? anthropicCountsToUsage(readAnthropicCounts(usage)) : null;
}

/**
 * Metering for a complete (non-streaming) Messages response. An error body carries no usage and costs nothing.
 * A message without `usage` (some Anthropic-compatible servers) gets its output estimated from its content.
 */
export function meterAnthropicBody(body: unknown): BodyMetering {
  if (!isObject(body) || body.type === "error") {
    return { usage: emptyUsage(), servedModel: null, estimated: false };
  }
  const servedModel = stringAt(body, "model") ?? null;
  const usage = convertAnthropicUsage(body.usage);
  if (usage !== null) return { usage, servedModel, estimated: false };
  const { outputChars, reasoningChars } = countContentChars(body.content);
  return { usage: estimateOutput(emptyUsage(), outputChars, reasoningChars), servedModel, estimated: true };
}

function countContentChars(content: unknown): { outputChars: number; reasoningChars: number } {
  let outputChars = 0;
  let reasoningChars = 0;
  if (!Array.isArray(content)) return { outputChars, reasoningChars };
  for (const block of content) {
    if (!isObject(block)) continue;
    outputChars += (stringAt(block, "text") ?? "").length;
    reasoningChars += (stringAt(block, "thinking") ?? "").length;
    if ((block.type === "tool_use" || block.type === "server_tool_use") && block.input !== undefined) {
      outputChars += JSON.stringify(block.input).length;
    }
  }
  return { outputChars, reasoningChars };
}
