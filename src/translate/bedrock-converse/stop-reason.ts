import type { CanonicalStop } from "../canonical.ts";

/** Converse `stopReason` → canonical; unknown values map to "other" with the raw value kept. */
export function converseStopToCanonical(raw: string | null | undefined): CanonicalStop {
  const value = raw ?? null;
  switch (value) {
    case "end_turn":
      return { unified: "end", raw: value };
    case "max_tokens":
    case "model_context_window_exceeded":
      return { unified: "max-tokens", raw: value };
    case "stop_sequence":
      return { unified: "stop-sequence", raw: value };
    case "tool_use":
      return { unified: "tool-calls", raw: value };
    case "guardrail_intervened":
    case "content_filtered":
      return { unified: "content-filter", raw: value };
    default:
      return { unified: "other", raw: value };
  }
}

/** Canonical → Converse `stopReason`. Converse has no "other" / "pause" / "error": those end the turn. */
export function canonicalStopToConverse(stop: CanonicalStop): string {
  switch (stop.unified) {
    case "end":
      return "end_turn";
    case "max-tokens":
      return stop.raw === "model_context_window_exceeded" ? stop.raw : "max_tokens";
    case "stop-sequence":
      return "stop_sequence";
    case "tool-calls":
      return "tool_use";
    case "content-filter":
      return stop.raw === "guardrail_intervened" ? stop.raw : "content_filtered";
    case "pause":
    case "error":
    case "other":
      return "end_turn";
    default: {
      const unreachable: never = stop.unified;
      throw new Error(`unknown stop reason ${String(unreachable)}`);
    }
  }
}
