import { arrayAt, isObject, objectAt, stringAt, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
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
  type JsonObject,
  type Translated,
  TranslationError,
} from "../canonical.ts";
import { isJsonObject } from "./json.ts";

/** Request fields this converter reads; any other field with a value is reported as a warning. */
const HANDLED_FIELDS = new Set([
  "model",
  "messages",
  "tools",
  "functions",
  "tool_choice",
  "function_call",
  "parallel_tool_calls",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "stream",
  "stream_options",
  "reasoning_effort",
  "response_format",
  "user",
  "safety_identifier",
  "n",
]);

const EMPTY_OBJECT_SCHEMA: JsonObject = { type: "object", properties: {} };

/**
 * OpenAI Chat Completions request → canonical. System and developer messages become `system` (one placed after the
 * conversation started is moved there, with a warning); `tool` messages become tool results inside a user message
 * (consecutive ones share it, and a user message right after them joins it, as Anthropic expects); assistant
 * `reasoning_content` (DeepSeek, xAI) or `reasoning` becomes a reasoning part without opaque data. Legacy
 * `functions` / `function_call` / `role: "function"` are read as tools. Input the canonical form cannot carry
 * (audio, files, n > 1) is a TranslationError; fields it has no place for are dropped with a warning.
 */
export function openAiChatRequestToCanonical(body: unknown): Translated<CanonicalRequest> {
  if (!isObject(body)) throw new TranslationError("The request body must be a JSON object.");
  const warnings: string[] = [];
  const model = body.model;
  if (typeof model !== "string" || model === "") throw new TranslationError("`model` must be a non-empty string.");
  const n = body.n;
  if (typeof n === "number" && n > 1) {
    throw new TranslationError(
      "`n` greater than 1 cannot be translated to this provider; send one request per choice.",
    );
  }
  for (const [key, value] of Object.entries(body)) {
    if (!HANDLED_FIELDS.has(key) && value !== null && value !== false && value !== undefined) {
      warnings.push(`\`${key}\` is not supported by the target provider and was dropped`);
    }
  }

  const { system, messages } = convertMessages(body, warnings);
  const tools = convertTools(body, warnings);
  const { choice, allowed } = convertToolChoice(body, warnings);
  const parallel = body.parallel_tool_calls;

  return {
    value: {
      model,
      system,
      messages,
      tools: allowed === null ? tools : tools.filter((tool) => allowed.has(tool.name)),
      toolChoice: choice,
      parallelToolCalls: typeof parallel === "boolean" ? parallel : null,
      maxOutputTokens: numberOrNull(body.max_completion_tokens) ?? numberOrNull(body.max_tokens),
      temperature: numberOrNull(body.temperature),
      topP: numberOrNull(body.top_p),
      topK: null,
      stop: convertStop(body.stop),
      stream: body.stream === true,
      reasoning: convertReasoning(body.reasoning_effort),
      responseFormat: convertResponseFormat(body.response_format, warnings),
      user: stringAt(body, "user") ?? stringAt(body, "safety_identifier") ?? null,
    },
    warnings,
  };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function convertStop(stop: unknown): string[] {
  if (typeof stop === "string") return stop === "" ? [] : [stop];
  if (!Array.isArray(stop)) return [];
  return stop.filter((s): s is string => typeof s === "string" && s !== "");
}

function convertReasoning(effort: unknown): CanonicalReasoningRequest | null {
  // "none" is carried as given: on models that reason by default it asks for no reasoning.
  return typeof effort === "string" ? { budgetTokens: null, effort } : null;
}

function convertResponseFormat(format: unknown, warnings: string[]): CanonicalResponseFormat | null {
  if (!isObject(format)) return null;
  switch (format.type) {
    case "json_object":
      return { type: "json" };
    case "json_schema": {
      const spec = objectAt(format, "json_schema") ?? {};
      if (typeof spec.description === "string") warnings.push("`response_format.json_schema.description` was dropped");
      return {
        type: "json-schema",
        name: stringAt(spec, "name") ?? "response",
        schema: isJsonObject(spec.schema) ? spec.schema : {},
        strict: spec.strict === true,
      };
    }
    case "text":
      return null;
    default:
      warnings.push(`\`response_format\` of type ${JSON.stringify(format.type)} is not supported and was dropped`);
      return null;
  }
}

// ---------- tools ----------

function convertTools(body: WireObject, warnings: string[]): CanonicalTool[] {
  const tools: CanonicalTool[] = [];
  for (const [i, tool] of (arrayAt(body, "tools") ?? []).entries()) {
    if (!isObject(tool)) throw new TranslationError(`tools[${i}] must be an object.`);
    const fn = objectAt(tool, "function");
    if (tool.type !== "function" || fn === undefined) {
      const name = stringAt(objectAt(tool, "custom"), "name") ?? stringAt(fn, "name") ?? `#${i}`;
      warnings.push(`tool ${name} of type ${JSON.stringify(tool.type)} is not supported and was dropped`);
      continue;
    }
    if (fn.strict === true) warnings.push(`tool ${stringAt(fn, "name") ?? i}: strict mode is not carried`);
    tools.push(convertFunction(fn, `tools[${i}].function`));
  }
  // Legacy `functions`: the same definition without the wrapper.
  for (const [i, fn] of (arrayAt(body, "functions") ?? []).entries()) {
    if (!isObject(fn)) throw new TranslationError(`functions[${i}] must be an object.`);
    tools.push(convertFunction(fn, `functions[${i}]`));
  }
  return tools;
}

function convertFunction(fn: WireObject, path: string): CanonicalTool {
  const name = stringAt(fn, "name");
  if (name === undefined || name === "") throw new TranslationError(`${path}.name must be a non-empty string.`);
  const parameters = fn.parameters;
  if (parameters !== undefined && parameters !== null && !isJsonObject(parameters)) {
    throw new TranslationError(`${path}.parameters must be a JSON Schema object.`);
  }
  return {
    name,
    description: stringAt(fn, "description") ?? null,
    parameters: parameters ?? EMPTY_OBJECT_SCHEMA,
  };
}

/** The tool choice, and the names `allowed_tools` restricts the tools to (null: no restriction). */
function convertToolChoice(
  body: WireObject,
  warnings: string[],
): { choice: CanonicalToolChoice | null; allowed: Set<string> | null } {
  const choice = body.tool_choice ?? body.function_call;
  if (choice === undefined || choice === null) return { choice: null, allowed: null };
  if (choice === "auto" || choice === "none" || choice === "required")
    return { choice: { type: choice }, allowed: null };
  if (isObject(choice)) {
    // {type:"function",function:{name}}, or the legacy function_call {name}.
    const name = stringAt(objectAt(choice, "function"), "name") ?? stringAt(choice, "name");
    if ((choice.type === "function" || choice.type === undefined) && name !== undefined) {
      return { choice: { type: "tool", name }, allowed: null };
    }
    if (choice.type === "allowed_tools") {
      const spec = objectAt(choice, "allowed_tools") ?? {};
      const names = new Set<string>();
      for (const tool of arrayAt(spec, "tools") ?? []) {
        const toolName = isObject(tool) ? stringAt(objectAt(tool, "function"), "name") : undefined;
        if (toolName !== undefined) names.add(toolName);
      }
      return { choice: { type: spec.mode === "required" ? "required" : "auto" }, allowed: names };
    }
  }
  warnings.push(`\`tool_choice\` ${JSON.stringify(choice)} is not supported and was dropped`);
  return { choice: null, allowed: null };
}

// ---------- messages ----------

interface MessageState {
  system: CanonicalTextPart[];
  messages: CanonicalMessage[];
  /** Tool names by call id, so results carry the name (Gemini needs it). */
  callNames: Map<string, string>;
  /** Legacy function calls have no id: one is made up and the next `function` message with that name answers it. */
  legacyCalls: Map<string, string>;
  /** The last message was built from tool messages (a following user message joins it). */
  lastIsToolResults: boolean;
  conversationStarted: boolean;
}

function convertMessages(
  body: WireObject,
  warnings: string[],
): { system: CanonicalTextPart[]; messages: CanonicalMessage[] } {
  const list = body.messages;
  if (!Array.isArray(list)) throw new TranslationError("`messages` must be an array.");
  const state: MessageState = {
    system: [],
    messages: [],
    callNames: new Map(),
    legacyCalls: new Map(),
    lastIsToolResults: false,
    conversationStarted: false,
  };
  for (const [i, message] of list.entries()) {
    if (!isObject(message)) throw new TranslationError(`messages[${i}] must be an object.`);
    convertMessage(message, i, state, warnings);
  }
  return { system: state.system, messages: state.messages };
}

function convertMessage(message: WireObject, i: number, state: MessageState, warnings: string[]): void {
  const role = message.role;
  if (typeof message.name === "string" && role !== "function") {
    warnings.push(`messages[${i}].name was dropped`);
  }
  switch (role) {
    case "system":
    case "developer": {
      if (state.conversationStarted) warnings.push(`messages[${i}] (${role}) was moved into the system prompt`);
      const parts = contentParts(message.content, i, warnings, "system").filter((p) => p.type === "text");
      state.system.push(...parts);
      return;
    }
    case "user": {
      state.conversationStarted = true;
      const parts = contentParts(message.content, i, warnings, "user");
      const last = state.messages.at(-1);
      if (state.lastIsToolResults && last !== undefined) {
        last.content.push(...parts);
      } else if (parts.length > 0) {
        state.messages.push({ role: "user", content: parts });
      } else {
        warnings.push(`messages[${i}] (user) is empty and was dropped`);
      }
      state.lastIsToolResults = false;
      return;
    }
    case "assistant": {
      state.conversationStarted = true;
      state.lastIsToolResults = false;
      const parts = assistantParts(message, i, state, warnings);
      if (parts.length > 0) state.messages.push({ role: "assistant", content: parts });
      else warnings.push(`messages[${i}] (assistant) is empty and was dropped`);
      return;
    }
    case "tool":
    case "function": {
      state.conversationStarted = true;
      pushToolResult(toolResult(message, i, state, warnings), state);
      return;
    }
    default:
      throw new TranslationError(`messages[${i}].role ${JSON.stringify(role)} is not a Chat Completions role.`);
  }
}

function toolResult(message: WireObject, i: number, state: MessageState, warnings: string[]): CanonicalToolResultPart {
  let callId: string | undefined;
  let name: string | null;
  if (message.role === "tool") {
    callId = stringAt(message, "tool_call_id");
    if (callId === undefined) throw new TranslationError(`messages[${i}].tool_call_id must be a string.`);
    name = state.callNames.get(callId) ?? null;
  } else {
    name = stringAt(message, "name") ?? null;
    callId = name === null ? undefined : state.legacyCalls.get(name);
    if (name === null || callId === undefined) {
      throw new TranslationError(`messages[${i}] (function) answers no earlier function_call.`);
    }
    state.legacyCalls.delete(name);
  }
  const content = contentParts(message.content, i, warnings, "tool").filter(
    (p): p is CanonicalTextPart | CanonicalImagePart => p.type === "text" || p.type === "image",
  );
  return { type: "tool-result", callId, name, content, isError: false };
}

function pushToolResult(part: CanonicalToolResultPart, state: MessageState): void {
  const last = state.messages.at(-1);
  if (state.lastIsToolResults && last !== undefined) last.content.push(part);
  else state.messages.push({ role: "user", content: [part] });
  state.lastIsToolResults = true;
}

function assistantParts(message: WireObject, i: number, state: MessageState, warnings: string[]): CanonicalPart[] {
  const parts: CanonicalPart[] = [];
  const reasoning = stringAt(message, "reasoning_content") ?? stringAt(message, "reasoning");
  if (reasoning !== undefined && reasoning !== "") parts.push({ type: "reasoning", text: reasoning, opaque: null });
  parts.push(...contentParts(message.content, i, warnings, "assistant"));
  const refusal = stringAt(message, "refusal");
  if (refusal !== undefined && refusal !== "") parts.push({ type: "text", text: refusal });
  if (message.audio !== undefined && message.audio !== null) warnings.push(`messages[${i}].audio was dropped`);

  for (const [j, call] of (arrayAt(message, "tool_calls") ?? []).entries()) {
    const path = `messages[${i}].tool_calls[${j}]`;
    if (!isObject(call)) throw new TranslationError(`${path} must be an object.`);
    const id = stringAt(call, "id");
    if (id === undefined) throw new TranslationError(`${path}.id must be a string.`);
    const fn = objectAt(call, "function");
    const custom = objectAt(call, "custom");
    let name: string | undefined;
    let args: string;
    if (fn !== undefined) {
      name = stringAt(fn, "name");
      args = stringAt(fn, "arguments") ?? "";
    } else {
      // A custom (free-text) tool call is flattened into a function call taking {input}.
      name = stringAt(custom, "name");
      args = JSON.stringify({ input: stringAt(custom, "input") ?? "" });
      warnings.push(`${path}: custom tool call flattened into a function call`);
    }
    if (name === undefined) throw new TranslationError(`${path} has no function name.`);
    state.callNames.set(id, name);
    parts.push({ type: "tool-call", id, name, arguments: args });
  }

  const legacy = objectAt(message, "function_call");
  const legacyName = stringAt(legacy, "name");
  if (legacy !== undefined && legacyName !== undefined) {
    const id = `call_legacy_${i}`;
    state.legacyCalls.set(legacyName, id);
    state.callNames.set(id, legacyName);
    parts.push({ type: "tool-call", id, name: legacyName, arguments: stringAt(legacy, "arguments") ?? "" });
  }
  return parts;
}

type ContentOwner = "system" | "user" | "assistant" | "tool";

/** A message's `content` (string, array of parts, or null) as canonical parts; empty text is left out. */
function contentParts(content: unknown, i: number, warnings: string[], owner: ContentOwner): CanonicalPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) {
    throw new TranslationError(`messages[${i}].content must be a string or an array of content parts.`);
  }
  const parts: CanonicalPart[] = [];
  let cacheMarkerWarned = false;
  for (const [j, part] of content.entries()) {
    const path = `messages[${i}].content[${j}]`;
    if (!isObject(part)) throw new TranslationError(`${path} must be an object.`);
    if (!cacheMarkerWarned && (part.cache_control !== undefined || part.prompt_cache_breakpoint !== undefined)) {
      warnings.push(`messages[${i}]: prompt cache breakpoints are not carried`);
      cacheMarkerWarned = true;
    }
    switch (part.type) {
      case "text":
      case "refusal": {
        const text = stringAt(part, part.type);
        if (text === undefined) throw new TranslationError(`${path}.${part.type} must be a string.`);
        if (text !== "") parts.push({ type: "text", text });
        break;
      }
      case "image_url": {
        if (owner === "system" || owner === "assistant") {
          warnings.push(`${path}: an image in a ${owner} message was dropped`);
          break;
        }
        const imageUrl = objectAt(part, "image_url");
        const url = stringAt(imageUrl, "url") ?? stringAt(part, "image_url");
        if (url === undefined) throw new TranslationError(`${path}.image_url.url must be a string.`);
        const detail = stringAt(imageUrl, "detail");
        if (detail !== undefined && detail !== "auto") warnings.push(`${path}: image detail "${detail}" was dropped`);
        parts.push(imagePart(url, path));
        break;
      }
      case "input_audio":
        throw new TranslationError(`${path}: audio input cannot be translated to the target provider.`);
      case "file":
        throw new TranslationError(`${path}: file input cannot be translated to the target provider.`);
      default:
        warnings.push(`${path}: content part of type ${JSON.stringify(part.type)} was dropped`);
    }
  }
  return parts;
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,/i;

/** `data:` URLs become base64 images (what Anthropic and Gemini need); http(s) URLs stay URLs. */
function imagePart(url: string, path: string): CanonicalImagePart {
  const match = DATA_URL.exec(url);
  if (match !== null) {
    const mediaType = match[1] || "image/png";
    const payload = url.slice(match[0].length);
    const data = match[3] !== undefined ? payload : Buffer.from(decodeURIComponent(payload)).toString("base64");
    return { type: "image", source: { kind: "base64", mediaType, data } };
  }
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { kind: "url", url } };
  throw new TranslationError(`${path}: the image URL must be an http(s) or data: URL.`);
}
