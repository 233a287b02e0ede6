import { totalInputTokens, type Usage } from "../../metering/usage.ts";
import type { JsonObject } from "../canonical.ts";

/**
 * Canonical usage → a client's `usageMetadata` (the reverse of dialects/gemini/usage.ts): `promptTokenCount` is
 * every input token (cache reads and writes included), `cachedContentTokenCount` the cache reads,
 * `candidatesTokenCount` the output without reasoning, `thoughtsTokenCount` the reasoning. Zero counts that
 * Gemini omits (proto3) are omitted.
 */
export function toUsageMetadata(usage: Usage): JsonObject {
  const prompt = totalInputTokens(usage);
  const thoughts = Math.min(usage.reasoning, usage.output);
  const out: JsonObject = { promptTokenCount: prompt };
  if (usage.cacheRead > 0) out.cachedContentTokenCount = usage.cacheRead;
  out.candidatesTokenCount = usage.output - thoughts;
  if (thoughts > 0) out.thoughtsTokenCount = thoughts;
  out.totalTokenCount = prompt + usage.output;
  return out;
}
