import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { BodyMetering } from "../dialect.ts";
import { arrayAt, countAt, isObject, type JsonObject, objectAt, stringAt } from "../shared/narrow.ts";
import { estimateOutput } from "../shared/stream-state.ts";

/**
 * Converse usage → buckets. `inputTokens` excludes cache reads and writes (the Anthropic convention Bedrock keeps
 * for every model; `totalTokens` is the sum of all four), so it maps straight to `input`. Cache writes are 5-minute
 * ones unless `cacheDetails` gives a TTL split. Converse does not split reasoning out of `outputTokens`.
 */
export function convertConverseUsage(usage: unknown): Usage | null {
  if (!isObject(usage)) return null;
  const writes = countAt(usage, "cacheWriteInputTokens") ?? 0;
  const oneHour = Math.min(writes, cacheWrites1h(usage));
  return {
    input: countAt(usage, "inputTokens") ?? 0,
    cacheRead: countAt(usage, "cacheReadInputTokens") ?? 0,
    cacheWrite5m: writes - oneHour,
    cacheWrite1h: oneHour,
    output: countAt(usage, "outputTokens") ?? 0,
    reasoning: 0,
  };
}

/** `cacheDetails: [{ttl: "1h", inputTokens}]`, where the service reports the split. */
function cacheWrites1h(usage: JsonObject): number {
  let total = 0;
  for (const detail of arrayAt(usage, "cacheDetails") ?? []) {
    if (isObject(detail) && stringAt(detail, "ttl") === "1h") total += countAt(detail, "inputTokens") ?? 0;
  }
  return total;
}

/**
 * Metering for a complete Converse response. Converse bodies name no model (the caller falls back to the
 * requested one). An error body (`{"message"}`) costs nothing; a body without usage gets its output estimated.
 */
export function meterConverseBody(body: unknown): BodyMetering {
  if (!isObject(body) || objectAt(body, "output") === undefined) {
    return { usage: emptyUsage(), servedModel: null, estimated: false };
  }
  const usage = convertConverseUsage(body.usage);
  if (usage !== null) return { usage, servedModel: null, estimated: false };
  let outputChars = 0;
  let reasoningChars = 0;
  for (const block of arrayAt(objectAt(objectAt(body, "output") ?? {}, "message") ?? {}, "content") ?? []) {
    if (!isObject(block)) continue;
    outputChars += (stringAt(block, "text") ?? "").length;
    const toolUse = objectAt(block, "toolUse");
    if (toolUse?.input !== undefined) outputChars += JSON.stringify(toolUse.input).length;
    reasoningChars += (stringAt(objectAt(objectAt(block, "reasoningContent") ?? {}, "reasoningText"), "text") ?? "")
      .length;
  }
  return { usage: estimateOutput(emptyUsage(), outputChars, reasoningChars), servedModel: null, estimated: true };
}
