import type { Usage } from "../../metering/usage.ts";
import { parseToolArguments } from "../anthropic/json.ts";
import type { CanonicalPart, CanonicalResponse, JsonObject } from "../canonical.ts";
import { canonicalStopToConverse } from "./stop-reason.ts";

/** Canonical → a Converse response body (Converse bodies name no model; `_model` is unused). */
export function canonicalToConverseResponse(response: CanonicalResponse, _model: string): JsonObject {
  return {
    output: { message: { role: "assistant", content: response.content.flatMap(toBlock) } },
    stopReason: canonicalStopToConverse(response.stop),
    usage: converseUsageObject(response.usage),
    metrics: { latencyMs: 0 },
  };
}

/** Buckets → Converse usage: `inputTokens` excludes cache reads and writes; `totalTokens` is the sum of all. */
export function converseUsageObject(usage: Usage): JsonObject {
  const cacheWrite = usage.cacheWrite5m + usage.cacheWrite1h;
  return {
    inputTokens: usage.input,
    outputTokens: usage.output,
    totalTokens: usage.input + usage.cacheRead + cacheWrite + usage.output,
    cacheReadInputTokens: usage.cacheRead,
    cacheWriteInputTokens: cacheWrite,
  };
}

function toBlock(part: CanonicalPart): JsonObject[] {
  switch (part.type) {
    case "text":
      return part.text === "" ? [] : [{ text: part.text }];
    case "tool-call":
      return [{ toolUse: { toolUseId: part.id, name: part.name, input: parseToolArguments(part.arguments) ?? {} } }];
    case "reasoning": {
      const opaque = part.opaque?.dialect === "bedrock-converse" ? part.opaque : null;
      if (opaque?.kind === "redacted") return [{ reasoningContent: { redactedContent: opaque.value } }];
      // Another provider's opaque reasoning never reaches the client as a Bedrock signature.
      const text: JsonObject = { text: part.text };
      if (opaque?.kind === "signature") text.signature = opaque.value;
      return part.text === "" && opaque === null ? [] : [{ reasoningContent: { reasoningText: text } }];
    }
    case "image":
    case "tool-result":
      return [];
    default: {
      const unreachable: never = part;
      throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
    }
  }
}
