import type { CanonicalStop } from "../canonical.ts";

const CONTENT_FILTER = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);
/** The model produced something unusable (a call that does not parse, or names no declared function). */
const MODEL_ERROR = new Set(["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"]);

/**
 * A candidate's `finishReason` (or the prompt's `blockReason`) → canonical stop. Gemini says STOP for a natural end,
 * a stop sequence and a turn of function calls alike: calls in the candidate make it `tool-calls`.
 */
export function mapGeminiFinishReason(raw: string, hasToolCalls: boolean): CanonicalStop {
  if (raw === "STOP") return { unified: hasToolCalls ? "tool-calls" : "end", raw };
  if (raw === "MAX_TOKENS") return { unified: "max-tokens", raw };
  if (CONTENT_FILTER.has(raw)) return { unified: "content-filter", raw };
  if (MODEL_ERROR.has(raw)) return { unified: "error", raw };
  return { unified: "other", raw };
}

/** A prompt blocked before generation (`promptFeedback.blockReason`): always a content filter. */
export function mapGeminiBlockReason(raw: string): CanonicalStop {
  return { unified: "content-filter", raw };
}

/** Canonical stop → the `finishReason` a Gemini client sees. */
export function toGeminiFinishReason(stop: CanonicalStop): string {
  switch (stop.unified) {
    case "end":
    case "tool-calls":
    case "stop-sequence":
      return "STOP";
    case "max-tokens":
      return "MAX_TOKENS";
    case "content-filter":
      return "SAFETY";
    case "error":
      return stop.raw !== null && MODEL_ERROR.has(stop.raw) ? stop.raw : "OTHER";
    case "pause":
    case "other":
      return "OTHER";
    default: {
      const unreachable: never = stop.unified;
      throw new Error(`unknown stop ${String(unreachable)}`);
    }
  }
}
