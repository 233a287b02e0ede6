import type { Usage } from "../../metering/usage.ts";
import type { CanonicalPart, CanonicalResponse, JsonObject } from "../canonical.ts";
import { parseToolArguments } from "./json.ts";
import { canonicalStopToAnthropic } from "./stop-reason.ts";

/** Canonical → an Anthropic Message body, named with the model the client asked for. */
export function canonicalToAnthropicResponse(response: CanonicalResponse, model: string): JsonObject {
  return {
    id: response.id,
    type: "message",
    role: "assistant",
    model,
    content: response.content.flatMap(toBlock),
    stop_reason: canonicalStopToAnthropic(response.stop),
    stop_sequence: null,
    usage: anthropicUsageObject(response.usage),
  };
}

/**
 * Buckets → Anthropic's usage object. `input_tokens` excludes cache reads and writes, as Anthropic's does (and
 * `Usage.input` already is that); cache writes are the sum of both TTLs, with the split in `cache_creation`.
 */
export function anthropicUsageObject(usage: Usage): JsonObject {
  const out: JsonObject = {
    input_tokens: usage.input,
    cache_creation_input_tokens: usage.cacheWrite5m + usage.cacheWrite1h,
    cache_read_input_tokens: usage.cacheRead,
    cache_creation: {
      ephemeral_5m_input_tokens: usage.cacheWrite5m,
      ephemeral_1h_input_tokens: usage.cacheWrite1h,
    },
    output_tokens: usage.output,
  };
  if (usage.reasoning > 0) out.output_tokens_details = { thinking_tokens: usage.reasoning };
  return out;
}

function toBlock(part: CanonicalPart): JsonObject[] {
  switch (part.type) {
    case "text":
      return part.text === "" ? [] : [{ type: "text", text: part.text }];
    case "tool-call":
      // Unparseable arguments (a model's broken JSON) reach the client as {} rather than as a non-object input.
      return [{ type: "tool_use", id: part.id, name: part.name, input: parseToolArguments(part.arguments) ?? {} }];
    case "reasoning": {
      const opaque = part.opaque;
      if (opaque?.dialect === "anthropic" && opaque.kind === "redacted") {
        return [{ type: "redacted_thinking", data: opaque.value }];
      }
      // Another provider's opaque reasoning never reaches the client as an Anthropic signature.
      const signature = opaque?.dialect === "anthropic" && opaque.kind === "signature" ? opaque.value : "";
      if (part.text === "" && signature === "") return [];
      return [{ type: "thinking", thinking: part.text, signature }];
    }
    case "image":
    case "tool-result":
      // Anthropic responses carry neither generated images nor tool results.
      return [];
    default: {
      const unreachable: never = part;
      throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
    }
  }
}
