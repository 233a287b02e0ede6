import { totalInputTokens, type Usage } from "../../metering/usage.ts";
import type { JsonObject } from "../canonical.ts";

/**
 * Canonical buckets → a Responses `usage` object: `input_tokens` counts every input token (cache reads and writes
 * included, as OpenAI does); `output_tokens` includes reasoning. The inverse of `convertResponsesUsage`.
 */
export function toResponsesUsage(usage: Usage): JsonObject {
  const input = totalInputTokens(usage);
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: usage.cacheRead,
      cache_write_tokens: usage.cacheWrite5m + usage.cacheWrite1h,
    },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: usage.reasoning },
    total_tokens: input + usage.output,
  };
}
