import { estimateTokensFromText } from "../../metering/estimate.ts";
import type { Usage } from "../../metering/usage.ts";
import type { InBandError, StreamMetering } from "../dialect.ts";

/**
 * What every stream meter tracks besides the provider's own usage numbers: the served model, the end and error
 * markers, and the characters of model text seen, from which output is estimated when the final usage never comes.
 */
export class StreamState {
  servedModel: string | null = null;
  finished = false;
  contentStarted = false;
  error: InBandError | null = null;
  stopReason: string | null = null;
  /** Characters of visible text, refusals and tool-call arguments. */
  outputChars = 0;
  /** Characters of thinking / reasoning text (also output, billed as such). */
  reasoningChars = 0;

  addOutput(chars: number): void {
    if (chars > 0) {
      this.outputChars += chars;
      this.contentStarted = true;
    }
  }

  addReasoning(chars: number): void {
    if (chars > 0) {
      this.reasoningChars += chars;
      this.contentStarted = true;
    }
  }

  /** The first in-band error wins: later ones (Responses' `response.failed` after `error`) repeat it. */
  setError(error: InBandError): void {
    if (this.error === null) this.error = error;
  }

  /**
   * The meter's answer. With `finalUsage` the provider's numbers stand as they are; without, output is the larger
   * of what the provider reported so far and the estimate from streamed characters, and the result is flagged.
   */
  result(known: Usage, finalUsage: boolean): StreamMetering {
    return {
      usage: finalUsage ? { ...known } : estimateOutput(known, this.outputChars, this.reasoningChars),
      servedModel: this.servedModel,
      estimated: !finalUsage,
      finished: this.finished,
      contentStarted: this.contentStarted,
      error: this.error === null ? null : { ...this.error },
      stopReason: this.stopReason,
    };
  }
}

/** Known usage with output (and its reasoning part) raised to what the streamed characters suggest. */
export function estimateOutput(known: Usage, outputChars: number, reasoningChars: number): Usage {
  const reasoning = Math.max(known.reasoning, estimateTokensFromText(reasoningChars));
  const output = Math.max(known.output, estimateTokensFromText(outputChars) + reasoning);
  return { ...known, output, reasoning: Math.min(reasoning, output) };
}
