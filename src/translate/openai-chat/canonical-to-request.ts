import { createHash } from "node:crypto";
import type {
  CanonicalImagePart,
  CanonicalMessage,
  CanonicalRequest,
  CanonicalToolChoice,
  CanonicalToolResultPart,
  JsonObject,
  JsonValue,
  Translated,
} from "../canonical.ts";

/** api.openai.com rejects more than four stop sequences. */
const MAX_STOP_SEQUENCES = 4;

/** api.openai.com rejects a longer `user`; Claude Code's `metadata.user_id` is a ~150-character JSON text. */
const MAX_USER_LENGTH = 64;

/**
 * OpenAI models that do not reason answer `reasoning_effort` with a 400 ("Unsupported parameter"). Claude Code asks
 * every model for adaptive thinking with an effort, so the effort must not reach them. Other ids may reason: kept.
 */
const NON_REASONING_MODEL = /^(?:gpt-4|gpt-3\.5|chatgpt-|gpt-5-chat)/;

export interface OpenAiChatRequestOptions {
  /**
   * Where the output cap goes. `max_completion_tokens` (default) is what OpenAI wants (its reasoning models reject
   * `max_tokens`); some compatible servers (DeepSeek) read only `max_tokens` and ignore the other.
   */
  maxTokensField?: "max_completion_tokens" | "max_tokens";
}

/**
 * Canonical → OpenAI Chat Completions request body.
 *
 * - The system parts become one `system` message (joined by blank lines).
 * - Tool results become one `tool` message each, right after the assistant turn. Chat tool messages carry text
 *   only: an image in a result is replaced by a placeholder there, and the image itself follows in a user message
 *   after the tool messages (with a warning), together with the rest of that canonical user message.
 * - Reasoning parts are dropped (Chat has no way to send them back); a warning when they had text. Opaque data of
 *   any provider is never sent.
 * - `max_completion_tokens` (not the deprecated `max_tokens`, which reasoning models reject), and
 *   `stream_options.include_usage` whenever streaming, so the stream ends with usage.
 * - A thinking budget without an effort has no Chat equivalent: dropped with a warning (sending `reasoning_effort`
 *   to a model that does not reason is a 400).
 */
export function canonicalToOpenAiChatRequest(
  req: CanonicalRequest,
  options: OpenAiChatRequestOptions = {},
): Translated<JsonObject> {
  const warnings: string[] = [];
  const messages: JsonValue[] = [];
  if (req.system.length > 0) {
    messages.push({ role: "system", content: req.system.map((part) => part.text).join("\n\n") });
  }
  let droppedReasoning = 0;
  for (const [i, message] of req.messages.entries()) {
    if (message.role === "user") messages.push(...userMessages(message, i, warnings));
    else {
      const { wire, reasoning } = assistantMessage(message, i, warnings);
      droppedReasoning += reasoning;
      if (wire !== null) messages.push(wire);
    }
  }
  if (droppedReasoning > 0) {
    warnings.push(`${droppedReasoning} reasoning part(s) dropped: Chat Completions cannot carry reasoning back`);
  }

  const body: JsonObject = { model: req.model, messages };
  if (req.tools.length > 0) {
    body.tools = req.tools.map((tool) => {
      const fn: JsonObject = { name: tool.name };
      if (tool.description !== null) fn.description = tool.description;
      fn.parameters = adaptSchema(tool.parameters);
      return { type: "function", function: fn };
    });
    // tool_choice and parallel_tool_calls are rejected without tools.
    if (req.toolChoice !== null) body.tool_choice = toolChoice(req.toolChoice);
    if (req.parallelToolCalls !== null) body.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.maxOutputTokens !== null) body[options.maxTokensField ?? "max_completion_tokens"] = req.maxOutputTokens;
  if (req.temperature !== null) body.temperature = req.temperature;
  if (req.topP !== null) body.top_p = req.topP;
  if (req.topK !== null) warnings.push("`top_k` is not supported by Chat Completions and was dropped");
  if (req.stop.length > 0) {
    if (req.stop.length > MAX_STOP_SEQUENCES) {
      warnings.push(`only the first ${MAX_STOP_SEQUENCES} of ${req.stop.length} stop sequences were sent`);
    }
    body.stop = req.stop.slice(0, MAX_STOP_SEQUENCES);
  }
  if (req.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  if (req.reasoning !== null) {
    if (req.reasoning.effort === null) {
      warnings.push("the thinking budget has no Chat Completions equivalent and was dropped");
    } else if (NON_REASONING_MODEL.test(req.model.slice(req.model.lastIndexOf("/") + 1))) {
      warnings.push(`\`reasoning_effort\` was dropped: ${req.model} does not reason`);
    } else body.reasoning_effort = req.reasoning.effort;
  }
  if (req.responseFormat !== null) {
    const format = req.responseFormat;
    body.response_format =
      format.type === "json"
        ? { type: "json_object" }
        : { type: "json_schema", json_schema: { name: format.name, schema: format.schema, strict: format.strict } };
  }
  if (req.user !== null) {
    // A digest of a too-long id is still a stable per-user id, and exactly 64 characters.
    body.user = req.user.length > MAX_USER_LENGTH ? createHash("sha256").update(req.user).digest("hex") : req.user;
  }
  return { value: body, warnings };
}

function toolChoice(choice: CanonicalToolChoice): JsonValue {
  switch (choice.type) {
    case "auto":
    case "none":
    case "required":
      return choice.type;
    case "tool":
      return { type: "function", function: { name: choice.name } };
    default: {
      const unreachable: never = choice;
      throw new Error(`unknown tool choice ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A user message: its tool results as `tool` messages first, then whatever else it holds as one user message. */
function userMessages(message: CanonicalMessage, i: number, warnings: string[]): JsonObject[] {
  const out: JsonObject[] = [];
  const userParts: JsonValue[] = [];
  const resultImages: JsonValue[] = [];
  for (const part of message.content) {
    switch (part.type) {
      case "tool-result":
        out.push(toolMessage(part, resultImages, warnings));
        break;
      case "text":
        userParts.push({ type: "text", text: part.text });
        break;
      case "image":
        userParts.push(imagePart(part));
        break;
      case "tool-call":
      case "reasoning":
        warnings.push(`messages[${i}]: a part of type ${part.type} in a user message was dropped`);
        break;
      default: {
        const unreachable: never = part;
        throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
      }
    }
  }
  const parts = [...resultImages, ...userParts];
  if (parts.length > 0) out.push({ role: "user", content: simplify(parts) });
  return out;
}

function toolMessage(part: CanonicalToolResultPart, resultImages: JsonValue[], warnings: string[]): JsonObject {
  const texts: string[] = [];
  const images = part.content.filter((c): c is CanonicalImagePart => c.type === "image");
  for (const content of part.content) {
    if (content.type === "text") texts.push(content.text);
  }
  if (images.length > 0) {
    texts.push(`[${images.length} image(s): see the next user message]`);
    resultImages.push({ type: "text", text: `Image(s) returned by tool call ${part.callId}:` });
    resultImages.push(...images.map(imagePart));
    warnings.push(`tool result ${part.callId}: images moved to a user message (Chat tool messages carry text only)`);
  }
  if (part.isError) warnings.push(`tool result ${part.callId}: the error flag is not carried by Chat Completions`);
  return { role: "tool", tool_call_id: part.callId, content: texts.join("\n") };
}

function assistantMessage(
  message: CanonicalMessage,
  i: number,
  warnings: string[],
): { wire: JsonObject | null; reasoning: number } {
  let text = "";
  let hasText = false;
  let reasoning = 0;
  const toolCalls: JsonValue[] = [];
  for (const part of message.content) {
    switch (part.type) {
      case "text":
        text += part.text;
        hasText = true;
        break;
      case "tool-call":
        toolCalls.push({
          id: part.id,
          type: "function",
          function: { name: part.name, arguments: part.arguments === "" ? "{}" : part.arguments },
        });
        break;
      case "reasoning":
        if (part.text !== "") reasoning++;
        break;
      case "image":
      case "tool-result":
        warnings.push(`messages[${i}]: a part of type ${part.type} in an assistant message was dropped`);
        break;
      default: {
        const unreachable: never = part;
        throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
      }
    }
  }
  if (!hasText && toolCalls.length === 0) {
    // Only reasoning (or nothing): Chat would reject an assistant message with neither content nor tool calls.
    if (!message.content.some((part) => part.type === "reasoning"))
      warnings.push(`messages[${i}]: an empty assistant message was dropped`);
    return { wire: null, reasoning };
  }
  const wire: JsonObject = { role: "assistant", content: hasText ? text : null };
  if (toolCalls.length > 0) wire.tool_calls = toolCalls;
  return { wire, reasoning };
}

function imagePart(part: CanonicalImagePart): JsonObject {
  const source = part.source;
  const url = source.kind === "url" ? source.url : `data:${source.mediaType};base64,${source.data}`;
  return { type: "image_url", image_url: { url } };
}

/** A single text part is sent as a plain string (what every compatible server accepts). */
function simplify(parts: JsonValue[]): JsonValue {
  const only = parts.length === 1 ? parts[0] : undefined;
  if (typeof only === "object" && only !== null && !Array.isArray(only) && only.type === "text") {
    return only.text ?? "";
  }
  return parts;
}

const UPPERCASE_TYPES = new Set(["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"]);

/**
 * JSON Schema as Chat accepts it: Gemini's OpenAPI-style upper-case type names (`"OBJECT"`) are lower-cased
 * (OpenAI rejects them), and a schema without a type gets `type: "object"` at the root (functions take objects).
 */
function adaptSchema(schema: JsonObject): JsonObject {
  const adapted = lowerTypes(schema);
  if (typeof adapted === "object" && adapted !== null && !Array.isArray(adapted)) {
    return adapted.type === undefined ? { type: "object", properties: {}, ...adapted } : adapted;
  }
  return schema;
}

function lowerTypes(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(lowerTypes);
  if (typeof value !== "object" || value === null) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "type" && typeof child === "string" && UPPERCASE_TYPES.has(child)) out[key] = child.toLowerCase();
    else if (key === "type" && Array.isArray(child)) {
      out[key] = child.map((t) => (typeof t === "string" && UPPERCASE_TYPES.has(t) ? t.toLowerCase() : t));
    } else out[key] = lowerTypes(child);
  }
  return out;
}
