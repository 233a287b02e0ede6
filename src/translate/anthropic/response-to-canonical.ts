import { convertAnthropicUsage } from "../../dialects/anthropic/usage.ts";
import { arrayAt, isObject, stringAt } from "../../dialects/shared/narrow.ts";
import { emptyUsage } from "../../metering/usage.ts";
import type { CanonicalPart, CanonicalResponse } from "../canonical.ts";
import { reasoningFromRedacted, reasoningFromThinking, toolCallFromToolUse } from "./blocks-to-canonical.ts";
import { anthropicStopToCanonical } from "./stop-reason.ts";

/**
 * A complete Anthropic Message → canonical. Server-tool blocks (web search, code execution and their results) ran
 * on Anthropic's side; only the text, thinking and client tool calls around them reach the client.
 * Throws on a body that is not a Message (the caller answers with a bad-upstream-response error).
 */
export function anthropicResponseToCanonical(body: unknown): CanonicalResponse {
  if (!isObject(body) || body.type === "error" || !Array.isArray(body.content)) {
    throw new Error("the upstream body is not an Anthropic Message");
  }
  const content: CanonicalPart[] = [];
  for (const block of arrayAt(body, "content") ?? []) {
    if (!isObject(block)) continue;
    switch (block.type) {
      case "text": {
        const text = stringAt(block, "text") ?? "";
        if (text !== "") content.push({ type: "text", text });
        break;
      }
      case "thinking":
        content.push(reasoningFromThinking(block));
        break;
      case "redacted_thinking":
        content.push(reasoningFromRedacted(block));
        break;
      case "tool_use":
        content.push(toolCallFromToolUse(block));
        break;
      default:
        break;
    }
  }
  return {
    id: stringAt(body, "id") ?? "",
    model: stringAt(body, "model") ?? "",
    content,
    stop: anthropicStopToCanonical(stringAt(body, "stop_reason")),
    usage: convertAnthropicUsage(body.usage) ?? emptyUsage(),
  };
}
