import type {
  CanonicalPart,
  CanonicalReasoningPart,
  CanonicalResponse,
  CanonicalStreamEvent,
  CanonicalTextPart,
  CanonicalToolCallPart,
} from "../translate/canonical.ts";

/**
 * Folds a canonical event stream into the whole response; null unless the stream started, finished and carried no
 * error (a cut, dropped or failed stream is never a cacheable answer).
 */
export function accumulateStream(events: readonly CanonicalStreamEvent[]): CanonicalResponse | null {
  let id: string | null = null;
  let model = "";
  const blocks = new Map<number, CanonicalPart>();
  let finished: Extract<CanonicalStreamEvent, { type: "finish" }> | null = null;
  for (const e of events) {
    switch (e.type) {
      case "start":
        id = e.id;
        model = e.model;
        break;
      case "text-start":
        blocks.set(e.block, { type: "text", text: "" });
        break;
      case "text-delta":
        (blocks.get(e.block) as CanonicalTextPart).text += e.text;
        break;
      case "reasoning-start":
        blocks.set(e.block, { type: "reasoning", text: "", opaque: null });
        break;
      case "reasoning-delta":
        (blocks.get(e.block) as CanonicalReasoningPart).text += e.text;
        break;
      case "reasoning-opaque":
        (blocks.get(e.block) as CanonicalReasoningPart).opaque = e.opaque;
        break;
      case "tool-call-start":
        blocks.set(e.block, { type: "tool-call", id: e.id, name: e.name, arguments: "" });
        break;
      case "tool-call-delta":
        (blocks.get(e.block) as CanonicalToolCallPart).arguments += e.argumentsDelta;
        break;
      case "block-end":
      case "usage":
        break;
      case "finish":
        finished = e;
        break;
      case "error":
        return null;
      default: {
        const unreachable: never = e;
        throw new Error(`unknown event ${String(unreachable)}`);
      }
    }
  }
  if (id === null || finished === null) return null;
  const content = [...blocks.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  return { id, model, content, stop: finished.stop, usage: finished.usage };
}
