import { isAnthropicBedrockModel } from "../../providers/bedrock/models.ts";
import { parseToolArguments, Warnings } from "../anthropic/json.ts";
import { anthropicModelTraits } from "../anthropic/model-traits.ts";
import { planThinking } from "../anthropic/thinking.ts";
import {
  type CanonicalImagePart,
  type CanonicalMessage,
  type CanonicalPart,
  type CanonicalRequest,
  type CanonicalTool,
  type JsonObject,
  type Translated,
  TranslationError,
} from "../canonical.ts";
import { imageFormatOf } from "./blocks.ts";

/** What Anthropic models on Bedrock get when the client set no output cap (thinking budgets need one). */
const DEFAULT_ANTHROPIC_MAX_TOKENS = 8192;

type Role = "user" | "assistant";

/**
 * Canonical → a Converse request body (the model goes in the URL path). Anthropic models get their sampling and
 * thinking fields in `additionalModelRequestFields`, planned as for the Anthropic API; other models get the
 * portable `inferenceConfig` only, and reasoning where their family has a known switch.
 */
export function canonicalToConverseRequest(request: CanonicalRequest): Translated<JsonObject> {
  const warnings = new Warnings();
  const anthropic = isAnthropicBedrockModel(request.model);
  const hasTools = request.tools.length > 0;
  const messages = toMessages(request.messages, hasTools, warnings);
  if (messages.length === 0) throw new TranslationError("Converse needs at least one user or assistant message.");
  if (messages[0]?.role !== "user") {
    // Converse rejects a conversation that starts with the assistant.
    messages.unshift({ role: "user", content: [{ text: "(continue)" }] });
    warnings.add("The conversation started with an assistant message; a user turn was put before it");
  }
  const body: JsonObject = { messages };
  const system = request.system.filter((part) => part.text !== "").map((part) => ({ text: part.text }));
  if (system.length > 0) body.system = system;

  const inference: JsonObject = {};
  const maxTokens = request.maxOutputTokens ?? (anthropic ? DEFAULT_ANTHROPIC_MAX_TOKENS : null);
  if (maxTokens !== null) inference.maxTokens = maxTokens;
  const extra: JsonObject = {};
  let thinking = anthropic && maxTokens !== null ? anthropicThinking(request, maxTokens, warnings) : null;
  if (thinking !== null && !toolLoopHasReasoning(messages)) {
    // As on the Anthropic API: the assistant turn of an unfinished tool loop must start with its thinking block.
    warnings.add("Thinking was not requested: the current tool-use turn has no Bedrock reasoning block");
    thinking = null;
  }
  if (thinking !== null) Object.assign(extra, thinking);
  else if (!anthropic) otherReasoning(request, extra, warnings);
  const thinkingOn = thinking?.thinking !== undefined;
  if (request.temperature !== null) {
    if (thinkingOn && request.temperature !== 1) warnings.add("temperature was dropped: thinking requires 1");
    else inference.temperature = request.temperature;
  }
  if (request.topP !== null) {
    if (thinkingOn && request.topP < 0.95) warnings.add("top_p was dropped: thinking requires ≥ 0.95");
    else inference.topP = request.topP;
  }
  if (request.topK !== null) {
    if (anthropic && !thinkingOn) extra.top_k = request.topK;
    else warnings.add("top_k was dropped: Converse has no portable top_k for this model");
  }
  const stop = request.stop.filter((s) => s !== "");
  if (stop.length > 0) inference.stopSequences = stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  if (Object.keys(extra).length > 0) body.additionalModelRequestFields = extra;

  if (hasTools) {
    const toolConfig: JsonObject = { tools: request.tools.map((tool) => toToolSpec(tool, warnings)) };
    const choice = request.toolChoice;
    // `auto` is the default and some models reject it spelled out; `none` has no Converse form.
    if (choice?.type === "required") toolConfig.toolChoice = { any: {} };
    else if (choice?.type === "tool") toolConfig.toolChoice = { tool: { name: choice.name } };
    else if (choice?.type === "none") warnings.add('tool_choice "none" has no Converse equivalent; auto was used');
    if (request.parallelToolCalls === false) warnings.add("Disabling parallel tool calls is not possible in Converse");
    body.toolConfig = toolConfig;
  } else if (request.toolChoice?.type === "required" || request.toolChoice?.type === "tool") {
    warnings.add("tool_choice was dropped: the request has no tools");
  }
  if (request.responseFormat !== null) {
    warnings.add("Converse has no response format here; the prompt alone asks for JSON");
  }
  return { value: body, warnings: warnings.list() };
}

/** Anthropic thinking, planned as for the Anthropic API (budget below max_tokens, adaptive on 4.6+). */
function anthropicThinking(request: CanonicalRequest, maxTokens: number, warnings: Warnings): JsonObject | null {
  const plan = planThinking(request, maxTokens, anthropicModelTraits(request.model), warnings);
  if (plan.thinking === null) return null;
  const out: JsonObject = { thinking: plan.thinking };
  if (plan.effort !== null) out.output_config = { effort: plan.effort };
  return out;
}

const NOVA_EFFORTS: Readonly<Record<string, string>> = { minimal: "low", low: "low", medium: "medium", high: "high" };

/** Reasoning switches of other model families on Converse: Nova 2's reasoningConfig, OpenAI's reasoning_effort. */
function otherReasoning(request: CanonicalRequest, extra: JsonObject, warnings: Warnings): void {
  const reasoning = request.reasoning;
  if (reasoning === null) return;
  const effort = reasoning.effort ?? "medium";
  if (/(?:^|\.)amazon\.nova-2/.test(request.model)) {
    extra.reasoningConfig = { type: "enabled", maxReasoningEffort: NOVA_EFFORTS[effort] ?? "medium" };
  } else if (/(?:^|\.)openai\./.test(request.model)) {
    extra.reasoning_effort = NOVA_EFFORTS[effort] ?? "medium";
  } else {
    warnings.add("Reasoning was requested, but this model has no known Converse reasoning switch; it was dropped");
  }
}

/** Input schemas must be JSON Schema objects (`type: "object"` at the root). */
function toToolSpec(tool: CanonicalTool, warnings: Warnings): JsonObject {
  const schema = tool.parameters;
  let json: JsonObject;
  if (schema.type === "object") json = schema;
  else if (schema.type === undefined) json = { type: "object", properties: {}, ...schema };
  else {
    throw new TranslationError(
      `Tool "${tool.name}": Converse needs an object schema for tool input, not ${JSON.stringify(schema.type)}.`,
    );
  }
  if (schema.$schema !== undefined) {
    const { $schema: _dropped, ...rest } = json;
    json = rest;
    warnings.add(`Tool "${tool.name}": "$schema" was removed from the input schema`);
  }
  const spec: JsonObject = { name: tool.name, inputSchema: { json } };
  if (tool.description !== null && tool.description !== "") spec.description = tool.description;
  return { toolSpec: spec };
}

/**
 * Canonical messages → Converse messages: roles alternate (consecutive messages of one role merged), tool results
 * first in their user message and only for calls of the preceding assistant turn (else sent as text). Without
 * tools in the request, Bedrock refuses toolUse / toolResult blocks, so history tool traffic becomes text.
 */
function toMessages(messages: CanonicalMessage[], hasTools: boolean, warnings: Warnings): JsonObject[] {
  const merged: { role: Role; blocks: JsonObject[] }[] = [];
  for (const message of messages) {
    const blocks = message.content.flatMap((part) => toBlocks(part, message.role, hasTools, warnings));
    if (blocks.length === 0) continue;
    const last = merged.at(-1);
    if (last !== undefined && last.role === message.role) last.blocks.push(...blocks);
    else merged.push({ role: message.role, blocks });
  }
  return merged.map((message, i) => {
    if (message.role === "assistant") return { role: "assistant", content: message.blocks };
    const previous = merged[i - 1];
    const callIds = new Set(
      previous?.role === "assistant" ? previous.blocks.flatMap((b) => toolUseIdOf(b, "toolUse") ?? []) : [],
    );
    const results: JsonObject[] = [];
    const rest: JsonObject[] = [];
    for (const block of message.blocks) {
      const id = toolUseIdOf(block, "toolResult");
      if (id === null) rest.push(block);
      else if (callIds.has(id)) results.push(block);
      else {
        warnings.add("A tool result without its tool call in the previous assistant turn was sent as text");
        rest.push({ text: `[tool result ${id}]\n${resultText(block)}` });
      }
    }
    return { role: "user", content: [...results, ...rest] };
  });
}

function toolLoopHasReasoning(messages: JsonObject[]): boolean {
  const last = messages.at(-1);
  const previous = messages.at(-2);
  if (last?.role !== "user" || previous?.role !== "assistant") return true;
  const lastBlocks = Array.isArray(last.content) ? last.content : [];
  if (!lastBlocks.some((b) => isBlock(b) && toolUseIdOf(b, "toolResult") !== null)) return true;
  const first = Array.isArray(previous.content) ? previous.content[0] : undefined;
  return isBlock(first) && first.reasoningContent !== undefined;
}

function isBlock(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toolUseIdOf(block: JsonObject, key: "toolUse" | "toolResult"): string | null {
  const inner = block[key];
  if (typeof inner !== "object" || inner === null || Array.isArray(inner)) return null;
  const id = inner.toolUseId;
  return typeof id === "string" ? id : null;
}

function resultText(block: JsonObject): string {
  const result = block.toolResult;
  if (typeof result !== "object" || result === null || Array.isArray(result)) return "";
  const content = Array.isArray(result.content) ? result.content : [];
  return content
    .flatMap((c) =>
      typeof c === "object" && c !== null && !Array.isArray(c) && typeof c.text === "string" ? [c.text] : [],
    )
    .join("\n");
}

function toBlocks(part: CanonicalPart, role: Role, hasTools: boolean, warnings: Warnings): JsonObject[] {
  switch (part.type) {
    case "text":
      return part.text.trim() === "" ? [] : [{ text: part.text }];
    case "image": {
      if (role === "assistant") {
        warnings.add("Images in assistant messages are not accepted by Converse and were dropped");
        return [];
      }
      return [imageBlock(part, warnings)];
    }
    case "tool-call": {
      if (role !== "assistant") {
        warnings.add("A tool call in a user message was dropped");
        return [];
      }
      if (!hasTools) {
        warnings.add("Tool calls in the history were sent as text: the request offers no tools");
        return [{ text: `[tool call ${part.name} ${part.id}]\n${part.arguments}` }];
      }
      let input = parseToolArguments(part.arguments);
      if (input === null) {
        warnings.add(`Tool call ${part.id} had arguments that are not a JSON object; {} was sent`);
        input = {};
      }
      return [{ toolUse: { toolUseId: part.id, name: part.name, input } }];
    }
    case "tool-result": {
      if (role !== "user") {
        warnings.add("A tool result in an assistant message was dropped");
        return [];
      }
      const content = part.content.flatMap((inner): JsonObject[] =>
        inner.type === "text" ? (inner.text === "" ? [] : [{ text: inner.text }]) : [imageBlock(inner, warnings)],
      );
      if (!hasTools) {
        warnings.add("Tool results in the history were sent as text: the request offers no tools");
        const text = part.content.flatMap((inner) => (inner.type === "text" ? [inner.text] : [])).join("\n");
        return [{ text: `[tool result ${part.callId}]\n${text}` }];
      }
      // Converse requires content; an empty result (a command that printed nothing) is said so.
      const result: JsonObject = {
        toolUseId: part.callId,
        content: content.length > 0 ? content : [{ text: "(empty)" }],
      };
      if (part.isError) result.status = "error";
      return [{ toolResult: result }];
    }
    case "reasoning": {
      if (role !== "assistant") {
        warnings.add("Reasoning in a user message was dropped");
        return [];
      }
      const opaque = part.opaque;
      if (opaque?.dialect === "bedrock-converse" && opaque.kind === "signature") {
        return [{ reasoningContent: { reasoningText: { text: part.text, signature: opaque.value } } }];
      }
      if (opaque?.dialect === "bedrock-converse" && opaque.kind === "redacted") {
        return [{ reasoningContent: { redactedContent: opaque.value } }];
      }
      warnings.add("Reasoning from another provider (or without a Bedrock signature) was not sent to Bedrock");
      return [];
    }
    default: {
      const unreachable: never = part;
      throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
    }
  }
}

function imageBlock(part: CanonicalImagePart, warnings: Warnings): JsonObject {
  const source = part.source;
  const format = source.kind === "base64" ? imageFormatOf(source.mediaType) : null;
  if (source.kind !== "base64" || format === null) {
    warnings.add("Converse takes images as bytes (png, jpeg, gif, webp) only; a placeholder was sent");
    return { text: source.kind === "url" ? `[image: ${source.url}]` : "[image omitted: unsupported format]" };
  }
  return { image: { format, source: { bytes: source.data } } };
}
