import type { CanonicalStop } from "../canonical.ts";

/**
 * A Response's `status` (+ `incomplete_details.reason`) → canonical stop. `completed` with a function call among the
 * outputs is a tool-call turn; an unknown status or incomplete reason is "other", never "end".
 */
export function stopFromStatus(
  status: string | undefined,
  incompleteReason: string | undefined,
  hasToolCalls: boolean,
): CanonicalStop {
  switch (status) {
    case "completed":
      return { unified: hasToolCalls ? "tool-calls" : "end", raw: status };
    case "incomplete":
      if (incompleteReason === "max_output_tokens") return { unified: "max-tokens", raw: incompleteReason };
      if (incompleteReason === "content_filter") return { unified: "content-filter", raw: incompleteReason };
      return { unified: "other", raw: incompleteReason ?? status };
    case "failed":
      return { unified: "error", raw: status };
    default:
      return { unified: "other", raw: status ?? null };
  }
}

export interface ResponsesTerminal {
  status: "completed" | "incomplete" | "failed";
  incompleteReason: "max_output_tokens" | "content_filter" | null;
}

/** Canonical stop → the client's Response status. Responses has no slot for the other reasons: they complete. */
export function terminalForStop(stop: CanonicalStop): ResponsesTerminal {
  switch (stop.unified) {
    case "max-tokens":
      return { status: "incomplete", incompleteReason: "max_output_tokens" };
    case "content-filter":
      return { status: "incomplete", incompleteReason: "content_filter" };
    case "error":
      return { status: "failed", incompleteReason: null };
    case "end":
    case "tool-calls":
    case "stop-sequence":
    case "pause":
    case "other":
      return { status: "completed", incompleteReason: null };
    default: {
      const unreachable: never = stop.unified;
      throw new Error(`unknown stop ${String(unreachable)}`);
    }
  }
}
