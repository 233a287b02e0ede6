import { arrayAt, isObject, type JsonObject, objectAt, stringAt } from "../../dialects/shared/narrow.ts";
import {
  type CanonicalImagePart,
  type CanonicalMessage,
  type CanonicalPart,
  type CanonicalReasoningRequest,
  type CanonicalRequest,
  type CanonicalResponseFormat,
  type CanonicalTextPart,
  type CanonicalTool,
  type CanonicalToolChoice,
  type CanonicalToolResultPart,
  type Translated,
  TranslationError,
} from "../canonical.ts";
import {
  droppedBlockWarning,
  reasoningFromRedacted,
  reasoningFromThinking,
  toolCallFromToolUse,
} from "./blocks-to-canonical.ts";
import { isJsonObject, Warnings } from "./json.ts";

/** Claude Code puts this line in a system block of every request; it is Anthropic billing data, not an instruction. */
const BILLING_HEADER_PREFIX = "x-anthropic-billing-header:";

/** Top-level fields this converter reads. */
const TRANSLATED_FIELDS = new Set([
  "model",
  "messages",
  "system",
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "stop_sequences",
  "stream",
  "tools",
  "tool_choice",
  "thinking",
  "output_config",
  "output_format",
  "metadata",
]);

/** Fields that only tune Anthropic's own service (caching, routing, tiers): meaningless elsewhere, dropped quietly. */
const ANTHROPIC_ONLY_HINTS = new Set(["cache_control", "service_tier", "inference_geo", "speed", "diagnostics"]);

/** An Anthropic Messages request body → canonical. Throws TranslationError when the body is not a Messages request. */
export function anthropicRequestToCanonical(body: unknown): Translated<CanonicalRequest> {
  if (!isObject(body)) throw new TranslationError("The request body must be a JSON object.");
  const warnings = new Warnings();
  const model = body.model;
  if (typeof model !== "string") throw new TranslationError("model: Field required");
  const rawMessages = arrayAt(body, "messages");
  if (rawMessages === undefined) throw new TranslationError("messages: Field required");

  const system = readSystem(body.system, "system");
  const toolNames = new Map<string, string>();
  const messages: CanonicalMessage[] = [];
  rawMessages.forEach((raw, i) => {
    if (!isObject(raw)) throw new TranslationError(`messages.${i}: Input should be an object`);
    const role = raw.role;
    if (role === "system") {
      system.push(...readSystem(raw.content, `messages.${i}.content`));
      return;
    }
    if (role !== "user" && role !== "assistant") {
      throw new TranslationError(`messages.${i}.role: Input should be 'user', 'assistant' or 'system'`);
    }
    const content = readContent(raw.content, `messages.${i}.content`, toolNames, warnings);
    // A message left empty by dropped blocks (server tools only) would be rejected by most targets.
    if (content.length > 0) messages.push({ role, content });
  });

  for (const key of Object.keys(body)) {
    if (!TRANSLATED_FIELDS.has(key) && !ANTHROPIC_ONLY_HINTS.has(key)) {
      warnings.add(`Anthropic request field "${key}" is not translated and was dropped`);
    }
  }

  const tools = readTools(body.tools, warnings);
  const choice = readToolChoice(body.tool_choice);
  const forced = choice.toolChoice;
  if (forced?.type === "tool" && !tools.some((tool) => tool.name === forced.name)) {
    warnings.add(`tool_choice named "${forced.name}", which was not translated; auto was sent`);
    choice.toolChoice = { type: "auto" };
  }
  const request: CanonicalRequest = {
    model,
    system,
    messages,
    tools,
    toolChoice: choice.toolChoice,
    parallelToolCalls: choice.parallelToolCalls,
    maxOutputTokens: numberOrNull(body.max_tokens),
    temperature: numberOrNull(body.temperature),
    topP: numberOrNull(body.top_p),
    topK: numberOrNull(body.top_k),
    stop: (arrayAt(body, "stop_sequences") ?? []).filter((s): s is string => typeof s === "string"),
    stream: body.stream === true,
    reasoning: readReasoning(body, warnings),
    responseFormat: readResponseFormat(body),
    user: stringAt(objectAt(body, "metadata"), "user_id") ?? null,
  };
  return { value: request, warnings: warnings.list() };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** `system` (or a `role: "system"` message's content): a string or text blocks. cache_control is a hint, dropped. */
function readSystem(value: unknown, at: string): CanonicalTextPart[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return systemText(value);
  if (!Array.isArray(value)) throw new TranslationError(`${at}: Input should be a string or a list of text blocks`);
  const parts: CanonicalTextPart[] = [];
  value.forEach((block, j) => {
    if (!isObject(block) || block.type !== "text" || typeof block.text !== "string") {
      throw new TranslationError(`${at}.${j}: system content must be text blocks`);
    }
    parts.push(...systemText(block.text));
  });
  return parts;
}

/** Drops Claude Code's billing-header line; the rest of the text is kept as it was. */
function systemText(text: string): CanonicalTextPart[] {
  const kept = text.startsWith(BILLING_HEADER_PREFIX)
    ? text
        .split("\n")
        .filter((line) => !line.startsWith(BILLING_HEADER_PREFIX))
        .join("\n")
    : text;
  return kept.trim() === "" ? [] : [{ type: "text", text: kept }];
}

function readContent(value: unknown, at: string, toolNames: Map<string, string>, warnings: Warnings): CanonicalPart[] {
  if (typeof value === "string") return value === "" ? [] : [{ type: "text", text: value }];
  if (!Array.isArray(value)) throw new TranslationError(`${at}: Input should be a string or a list of blocks`);
  const parts: CanonicalPart[] = [];
  value.forEach((block, j) => {
    if (!isObject(block) || typeof block.type !== "string") {
      throw new TranslationError(`${at}.${j}: each content block needs a type`);
    }
    parts.push(...readBlock(block, block.type, toolNames, warnings));
  });
  return parts;
}

function readBlock(
  block: JsonObject,
  type: string,
  toolNames: Map<string, string>,
  warnings: Warnings,
): CanonicalPart[] {
  switch (type) {
    case "text": {
      const text = stringAt(block, "text") ?? "";
      if (block.citations !== undefined && block.citations !== null) {
        warnings.add("Anthropic citations on text blocks are not translated and were dropped");
      }
      return text === "" ? [] : [{ type: "text", text }];
    }
    case "image":
      return [readImage(block, warnings)];
    case "document":
      return readDocument(block, warnings);
    case "search_result":
      return [searchResultText(block, warnings)];
    case "thinking":
      return [reasoningFromThinking(block)];
    case "redacted_thinking":
      return [reasoningFromRedacted(block)];
    case "tool_use": {
      const call = toolCallFromToolUse(block);
      toolNames.set(call.id, call.name);
      return [call];
    }
    case "tool_result":
      return [readToolResult(block, toolNames, warnings)];
    default:
      droppedBlockWarning(type, warnings);
      return [];
  }
}

function readImage(block: JsonObject, warnings: Warnings): CanonicalImagePart | CanonicalTextPart {
  const source = objectAt(block, "source");
  const kind = stringAt(source, "type");
  if (kind === "base64") {
    return {
      type: "image",
      source: { kind: "base64", mediaType: stringAt(source, "media_type") ?? "", data: stringAt(source, "data") ?? "" },
    };
  }
  if (kind === "url") return { type: "image", source: { kind: "url", url: stringAt(source, "url") ?? "" } };
  // A file_id points into Anthropic's Files API: no other provider can read it.
  warnings.add("Anthropic image blocks that reference an uploaded file cannot be translated; a placeholder was sent");
  return { type: "text", text: "[image omitted: it was uploaded to Anthropic's Files API]" };
}

/**
 * Plain-text and content documents become their text (and images); PDFs and file references have no canonical form
 * yet. They become a placeholder rather than an error: Claude Code's Read tool returns PDFs inside tool results, and
 * one old PDF must not make a whole session untranslatable.
 */
function readDocument(block: JsonObject, warnings: Warnings): (CanonicalTextPart | CanonicalImagePart)[] {
  const source = objectAt(block, "source");
  const title = stringAt(block, "title");
  switch (stringAt(source, "type")) {
    case "text": {
      const data = stringAt(source, "data") ?? "";
      return [{ type: "text", text: title ? `${title}\n\n${data}` : data }];
    }
    case "content": {
      const content = source?.content;
      if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
      const parts: (CanonicalTextPart | CanonicalImagePart)[] = [];
      for (const inner of Array.isArray(content) ? content : []) {
        if (!isObject(inner)) continue;
        if (inner.type === "text" && typeof inner.text === "string") parts.push({ type: "text", text: inner.text });
        else if (inner.type === "image") parts.push(readImage(inner, warnings));
      }
      return parts;
    }
    default:
      warnings.add("Anthropic PDF/file document blocks cannot be translated; a placeholder was sent");
      return [{ type: "text", text: `[document omitted${title ? `: ${title}` : ""}]` }];
  }
}

function searchResultText(block: JsonObject, warnings: Warnings): CanonicalTextPart {
  warnings.add("Anthropic search_result blocks were sent as plain text (citations are lost)");
  const texts = (arrayAt(block, "content") ?? []).flatMap((inner) =>
    isObject(inner) && typeof inner.text === "string" ? [inner.text] : [],
  );
  const head = [stringAt(block, "title"), stringAt(block, "source")].filter((s) => s !== undefined).join("\n");
  return { type: "text", text: [head, ...texts].filter((s) => s !== "").join("\n\n") };
}

function readToolResult(
  block: JsonObject,
  toolNames: Map<string, string>,
  warnings: Warnings,
): CanonicalToolResultPart {
  const callId = stringAt(block, "tool_use_id") ?? "";
  const content = block.content;
  const parts: (CanonicalTextPart | CanonicalImagePart)[] = [];
  if (typeof content === "string") {
    if (content !== "") parts.push({ type: "text", text: content });
  } else if (Array.isArray(content)) {
    for (const inner of content) {
      if (!isObject(inner) || typeof inner.type !== "string") continue;
      switch (inner.type) {
        case "text":
          if (typeof inner.text === "string" && inner.text !== "") parts.push({ type: "text", text: inner.text });
          break;
        case "image":
          parts.push(readImage(inner, warnings));
          break;
        case "document":
          parts.push(...readDocument(inner, warnings));
          break;
        case "search_result":
          parts.push(searchResultText(inner, warnings));
          break;
        default:
          droppedBlockWarning(inner.type, warnings);
      }
    }
  }
  return {
    type: "tool-result",
    callId,
    name: toolNames.get(callId) ?? null,
    content: parts,
    isError: block.is_error === true,
  };
}

/**
 * Custom tools (with an `input_schema`) become canonical tools. Anthropic's own tool types (web search, code
 * execution, bash/text-editor/computer/memory, tool search) have no schema another provider could use: dropped.
 */
function readTools(value: unknown, warnings: Warnings): CanonicalTool[] {
  if (!Array.isArray(value)) return [];
  const tools: CanonicalTool[] = [];
  for (const tool of value) {
    if (!isObject(tool)) continue;
    const name = stringAt(tool, "name") ?? "";
    const schema = tool.input_schema;
    const type = stringAt(tool, "type");
    if ((type === undefined || type === "custom") && isJsonObject(schema)) {
      tools.push({ name, description: stringAt(tool, "description") ?? null, parameters: schema });
    } else {
      warnings.add(`Anthropic built-in tool "${name}" (${type ?? "no schema"}) cannot be translated and was dropped`);
    }
  }
  return tools;
}

function readToolChoice(value: unknown): {
  toolChoice: CanonicalToolChoice | null;
  parallelToolCalls: boolean | null;
} {
  if (!isObject(value)) return { toolChoice: null, parallelToolCalls: null };
  const disable = value.disable_parallel_tool_use;
  const parallelToolCalls = typeof disable === "boolean" ? !disable : null;
  switch (value.type) {
    case "auto":
      return { toolChoice: { type: "auto" }, parallelToolCalls };
    case "any":
      return { toolChoice: { type: "required" }, parallelToolCalls };
    case "none":
      return { toolChoice: { type: "none" }, parallelToolCalls };
    case "tool": {
      const name = stringAt(value, "name");
      if (name === undefined) throw new TranslationError("tool_choice.name: Field required");
      return { toolChoice: { type: "tool", name }, parallelToolCalls };
    }
    default:
      throw new TranslationError("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
  }
}

/**
 * `thinking` (enabled with a budget, adaptive, between_tools) and `output_config.effort`. Effort alone still asks
 * for reasoning effort; an explicit `disabled` wins over it.
 */
function readReasoning(body: JsonObject, warnings: Warnings): CanonicalReasoningRequest | null {
  const thinking = objectAt(body, "thinking");
  const effort = stringAt(objectAt(body, "output_config"), "effort") ?? null;
  const type = stringAt(thinking, "type");
  switch (type) {
    case "enabled":
      return { budgetTokens: numberOrNull(thinking?.budget_tokens), effort };
    case "adaptive":
    case "between_tools":
      return { budgetTokens: null, effort };
    case "disabled":
      if (effort !== null) warnings.add("output_config.effort was dropped because thinking is disabled");
      return null;
    case undefined:
      return effort === null ? null : { budgetTokens: null, effort };
    default:
      warnings.add(`thinking type "${type}" is not translated; the provider's default was left in place`);
      return effort === null ? null : { budgetTokens: null, effort };
  }
}

/** Structured outputs: `output_config.format` (GA) or the older beta `output_format`. */
function readResponseFormat(body: JsonObject): CanonicalResponseFormat | null {
  const format = objectAt(objectAt(body, "output_config") ?? {}, "format") ?? objectAt(body, "output_format");
  if (format === undefined || format.type !== "json_schema") return null;
  const schema = format.schema;
  if (!isJsonObject(schema)) throw new TranslationError("output_config.format.schema: Input should be an object");
  return { type: "json-schema", name: "response", schema, strict: true };
}
