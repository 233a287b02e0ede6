import type {
  CanonicalImagePart,
  CanonicalMessage,
  CanonicalReasoningRequest,
  CanonicalRequest,
  CanonicalResponseFormat,
  CanonicalTextPart,
  CanonicalTool,
  CanonicalToolChoice,
  CanonicalToolResultPart,
  JsonObject,
  JsonValue,
  Translated,
} from "../canonical.ts";
import { addWarning } from "./json.ts";

/** The Responses API rejects `max_output_tokens` below this. */
const MIN_OUTPUT_TOKENS = 16;

/**
 * Canonical → an upstream Responses request body. Stateless: `store: false`, the whole conversation in `input`,
 * the system prompt in `instructions`. Reasoning items go back only with OpenAI's own `encrypted_content`; any other
 * provider's reasoning is dropped with a warning (its proof means nothing to OpenAI).
 */
export function canonicalToRequest(request: CanonicalRequest): Translated<JsonObject> {
  const warnings: string[] = [];
  const input = request.messages.flatMap((message) => messageItems(message, warnings));
  const body: JsonObject = { model: request.model, input, store: false, stream: request.stream };
  if (request.system.length > 0) body.instructions = request.system.map((part) => part.text).join("\n\n");
  if (request.tools.length > 0) body.tools = request.tools.map(functionTool);
  if (request.toolChoice !== null) body.tool_choice = toolChoice(request.toolChoice);
  if (request.parallelToolCalls !== null) body.parallel_tool_calls = request.parallelToolCalls;
  if (request.maxOutputTokens !== null) {
    if (request.maxOutputTokens < MIN_OUTPUT_TOKENS) {
      addWarning(warnings, `max_output_tokens raised to the Responses API minimum of ${MIN_OUTPUT_TOKENS}`);
    }
    body.max_output_tokens = Math.max(request.maxOutputTokens, MIN_OUTPUT_TOKENS);
  }
  if (request.temperature !== null) body.temperature = request.temperature;
  if (request.topP !== null) body.top_p = request.topP;
  if (request.topK !== null) addWarning(warnings, "top_k is not supported by the Responses API; dropped");
  if (request.stop.length > 0) addWarning(warnings, "stop sequences are not supported by the Responses API; dropped");
  const carriesReasoning = input.some((item) => item.type === "reasoning");
  if (request.reasoning !== null) body.reasoning = reasoning(request.reasoning, warnings);
  // Stateless reasoning: ask for the encrypted reasoning so the next turn can send it back.
  if (request.reasoning !== null || carriesReasoning) body.include = ["reasoning.encrypted_content"];
  if (request.responseFormat !== null) body.text = { format: textFormat(request.responseFormat) };
  if (request.user !== null) body.user = request.user;
  return { value: body, warnings };
}

function messageItems(message: CanonicalMessage, warnings: string[]): JsonObject[] {
  const items: JsonObject[] = [];
  // Consecutive text/image parts share one message item; calls, results and reasoning are items of their own.
  let content: JsonObject[] | null = null;
  const contentItem = (): JsonObject[] => {
    if (content === null) {
      content = [];
      items.push({ type: "message", role: message.role, content });
    }
    return content;
  };
  for (const part of message.content) {
    switch (part.type) {
      case "text":
        contentItem().push({ type: message.role === "assistant" ? "output_text" : "input_text", text: part.text });
        break;
      case "image":
        if (message.role === "assistant") {
          addWarning(warnings, "images in assistant messages are not supported by the Responses API; dropped");
        } else {
          contentItem().push(inputImage(part));
        }
        break;
      case "tool-call":
        content = null;
        items.push({ type: "function_call", call_id: part.id, name: part.name, arguments: part.arguments || "{}" });
        break;
      case "tool-result":
        content = null;
        items.push({ type: "function_call_output", call_id: part.callId, output: toolOutput(part) });
        if (part.isError) addWarning(warnings, "the Responses API has no error flag for tool results; sent as output");
        break;
      case "reasoning":
        if (part.opaque?.dialect === "openai-responses" && part.opaque.kind === "encrypted") {
          content = null;
          items.push({
            type: "reasoning",
            summary: part.text === "" ? [] : [{ type: "summary_text", text: part.text }],
            encrypted_content: part.opaque.value,
          });
        } else {
          addWarning(warnings, "reasoning from another provider cannot be sent to the Responses API; dropped");
        }
        break;
      default: {
        const unreachable: never = part;
        throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
      }
    }
  }
  return items;
}

function inputImage(part: CanonicalImagePart): JsonObject {
  const url =
    part.source.kind === "base64" ? `data:${part.source.mediaType};base64,${part.source.data}` : part.source.url;
  return { type: "input_image", image_url: url, detail: "auto" };
}

/** A text-only result is a string; one with images is a content list. */
function toolOutput(part: CanonicalToolResultPart): JsonValue {
  if (part.content.every((c): c is CanonicalTextPart => c.type === "text")) {
    return part.content.map((c) => c.text).join("\n");
  }
  return part.content.map((c) => (c.type === "text" ? { type: "input_text", text: c.text } : inputImage(c)));
}

function functionTool(tool: CanonicalTool): JsonObject {
  const fn: JsonObject = {
    type: "function",
    name: tool.name,
    parameters: objectSchema(tool.parameters),
    strict: false,
  };
  if (tool.description !== null) fn.description = tool.description;
  return fn;
}

/** OpenAI wants an object schema at the root; lower-case type names (Gemini's OpenAPI schemas use `OBJECT`). */
function objectSchema(schema: JsonObject): JsonObject {
  const adapted = lowerCaseTypes(schema);
  if (typeof adapted !== "object" || adapted === null || Array.isArray(adapted))
    return { type: "object", properties: {} };
  if (adapted.type === undefined) adapted.type = "object";
  if (adapted.type === "object" && adapted.properties === undefined) adapted.properties = {};
  return adapted;
}

function lowerCaseTypes(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(lowerCaseTypes);
  if (typeof value !== "object" || value === null) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = key === "type" && typeof child === "string" ? child.toLowerCase() : lowerCaseTypes(child);
  }
  return out;
}

function toolChoice(choice: CanonicalToolChoice): JsonValue {
  switch (choice.type) {
    case "auto":
    case "none":
    case "required":
      return choice.type;
    case "tool":
      return { type: "function", name: choice.name };
    default: {
      const unreachable: never = choice;
      throw new Error(`unknown tool choice ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A thinking budget becomes the nearest effort (the Responses API has no token budget). */
function reasoning(request: CanonicalReasoningRequest, warnings: string[]): JsonObject {
  if (request.effort !== null) return { effort: request.effort };
  if (request.budgetTokens === null) return {};
  addWarning(warnings, "a thinking token budget is sent as a reasoning effort");
  const effort = request.budgetTokens < 4096 ? "low" : request.budgetTokens < 16384 ? "medium" : "high";
  return { effort };
}

function textFormat(format: CanonicalResponseFormat): JsonObject {
  switch (format.type) {
    case "json":
      return { type: "json_object" };
    case "json-schema":
      return { type: "json_schema", name: format.name, schema: format.schema, strict: format.strict };
    default: {
      const unreachable: never = format;
      throw new Error(`unknown response format ${JSON.stringify(unreachable)}`);
    }
  }
}
