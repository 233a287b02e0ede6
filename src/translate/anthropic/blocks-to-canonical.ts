import { type JsonObject, stringAt } from "../../dialects/shared/narrow.ts";
import type { CanonicalReasoningPart, CanonicalToolCallPart } from "../canonical.ts";
import type { Warnings } from "./json.ts";

/**
 * Block types Anthropic's servers produce and consume themselves (server tools, their results, containers). They
 * mean nothing to another provider: they are dropped, with a warning naming the type.
 */
const SERVER_BLOCK_TYPES = new Set([
  "server_tool_use",
  "web_search_tool_result",
  "web_fetch_tool_result",
  "code_execution_tool_result",
  "bash_code_execution_tool_result",
  "text_editor_code_execution_tool_result",
  "tool_search_tool_result",
  "container_upload",
  "mcp_tool_use",
  "mcp_tool_result",
]);

export function isServerBlockType(type: string): boolean {
  return SERVER_BLOCK_TYPES.has(type);
}

export function droppedBlockWarning(type: string, warnings: Warnings): void {
  warnings.add(
    isServerBlockType(type)
      ? `Anthropic server-tool content (${type}) cannot be sent to another provider and was dropped`
      : `Anthropic content block type "${type}" is not translated and was dropped`,
  );
}

/** `thinking` → reasoning; its signature is Anthropic's and stays tagged as such. */
export function reasoningFromThinking(block: JsonObject): CanonicalReasoningPart {
  const signature = stringAt(block, "signature") ?? "";
  return {
    type: "reasoning",
    text: stringAt(block, "thinking") ?? "",
    opaque: signature === "" ? null : { dialect: "anthropic", kind: "signature", value: signature },
  };
}

/** `redacted_thinking` → reasoning without text, its encrypted data kept for Anthropic only. */
export function reasoningFromRedacted(block: JsonObject): CanonicalReasoningPart {
  return {
    type: "reasoning",
    text: "",
    opaque: { dialect: "anthropic", kind: "redacted", value: stringAt(block, "data") ?? "" },
  };
}

export function toolCallFromToolUse(block: JsonObject): CanonicalToolCallPart {
  const input = block.input;
  return {
    type: "tool-call",
    id: stringAt(block, "id") ?? "",
    name: stringAt(block, "name") ?? "",
    arguments: input === undefined || input === null ? "{}" : JSON.stringify(input),
  };
}
