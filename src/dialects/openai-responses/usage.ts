import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { BodyMetering } from "../dialect.ts";
import { arrayAt, countAt, isObject, type JsonObject, objectAt, stringAt } from "../shared/narrow.ts";
import { estimateOutput } from "../shared/stream-state.ts";

/**
 * Responses → buckets. `input_tokens` INCLUDES cached tokens (`input_tokens_details.cached_tokens`), and is taken to
 * include `cache_write_tokens` the same way, so input = input_tokens − cache reads − cache writes. Output is
 * `output_tokens`, reasoning included; `output_tokens_details.reasoning_tokens` is its reasoning part.
 */
export function convertResponsesUsage(usage: JsonObject): Usage {
  const details = objectAt(usage, "input_tokens_details");
  const inputTotal = countAt(usage, "input_tokens") ?? 0;
  const cacheRead = Math.min(countAt(details, "cached_tokens") ?? 0, inputTotal);
  const cacheWrite = Math.min(countAt(details, "cache_write_tokens") ?? 0, inputTotal - cacheRead);
  const output = countAt(usage, "output_tokens") ?? 0;
  const reasoning = countAt(objectAt(usage, "output_tokens_details"), "reasoning_tokens") ?? 0;
  return {
    input: inputTotal - cacheRead - cacheWrite,
    cacheRead,
    cacheWrite5m: cacheWrite,
    cacheWrite1h: 0,
    output,
    reasoning: Math.min(reasoning, output),
  };
}

/** An error body (`{"error":{…}}`), as opposed to a Response object whose `error` field describes a failure. */
function isErrorBody(body: JsonObject): boolean {
  return isObject(body.error) && body.object !== "response" && body.output === undefined;
}

/** Metering for a complete Response object; an error body costs nothing; a Response without usage is estimated. */
export function meterResponsesBody(body: unknown): BodyMetering {
  if (!isObject(body) || isErrorBody(body)) return { usage: emptyUsage(), servedModel: null, estimated: false };
  const servedModel = stringAt(body, "model") || null;
  const usage = objectAt(body, "usage");
  if (usage !== undefined) return { usage: convertResponsesUsage(usage), servedModel, estimated: false };
  const { outputChars, reasoningChars } = countOutputChars(arrayAt(body, "output") ?? []);
  return { usage: estimateOutput(emptyUsage(), outputChars, reasoningChars), servedModel, estimated: true };
}

function countOutputChars(output: unknown[]): { outputChars: number; reasoningChars: number } {
  let outputChars = 0;
  let reasoningChars = 0;
  for (const item of output) {
    if (!isObject(item)) continue;
    outputChars += (stringAt(item, "arguments") ?? "").length + (stringAt(item, "input") ?? "").length;
    for (const part of arrayAt(item, "content") ?? []) {
      if (!isObject(part)) continue;
      if (item.type === "reasoning") reasoningChars += (stringAt(part, "text") ?? "").length;
      else outputChars += (stringAt(part, "text") ?? "").length + (stringAt(part, "refusal") ?? "").length;
    }
    for (const part of arrayAt(item, "summary") ?? []) {
      if (isObject(part)) reasoningChars += (stringAt(part, "text") ?? "").length;
    }
  }
  return { outputChars, reasoningChars };
}
