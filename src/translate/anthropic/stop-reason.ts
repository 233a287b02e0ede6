import type { CanonicalStop } from "../canonical.ts";

/** Anthropic `stop_reason` → canonical; values this code does not know map to "other" with the raw value kept. */
export function anthropicStopToCanonical(raw: string | null | undefined): CanonicalStop {
  const value = raw ?? null;
  switch (value) {
    case "end_turn":
      return { unified: "end", raw: value };
    case "max_tokens":
    // The context window ran out: for the client it is the same as reaching the output cap.
    case "model_context_window_exceeded":
      return { unified: "max-tokens", raw: value };
    case "stop_sequence":
      return { unified: "stop-sequence", raw: value };
    case "tool_use":
      return { unified: "tool-calls", raw: value };
    case "pause_turn":
      return { unified: "pause", raw: value };
    case "refusal":
      return { unified: "content-filter", raw: value };
    default:
      return { unified: "other", raw: value };
  }
}

/**
 * Canonical → Anthropic `stop_reason`. Anthropic has no "other" or "error" value: those end the turn, which is
 * what a client can act on (the raw reason stays on the log row through the provider's side).
 */
export function canonicalStopToAnthropic(stop: CanonicalStop): string {
  switch (stop.unified) {
    case "end":
      return "end_turn";
    case "max-tokens":
      return stop.raw === "model_context_window_exceeded" ? stop.raw : "max_tokens";
    case "stop-sequence":
      return "stop_sequence";
    case "tool-calls":
      return "tool_use";
    case "pause":
      return "pause_turn";
    case "content-filter":
      return "refusal";
    case "error":
    case "other":
      return "end_turn";
    default: {
      const unreachable: never = stop.unified;
      throw new Error(`unknown stop reason ${String(unreachable)}`);
    }
  }
}
