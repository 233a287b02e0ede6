import { arrayAt, isObject, type JsonObject, objectAt, stringAt } from "../../dialects/shared/narrow.ts";
import { isJsonObject, Warnings } from "../anthropic/json.ts";
import {
  type CanonicalImagePart,
  type CanonicalMessage,
  type CanonicalPart,
  type CanonicalReasoningRequest,
  type CanonicalRequest,
  type CanonicalTextPart,
  type CanonicalTool,
  type CanonicalToolChoice,
  type Translated,
  TranslationError,
} from "../canonical.ts";
import { imageFromConverse, reasoningFromConverse, toolCallFromConverse } from "./blocks.ts";

/** Top-level fields this converter reads (the model is in the URL path, not the body). */
const TRANSLATED_FIELDS = new Set([
  "modelId",
  "messages",
  "system",
  "inferenceConfig",
  "toolConfig",
  "additionalModelRequestFields",
]);

/** Bedrock-side features (guardrails, prompt management, logging metadata, latency tier): meaningless elsewhere. */
const BEDROCK_ONLY_HINTS = new Set(["requestMetadata", "performanceConfig", "serviceTier"]);

/**
 * A Converse request body → canonical. The model comes from the path (the pipeline sets it); `stream` from the
 * route (converse vs converse-stream). Throws TranslationError when the body is not a Converse request.
 */
export function converseRequestToCanonical(body: unknown): Translated<CanonicalRequest> {
  if (!isObject(body)) throw new TranslationError("The request body must be a JSON object.");
  const warnings = new Warnings();
  const rawMessages = arrayAt(body, "messages") ?? [];
  const toolNames = new Map<string, string>();
  const messages: CanonicalMessage[] = [];
  rawMessages.forEach((raw, i) => {
    if (!isObject(raw)) throw new TranslationError(`messages.${i}: expected an object`);
    const role = raw.role;
    if (role !== "user" && role !== "assistant") {
      throw new TranslationError(`messages.${i}.role: expected "user" or "assistant"`);
    }
    const content = arrayAt(raw, "content");
    if (content === undefined) throw new TranslationError(`messages.${i}.content: expected a list of content blocks`);
    const parts = content.flatMap((block, j) => readBlock(block, `messages.${i}.content.${j}`, toolNames, warnings));
    if (parts.length > 0) messages.push({ role, content: parts });
  });

  for (const key of Object.keys(body)) {
    if (!TRANSLATED_FIELDS.has(key) && !BEDROCK_ONLY_HINTS.has(key)) {
      warnings.add(`Converse request field "${key}" is not translated and was dropped`);
    }
  }

  const inference = objectAt(body, "inferenceConfig") ?? {};
  const extra = objectAt(body, "additionalModelRequestFields") ?? {};
  const toolConfig = objectAt(body, "toolConfig");
  const tools = readTools(toolConfig, warnings);
  const request: CanonicalRequest = {
    model: stringAt(body, "modelId") ?? "",
    system: readSystem(body.system, warnings),
    messages,
    tools,
    toolChoice: readToolChoice(objectAt(toolConfig ?? {}, "toolChoice")),
    parallelToolCalls: null,
    maxOutputTokens: numberOrNull(inference.maxTokens),
    temperature: numberOrNull(inference.temperature),
    topP: numberOrNull(inference.topP),
    topK: numberOrNull(extra.top_k),
    stop: (arrayAt(inference, "stopSequences") ?? []).filter((s): s is string => typeof s === "string"),
    stream: false,
    reasoning: readReasoning(extra, warnings),
    responseFormat: null,
    user: null,
  };
  return { value: request, warnings: warnings.list() };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** `system`: text blocks; cache points are a Bedrock hint, guard content is sent as its text. */
function readSystem(value: unknown, warnings: Warnings): CanonicalTextPart[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TranslationError("system: expected a list of system content blocks");
  const parts: CanonicalTextPart[] = [];
  for (const block of value) {
    if (!isObject(block)) continue;
    const text = stringAt(block, "text") ?? guardText(block, warnings);
    if (text !== undefined && text !== "") parts.push({ type: "text", text });
  }
  return parts;
}

function guardText(block: JsonObject, warnings: Warnings): string | undefined {
  const guard = objectAt(block, "guardContent");
  if (guard === undefined) return undefined;
  warnings.add("Converse guardContent was sent as plain text (guardrails run on Bedrock only)");
  return stringAt(objectAt(guard, "text"), "text");
}

function readBlock(block: unknown, at: string, toolNames: Map<string, string>, warnings: Warnings): CanonicalPart[] {
  if (!isObject(block)) throw new TranslationError(`${at}: expected a content block object`);
  const text = stringAt(block, "text");
  if (text !== undefined) return text === "" ? [] : [{ type: "text", text }];
  const image = objectAt(block, "image");
  if (image !== undefined) return [imageFromConverse(image, warnings)];
  const toolUse = objectAt(block, "toolUse");
  if (toolUse !== undefined) {
    const call = toolCallFromConverse(toolUse);
    toolNames.set(call.id, call.name);
    return [call];
  }
  const toolResult = objectAt(block, "toolResult");
  if (toolResult !== undefined) {
    const callId = stringAt(toolResult, "toolUseId") ?? "";
    return [
      {
        type: "tool-result",
        callId,
        name: toolNames.get(callId) ?? null,
        content: (arrayAt(toolResult, "content") ?? []).flatMap((inner) => resultContent(inner, warnings)),
        isError: stringAt(toolResult, "status") === "error",
      },
    ];
  }
  const reasoning = objectAt(block, "reasoningContent");
  if (reasoning !== undefined) return [reasoningFromConverse(reasoning)];
  if (block.cachePoint !== undefined) return [];
  const guarded = guardText(block, warnings);
  if (guarded !== undefined) return guarded === "" ? [] : [{ type: "text", text: guarded }];
  const document = objectAt(block, "document");
  if (document !== undefined) {
    const name = stringAt(document, "name");
    const inline = stringAt(objectAt(document, "source"), "text");
    if (inline !== undefined) return [{ type: "text", text: name ? `${name}\n\n${inline}` : inline }];
    warnings.add("Converse document blocks cannot be translated; a placeholder was sent");
    return [{ type: "text", text: `[document omitted${name ? `: ${name}` : ""}]` }];
  }
  warnings.add(`Converse content block "${Object.keys(block)[0] ?? "?"}" is not translated and was dropped`);
  return [];
}

/** A tool result's content: text, JSON (sent as its text), images. */
function resultContent(inner: unknown, warnings: Warnings): (CanonicalTextPart | CanonicalImagePart)[] {
  if (!isObject(inner)) return [];
  const text = stringAt(inner, "text");
  if (text !== undefined) return text === "" ? [] : [{ type: "text", text }];
  if (inner.json !== undefined) return [{ type: "text", text: JSON.stringify(inner.json) }];
  const image = objectAt(inner, "image");
  if (image !== undefined) return [imageFromConverse(image, warnings)];
  const document = objectAt(inner, "document");
  const inline = stringAt(objectAt(document ?? {}, "source"), "text");
  if (inline !== undefined) return [{ type: "text", text: inline }];
  warnings.add(`Converse tool result content "${Object.keys(inner)[0] ?? "?"}" is not translated and was dropped`);
  return [];
}

function readTools(toolConfig: JsonObject | undefined, warnings: Warnings): CanonicalTool[] {
  const tools: CanonicalTool[] = [];
  for (const tool of arrayAt(toolConfig ?? {}, "tools") ?? []) {
    if (!isObject(tool) || tool.cachePoint !== undefined) continue;
    const spec = objectAt(tool, "toolSpec");
    if (spec === undefined) {
      warnings.add(
        `Converse tool "${Object.keys(tool)[0] ?? "?"}" (not a toolSpec) cannot be translated and was dropped`,
      );
      continue;
    }
    const schema = objectAt(spec, "inputSchema")?.json;
    tools.push({
      name: stringAt(spec, "name") ?? "",
      description: stringAt(spec, "description") ?? null,
      parameters: isJsonObject(schema) ? schema : { type: "object", properties: {} },
    });
  }
  return tools;
}

function readToolChoice(choice: JsonObject | undefined): CanonicalToolChoice | null {
  if (choice === undefined) return null;
  if (choice.auto !== undefined) return { type: "auto" };
  if (choice.any !== undefined) return { type: "required" };
  const tool = objectAt(choice, "tool");
  const name = stringAt(tool, "name");
  if (name !== undefined) return { type: "tool", name };
  throw new TranslationError("toolConfig.toolChoice: expected auto, any or tool");
}

/**
 * Reasoning travels in `additionalModelRequestFields`: Anthropic's `thinking` (budget or adaptive, with
 * `output_config.effort`), Nova's `reasoningConfig.maxReasoningEffort`, OpenAI's `reasoning_effort`.
 */
function readReasoning(extra: JsonObject, warnings: Warnings): CanonicalReasoningRequest | null {
  for (const key of Object.keys(extra)) {
    if (
      !["thinking", "output_config", "reasoningConfig", "reasoning_effort", "top_k", "anthropic_beta"].includes(key)
    ) {
      warnings.add(`additionalModelRequestFields.${key} is not translated and was dropped`);
    }
  }
  const effort =
    stringAt(objectAt(extra, "output_config"), "effort") ??
    stringAt(objectAt(extra, "reasoningConfig"), "maxReasoningEffort") ??
    stringAt(extra, "reasoning_effort") ??
    null;
  const thinking = objectAt(extra, "thinking");
  const type = stringAt(thinking, "type");
  if (type === "disabled" || stringAt(objectAt(extra, "reasoningConfig"), "type") === "disabled") return null;
  if (type === "enabled") return { budgetTokens: numberOrNull(thinking?.budget_tokens), effort };
  if (type !== undefined || effort !== null) return { budgetTokens: null, effort };
  return null;
}
