import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { BodyMetering } from "../dialect.ts";
import { arrayAt, countAt, isObject, type JsonObject, objectAt, stringAt } from "../shared/narrow.ts";
import { estimateOutput } from "../shared/stream-state.ts";

/** Gemini's usage counts as read from one usageMetadata; absent fields stay undefined so chunks merge field-wise. */
export interface GeminiCounts {
  prompt?: number;
  cached?: number;
  toolUsePrompt?: number;
  candidates?: number;
  thoughts?: number;
}

export function readGeminiCounts(usageMetadata: JsonObject): GeminiCounts {
  return {
    prompt: countAt(usageMetadata, "promptTokenCount"),
    cached: countAt(usageMetadata, "cachedContentTokenCount"),
    toolUsePrompt: countAt(usageMetadata, "toolUsePromptTokenCount"),
    candidates: countAt(usageMetadata, "candidatesTokenCount"),
    thoughts: countAt(usageMetadata, "thoughtsTokenCount"),
  };
}

export function hasAnyCount(c: GeminiCounts): boolean {
  return (
    c.prompt !== undefined ||
    c.cached !== undefined ||
    c.toolUsePrompt !== undefined ||
    c.candidates !== undefined ||
    c.thoughts !== undefined
  );
}

/** Running totals: the latest value of each field wins (usageMetadata repeats totals; it is never summed). */
export function mergeGeminiCounts(into: GeminiCounts, from: GeminiCounts): void {
  if (from.prompt !== undefined) into.prompt = from.prompt;
  if (from.cached !== undefined) into.cached = from.cached;
  if (from.toolUsePrompt !== undefined) into.toolUsePrompt = from.toolUsePrompt;
  if (from.candidates !== undefined) into.candidates = from.candidates;
  if (from.thoughts !== undefined) into.thoughts = from.thoughts;
}

/**
 * Gemini → buckets. `promptTokenCount` INCLUDES `cachedContentTokenCount`, and tool-use prompt tokens come on top:
 * input = prompt − cached + toolUsePrompt; cacheRead = cached. `candidatesTokenCount` EXCLUDES thoughts, which are
 * billed as output: output = candidates + thoughts; reasoning = thoughts. (Check: totalTokenCount = prompt +
 * toolUsePrompt + candidates + thoughts in the recorded responses.)
 */
export function geminiCountsToUsage(c: GeminiCounts): Usage {
  const prompt = c.prompt ?? 0;
  const cached = Math.min(c.cached ?? 0, prompt);
  const thoughts = c.thoughts ?? 0;
  return {
    input: prompt - cached + (c.toolUsePrompt ?? 0),
    cacheRead: cached,
    cacheWrite5m: 0,
    cacheWrite1h: 0,
    output: (c.candidates ?? 0) + thoughts,
    reasoning: thoughts,
  };
}

export function convertGeminiUsage(usageMetadata: unknown): Usage | null {
  return isObject(usageMetadata) ? geminiCountsToUsage(readGeminiCounts(usageMetadata)) : null;
}

/** Characters of model output in one GenerateContentResponse: text (thought parts as reasoning), call arguments. */
export function countGeminiChunkChars(response: JsonObject): {
  outputChars: number;
  reasoningChars: number;
  toolCall: boolean;
} {
  let outputChars = 0;
  let reasoningChars = 0;
  let toolCall = false;
  for (const candidate of arrayAt(response, "candidates") ?? []) {
    const content = isObject(candidate) ? objectAt(candidate, "content") : undefined;
    for (const part of (content && arrayAt(content, "parts")) ?? []) {
      if (!isObject(part)) continue;
      const text = (stringAt(part, "text") ?? "").length;
      if (part.thought === true) reasoningChars += text;
      else outputChars += text;
      const call = objectAt(part, "functionCall");
      if (call !== undefined) {
        if (stringAt(call, "name")) toolCall = true;
        if (isObject(call.args)) outputChars += JSON.stringify(call.args).length;
        for (const partial of arrayAt(call, "partialArgs") ?? []) {
          if (isObject(partial)) outputChars += (stringAt(partial, "stringValue") ?? "").length;
        }
      }
      outputChars += (stringAt(objectAt(part, "executableCode"), "code") ?? "").length;
    }
  }
  return { outputChars, reasoningChars, toolCall };
}

/**
 * Metering for a complete `:generateContent` body, or the JSON ARRAY of GenerateContentResponses that
 * `:streamGenerateContent` returns without `alt=sse` (usage merged across elements, latest wins; model from the
 * last element that names one). An error body (`{"error":{…}}`, alone or as an array element) costs nothing.
 * Without any usageMetadata counts, output is estimated from the text and input is left at 0.
 */
export function meterGeminiBody(body: unknown): BodyMetering {
  const responses = (Array.isArray(body) ? body : [body]).filter(isObject);
  const counts: GeminiCounts = {};
  let servedModel: string | null = null;
  let outputChars = 0;
  let reasoningChars = 0;
  let sawCounts = false;
  let sawResponse = false;
  for (const response of responses) {
    if (isObject(response.error)) continue;
    sawResponse = true;
    const model = stringAt(response, "modelVersion");
    if (model) servedModel = model;
    const usage = objectAt(response, "usageMetadata");
    if (usage !== undefined) {
      const c = readGeminiCounts(usage);
      if (hasAnyCount(c)) sawCounts = true;
      mergeGeminiCounts(counts, c);
    }
    const chars = countGeminiChunkChars(response);
    outputChars += chars.outputChars;
    reasoningChars += chars.reasoningChars;
  }
  if (!sawResponse) return { usage: emptyUsage(), servedModel: null, estimated: false };
  if (sawCounts) return { usage: geminiCountsToUsage(counts), servedModel, estimated: false };
  return { usage: estimateOutput(emptyUsage(), outputChars, reasoningChars), servedModel, estimated: true };
}
