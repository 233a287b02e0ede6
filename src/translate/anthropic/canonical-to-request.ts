import {
  type CanonicalImagePart,
  type CanonicalMessage,
  type CanonicalPart,
  type CanonicalRequest,
  type CanonicalTool,
  type JsonObject,
  type JsonValue,
  type Translated,
  TranslationError,
} from "../canonical.ts";
import { parseToolArguments, Warnings } from "./json.ts";
import { type AnthropicModelTraits, anthropicModelTraits } from "./model-traits.ts";
import { planThinking } from "./thinking.ts";

/** Anthropic requires max_tokens; used when the client gave none. */
export const DEFAULT_MAX_TOKENS = 8192;

/** Canonical → an Anthropic Messages request body. */
export function canonicalToAnthropicRequest(request: CanonicalRequest): Translated<JsonObject> {
  const warnings = new Warnings();
  const traits = anthropicModelTraits(request.model);
  const maxTokens = request.maxOutputTokens ?? DEFAULT_MAX_TOKENS;
  if (request.maxOutputTokens === null) {
    warnings.add(`max_tokens is required by Anthropic; ${DEFAULT_MAX_TOKENS} was sent`);
  }

  const messages = toMessages(request.messages, warnings);
  if (messages.length === 0) throw new TranslationError("Anthropic needs at least one user or assistant message.");
  const body: JsonObject = { model: request.model, max_tokens: maxTokens, messages };

  const system = request.system.filter((part) => part.text !== "").map((part) => ({ type: "text", text: part.text }));
  if (system.length > 0) body.system = system;

  if (request.tools.length > 0) {
    body.tools = request.tools.map((tool) => toTool(tool, warnings));
    const choice = toToolChoice(request);
    if (choice !== null) body.tool_choice = choice;
  } else if (request.toolChoice?.type === "required" || request.toolChoice?.type === "tool") {
    warnings.add("tool_choice was dropped: the request has no tools");
  }

  const plan = planThinking(request, maxTokens, traits, warnings);
  if (plan.thinking !== null && !toolLoopHasThinking(messages)) {
    // Anthropic requires the assistant turn of an unfinished tool loop to start with its thinking block; a turn
    // from another provider has none, and Anthropic's own advice is to turn thinking off for the request.
    warnings.add("Thinking was not requested: the current tool-use turn has no Anthropic thinking block");
    plan.thinking = null;
    plan.effort = null;
  }
  if (plan.thinking !== null) body.thinking = plan.thinking;
  else stripFinalThinking(messages, warnings);
  const outputConfig: JsonObject = {};
  if (plan.effort !== null) outputConfig.effort = plan.effort;
  const format = request.responseFormat;
  if (format?.type === "json-schema") outputConfig.format = { type: "json_schema", schema: format.schema };
  else if (format?.type === "json") {
    warnings.add("JSON mode without a schema has no Anthropic equivalent; the prompt alone asks for JSON");
  }
  if (Object.keys(outputConfig).length > 0) body.output_config = outputConfig;

  Object.assign(body, sampling(request, traits, plan.thinking !== null, warnings));
  const stop = request.stop.filter((s) => s.trim() !== "");
  if (stop.length < request.stop.length)
    warnings.add("Whitespace-only stop sequences are rejected by Anthropic and were dropped");
  if (stop.length > 0) body.stop_sequences = stop;
  if (request.user !== null) body.metadata = { user_id: request.user };
  if (request.stream) body.stream = true;
  return { value: body, warnings: warnings.list() };
}

/**
 * temperature / top_p / top_k, as far as the model and thinking allow: models with adaptive-only thinking reject
 * all three; with thinking on, Anthropic accepts only temperature 1, top_p ≥ 0.95 and no top_k.
 */
function sampling(
  request: CanonicalRequest,
  traits: AnthropicModelTraits,
  thinking: boolean,
  warnings: Warnings,
): JsonObject {
  const out: JsonObject = {};
  const drop = (name: string, why: string) => warnings.add(`${name} was dropped: ${why}`);
  const { temperature, topP, topK } = request;
  const modelRejects = "this model does not accept sampling parameters";
  if (temperature !== null) {
    if (traits.adaptiveOnly) drop("temperature", modelRejects);
    else if (thinking && temperature !== 1) drop("temperature", "Anthropic requires temperature 1 with thinking");
    else if (temperature > 1) {
      warnings.add(`temperature ${temperature} is above Anthropic's maximum; 1 was sent`);
      out.temperature = 1;
    } else out.temperature = temperature;
  }
  if (topP !== null) {
    if (traits.adaptiveOnly) drop("top_p", modelRejects);
    else if (thinking && topP < 0.95) drop("top_p", "Anthropic requires top_p ≥ 0.95 with thinking");
    else out.top_p = topP;
  }
  if (topK !== null) {
    if (traits.adaptiveOnly) drop("top_k", modelRejects);
    else if (thinking) drop("top_k", "Anthropic does not accept top_k with thinking");
    else out.top_k = topK;
  }
  return out;
}

/**
 * Input schemas must be JSON Schema objects with `type: "object"` at the root (a schema without a type, e.g. a
 * root `anyOf`, is rejected with "input_schema.type: Field required"). A root of another type cannot be called
 * with the same arguments, so it is an error rather than a silent change of shape.
 */
function toTool(tool: CanonicalTool, warnings: Warnings): JsonObject {
  const schema = tool.parameters;
  let inputSchema: JsonObject;
  if (schema.type === "object") inputSchema = schema;
  else if (schema.type === undefined) {
    inputSchema = { type: "object", ...schema };
    if (schema.properties === undefined && !hasCombinator(schema)) inputSchema.properties = {};
  } else {
    throw new TranslationError(
      `Tool "${tool.name}": Anthropic needs an object schema for tool input, not ${JSON.stringify(schema.type)}.`,
    );
  }
  if (hasCombinator(schema)) {
    warnings.add(`Tool "${tool.name}" has a root anyOf/oneOf/allOf schema, which Anthropic may reject`);
  }
  const out: JsonObject = { name: tool.name, input_schema: inputSchema };
  if (tool.description !== null) out.description = tool.description;
  return out;
}

function hasCombinator(schema: JsonObject): boolean {
  return schema.anyOf !== undefined || schema.oneOf !== undefined || schema.allOf !== undefined;
}

function toToolChoice(request: CanonicalRequest): JsonObject | null {
  const choice = request.toolChoice;
  let out: JsonObject | null;
  switch (choice?.type) {
    case undefined:
      out = null;
      break;
    case "auto":
      out = { type: "auto" };
      break;
    case "none":
      out = { type: "none" };
      break;
    case "required":
      out = { type: "any" };
      break;
    case "tool":
      out = { type: "tool", name: choice.name };
      break;
    default: {
      const unreachable: never = choice;
      throw new Error(`unknown tool choice ${JSON.stringify(unreachable)}`);
    }
  }
  if (request.parallelToolCalls === false && out?.type !== "none") {
    out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  }
  return out;
}

/**
 * With thinking on, when the last message carries tool results, the assistant turn before it must start with a
 * thinking (or redacted_thinking) block.
 */
function toolLoopHasThinking(messages: JsonObject[]): boolean {
  const last = messages.at(-1);
  const previous = messages.at(-2);
  if (last?.role !== "user" || previous?.role !== "assistant") return true;
  const lastBlocks = Array.isArray(last.content) ? last.content : [];
  if (!lastBlocks.some((b) => isBlockOfType(b, "tool_result"))) return true;
  const first = Array.isArray(previous.content) ? previous.content[0] : undefined;
  return first !== undefined && (isBlockOfType(first, "thinking") || isBlockOfType(first, "redacted_thinking"));
}

/** Without thinking, Anthropic rejects thinking blocks in a final (prefilled) assistant message. */
function stripFinalThinking(messages: JsonObject[], warnings: Warnings): void {
  const last = messages.at(-1);
  if (last?.role !== "assistant" || !Array.isArray(last.content)) return;
  const kept = last.content.filter((b) => !isBlockOfType(b, "thinking") && !isBlockOfType(b, "redacted_thinking"));
  if (kept.length === last.content.length) return;
  warnings.add("Thinking blocks in the final assistant message were dropped: thinking is off for this request");
  if (kept.length > 0) last.content = kept;
  else messages.pop();
}

function isBlockOfType(value: JsonValue, type: string): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && value.type === type;
}

type Role = "user" | "assistant";

/**
 * Canonical messages → Anthropic messages: consecutive messages of one role merged, tool_result blocks first in
 * their user message (Anthropic requires them right after the tool_use turn, before any text), and tool results
 * whose call is not in the preceding assistant turn sent as text (Anthropic rejects them as blocks).
 */
function toMessages(messages: CanonicalMessage[], warnings: Warnings): JsonObject[] {
  const merged: { role: Role; blocks: JsonObject[] }[] = [];
  for (const message of messages) {
    const blocks = message.content.flatMap((part) => toBlocks(part, message.role, warnings));
    if (blocks.length === 0) continue;
    const last = merged.at(-1);
    if (last !== undefined && last.role === message.role) last.blocks.push(...blocks);
    else merged.push({ role: message.role, blocks });
  }
  return merged.map((message, i) => {
    if (message.role === "assistant") return { role: "assistant", content: message.blocks };
    const previous = merged[i - 1];
    const callIds = new Set(
      previous?.role === "assistant"
        ? previous.blocks.flatMap((b) => (b.type === "tool_use" && typeof b.id === "string" ? [b.id] : []))
        : [],
    );
    const results: JsonObject[] = [];
    const rest: JsonObject[] = [];
    for (const block of message.blocks) {
      if (block.type !== "tool_result") rest.push(block);
      else if (typeof block.tool_use_id === "string" && callIds.has(block.tool_use_id)) results.push(block);
      else {
        warnings.add("A tool result without its tool call in the previous assistant turn was sent as text");
        rest.push(orphanResultText(block));
      }
    }
    return { role: "user", content: [...results, ...rest] };
  });
}

function orphanResultText(block: JsonObject): JsonObject {
  const content = Array.isArray(block.content) ? block.content : [];
  const text = content.flatMap((b) => (isTextBlock(b) ? [b.text] : [])).join("\n");
  return { type: "text", text: `[tool result ${String(block.tool_use_id)}]\n${text}` };
}

function isTextBlock(value: JsonValue): value is { type: "text"; text: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    value.type === "text" &&
    typeof value.text === "string"
  );
}

function toBlocks(part: CanonicalPart, role: Role, warnings: Warnings): JsonObject[] {
  switch (part.type) {
    case "text":
      return part.text === "" ? [] : [{ type: "text", text: part.text }];
    case "image":
      if (role === "assistant") {
        warnings.add("Images in assistant messages are not accepted by Anthropic and were dropped");
        return [];
      }
      return [imageBlock(part)];
    case "tool-call": {
      if (role !== "assistant") {
        warnings.add("A tool call in a user message was dropped");
        return [];
      }
      let input = parseToolArguments(part.arguments);
      if (input === null) {
        warnings.add(`Tool call ${part.id} had arguments that are not a JSON object; {} was sent`);
        input = {};
      }
      return [{ type: "tool_use", id: part.id, name: part.name, input }];
    }
    case "tool-result": {
      if (role !== "user") {
        warnings.add("A tool result in an assistant message was dropped");
        return [];
      }
      const block: JsonObject = { type: "tool_result", tool_use_id: part.callId };
      const content = part.content.flatMap((inner): JsonObject[] =>
        inner.type === "text" ? (inner.text === "" ? [] : [{ type: "text", text: inner.text }]) : [imageBlock(inner)],
      );
      if (content.length > 0) block.content = content;
      if (part.isError) block.is_error = true;
      return [block];
    }
    case "reasoning": {
      const opaque = part.opaque;
      if (role !== "assistant") {
        warnings.add("Reasoning in a user message was dropped");
        return [];
      }
      if (opaque?.dialect === "anthropic" && opaque.kind === "signature") {
        return [{ type: "thinking", thinking: part.text, signature: opaque.value }];
      }
      if (opaque?.dialect === "anthropic" && opaque.kind === "redacted") {
        return [{ type: "redacted_thinking", data: opaque.value }];
      }
      // Anthropic accepts thinking only with its own signature; another provider's reasoning cannot be replayed.
      warnings.add("Reasoning from another provider (or without an Anthropic signature) was not sent to Anthropic");
      return [];
    }
    default: {
      const unreachable: never = part;
      throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
    }
  }
}

function imageBlock(part: CanonicalImagePart): JsonObject {
  const source = part.source;
  return source.kind === "base64"
    ? { type: "image", source: { type: "base64", media_type: source.mediaType, data: source.data } }
    : { type: "image", source: { type: "url", url: source.url } };
}
