import { convertGeminiUsage } from "../../dialects/gemini/usage.ts";
import { arrayAt, isObject, objectAt, stringAt } from "../../dialects/shared/narrow.ts";
import { emptyUsage } from "../../metering/usage.ts";
import type { CanonicalPart, CanonicalResponse, CanonicalStop } from "../canonical.ts";
import { mapGeminiBlockReason, mapGeminiFinishReason } from "./finish-reason.ts";
import { modelPartsToCanonical } from "./parts.ts";

/** Tool-call ids for a response whose calls have none: `call_<index>` by position in the response. */
export function responseCallIds(): () => string {
  let n = 0;
  return () => `call_${n++}`;
}

/**
 * A `generateContent` body → canonical. Only the first candidate is read (translation never asks for more). A
 * prompt blocked before generation (`promptFeedback.blockReason`, no candidates) is an empty content-filter stop.
 * An error body is not a response: the pipeline renders those itself; given one anyway, it reads as a stop
 * `error` with the status as the raw reason.
 */
export function geminiResponseToCanonical(body: unknown): CanonicalResponse {
  const res = isObject(body) ? body : {};
  const candidate = arrayAt(res, "candidates")?.find(isObject);
  const parts = arrayAt(objectAt(candidate ?? {}, "content") ?? {}, "parts") ?? [];
  const content: CanonicalPart[] = modelPartsToCanonical(parts, { callId: responseCallIds(), warnings: [] });
  return {
    id: stringAt(res, "responseId") ?? "",
    model: stringAt(res, "modelVersion") ?? "",
    content,
    stop: responseStop(
      res,
      candidate,
      content.some((p) => p.type === "tool-call"),
    ),
    usage: convertGeminiUsage(res.usageMetadata) ?? emptyUsage(),
  };
}

function responseStop(
  res: Record<string, unknown>,
  candidate: Record<string, unknown> | undefined,
  hasToolCalls: boolean,
): CanonicalStop {
  const error = objectAt(res, "error");
  if (error !== undefined) return { unified: "error", raw: stringAt(error, "status") ?? null };
  const finish = stringAt(candidate, "finishReason");
  if (finish !== undefined) return mapGeminiFinishReason(finish, hasToolCalls);
  const block = stringAt(objectAt(res, "promptFeedback"), "blockReason");
  if (block !== undefined) return mapGeminiBlockReason(block);
  return { unified: "other", raw: null };
}
