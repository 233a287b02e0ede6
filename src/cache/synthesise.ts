import type { CanonicalResponse, CanonicalStreamEvent } from "../translate/canonical.ts";

/** A stored response as the canonical events a live stream would have produced: start, each block, finish. */
export function synthesiseEvents(response: CanonicalResponse): CanonicalStreamEvent[] {
  const events: CanonicalStreamEvent[] = [{ type: "start", id: response.id, model: response.model }];
  let block = 0;
  for (const part of response.content) {
    switch (part.type) {
      case "text":
        events.push({ type: "text-start", block }, { type: "text-delta", block, text: part.text });
        break;
      case "reasoning":
        events.push({ type: "reasoning-start", block });
        if (part.text !== "") events.push({ type: "reasoning-delta", block, text: part.text });
        if (part.opaque) events.push({ type: "reasoning-opaque", block, opaque: part.opaque });
        break;
      case "tool-call":
        events.push(
          { type: "tool-call-start", block, id: part.id, name: part.name },
          { type: "tool-call-delta", block, argumentsDelta: part.arguments },
        );
        break;
      case "image":
      case "tool-result":
        // Not model output; never in a response.
        continue;
      default: {
        const unreachable: never = part;
        throw new Error(`unknown part ${String(unreachable)}`);
      }
    }
    events.push({ type: "block-end", block });
    block++;
  }
  events.push({ type: "usage", usage: response.usage });
  events.push({ type: "finish", stop: response.stop, usage: response.usage });
  return events;
}
