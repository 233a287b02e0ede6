import { emptyUsage, type Usage } from "../../metering/usage.ts";
import type { BodyMetering } from "../dialect.ts";
import { firstNumberValue, firstStringValue } from "../shared/json-scan.ts";
import { countAt, isObject, objectAt, stringAt } from "../shared/narrow.ts";

function inputOnly(tokens: number): Usage {
  return { ...emptyUsage(), input: tokens };
}

/** Embeddings bill input only: `usage.prompt_tokens` (or `total_tokens`, which equals it). */
export function meterEmbeddingsBody(body: unknown): BodyMetering {
  if (!isObject(body) || (isObject(body.error) && body.data === undefined)) {
    return { usage: emptyUsage(), servedModel: null, estimated: false };
  }
  const servedModel = stringAt(body, "model") || null;
  const usage = objectAt(body, "usage");
  const tokens = countAt(usage, "prompt_tokens") ?? countAt(usage, "total_tokens");
  if (tokens === undefined) return { usage: emptyUsage(), servedModel, estimated: true };
  return { usage: inputOnly(tokens), servedModel, estimated: false };
}

/**
 * Usage from the first and last bytes of a response too large to buffer. OpenAI writes `model` and `usage` after
 * the vectors; other servers may put them first; both edges are searched (the key search is exact, see json-scan).
 */
export function meterEmbeddingsEdges(head: string, tail: string): BodyMetering | null {
  const tokens =
    firstNumberValue(tail, "prompt_tokens") ??
    firstNumberValue(head, "prompt_tokens") ??
    firstNumberValue(tail, "total_tokens") ??
    firstNumberValue(head, "total_tokens");
  if (tokens === null) return null;
  const servedModel = firstStringValue(tail, "model") ?? firstStringValue(head, "model");
  return { usage: inputOnly(tokens), servedModel, estimated: false };
}
