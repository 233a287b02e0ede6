import { arrayAt, isObject, objectAt, stringAt, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
import {
  type CanonicalImagePart,
  type CanonicalMessage,
  type CanonicalPart,
  type CanonicalReasoningRequest,
  type CanonicalRequest,
  type CanonicalResponseFormat,
  type CanonicalRole,
  type CanonicalTextPart,
  type CanonicalToolChoice,
  type CanonicalToolResultPart,
  type Translated,
  TranslationError,
} from "../canonical.ts";
import { addWarning, isJsonObject } from "./json.ts";
import { decodeEncryptedContent } from "./reasoning-opaque.ts";
import {
  argumentsFromCustomInput,
  argumentsFromLocalShellAction,
  flatToolName,
  LOCAL_SHELL_TOOL,
  prepareClientTools,
} from "./tools.ts";

/**
 * A client's Responses request (`POST /v1/responses`, what Codex sends) → canonical. `instructions` and
 * system/developer messages become the system prompt; input items become alternating user/assistant messages
 * (function_call_output items travel as tool results in user messages). Server-side state (`previous_response_id`,
 * `conversation`, stored prompts, item references) cannot be served and is refused with a TranslationError.
 */
export function requestToCanonical(body: unknown): Translated<CanonicalRequest> {
  if (!isObject(body)) throw new TranslationError("the request body must be a JSON object");
  const warnings: string[] = [];
  refuseStoredState(body, warnings);
  const model = stringAt(body, "model");
  if (model === undefined || model === "") throw new TranslationError("model is required");

  const system: CanonicalTextPart[] = [];
  const instructions = body.instructions;
  if (typeof instructions === "string") {
    if (instructions !== "") system.push({ type: "text", text: instructions });
  } else if (instructions !== undefined && instructions !== null) {
    throw new TranslationError("instructions must be a string");
  }
  const { tools } = prepareClientTools(body.tools, warnings);
  const messages = new InputConverter(system, warnings).convert(body.input);
  warnIgnoredOptions(body, warnings);

  const value: CanonicalRequest = {
    model,
    system,
    messages,
    tools,
    toolChoice: toolChoice(body.tool_choice, warnings),
    parallelToolCalls: typeof body.parallel_tool_calls === "boolean" ? body.parallel_tool_calls : null,
    maxOutputTokens: numberOrNull(body.max_output_tokens),
    temperature: numberOrNull(body.temperature),
    topP: numberOrNull(body.top_p),
    topK: null,
    stop: [],
    stream: body.stream === true,
    reasoning: reasoning(body.reasoning),
    responseFormat: responseFormat(objectAt(body, "text"), warnings),
    user: stringAt(body, "user") ?? stringAt(body, "safety_identifier") ?? null,
  };
  return { value, warnings };
}

const NO_STORE =
  "Tollgate does not store responses for requests translated to another provider: send the whole conversation in `input`";

function refuseStoredState(body: WireObject, warnings: string[]): void {
  if (typeof body.previous_response_id === "string" && body.previous_response_id !== "") {
    throw new TranslationError(`previous_response_id is not supported: ${NO_STORE}`);
  }
  if (body.conversation !== undefined && body.conversation !== null) {
    throw new TranslationError(`conversation is not supported: ${NO_STORE}`);
  }
  if (body.prompt !== undefined && body.prompt !== null) {
    throw new TranslationError("stored prompt templates (`prompt`) are not supported for translated requests");
  }
  if (body.background === true) {
    throw new TranslationError("background responses are not supported for translated requests");
  }
  if (body.store === true) {
    addWarning(warnings, "store: true ignored: the response is not stored, so it cannot be referenced later");
  }
}

function warnIgnoredOptions(body: WireObject, warnings: string[]): void {
  if (body.truncation === "auto") addWarning(warnings, "truncation: auto is not supported; ignored");
  if (typeof body.max_tool_calls === "number") addWarning(warnings, "max_tool_calls is not supported; ignored");
  if (typeof body.top_logprobs === "number" && body.top_logprobs > 0) {
    addWarning(warnings, "top_logprobs is not supported; ignored");
  }
  const tier = stringAt(body, "service_tier");
  if (tier !== undefined && tier !== "auto" && tier !== "default") {
    addWarning(warnings, `service_tier "${tier}" is not supported; ignored`);
  }
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function reasoning(value: unknown): CanonicalReasoningRequest | null {
  if (!isObject(value)) return null;
  const effort = stringAt(value, "effort") ?? null;
  if (effort === "none") return null;
  return { effort, budgetTokens: null };
}

function responseFormat(text: WireObject | undefined, warnings: string[]): CanonicalResponseFormat | null {
  const verbosity = stringAt(text, "verbosity");
  if (verbosity !== undefined && verbosity !== "medium") {
    addWarning(warnings, `text.verbosity "${verbosity}" is not supported; ignored`);
  }
  const format = text === undefined ? undefined : objectAt(text, "format");
  switch (stringAt(format, "type")) {
    case undefined:
    case "text":
      return null;
    case "json_object":
      return { type: "json" };
    case "json_schema": {
      const schema = format?.schema;
      if (!isJsonObject(schema)) throw new TranslationError("text.format.schema must be a JSON object");
      return {
        type: "json-schema",
        name: stringAt(format, "name") ?? "response",
        schema,
        strict: format?.strict === true,
      };
    }
    default:
      throw new TranslationError(`text.format type "${String(format?.type)}" is not supported`);
  }
}

function toolChoice(value: unknown, warnings: string[]): CanonicalToolChoice | null {
  if (value === undefined || value === null) return null;
  if (value === "auto" || value === "none" || value === "required") return { type: value };
  if (!isObject(value)) throw new TranslationError("tool_choice must be a string or an object");
  const type = stringAt(value, "type");
  if (type === "function" || type === "custom") {
    const name = stringAt(value, "name");
    if (name === undefined) throw new TranslationError("tool_choice names no tool");
    return { type: "tool", name: flatToolName(stringAt(value, "namespace"), name) };
  }
  if (type === "allowed_tools") {
    addWarning(warnings, "tool_choice allowed_tools is not supported: every tool stays allowed");
    return stringAt(value, "mode") === "required" ? { type: "required" } : { type: "auto" };
  }
  addWarning(warnings, `tool_choice type "${String(type)}" is not supported; ignored`);
  return null;
}

/** Walks the input items, merging consecutive items of one role into one canonical message. */
class InputConverter {
  readonly #system: CanonicalTextPart[];
  readonly #warnings: string[];
  readonly #messages: CanonicalMessage[] = [];
  /** call id → the flat tool name, so results can name their tool (Gemini needs it). */
  readonly #callNames = new Map<string, string>();

  constructor(system: CanonicalTextPart[], warnings: string[]) {
    this.#system = system;
    this.#warnings = warnings;
  }

  convert(input: unknown): CanonicalMessage[] {
    if (input === undefined || input === null) return this.#messages;
    if (typeof input === "string") {
      this.#push("user", { type: "text", text: input });
      return this.#messages;
    }
    if (!Array.isArray(input)) throw new TranslationError("input must be a string or an array of items");
    for (const item of input) {
      if (!isObject(item)) throw new TranslationError("each input item must be an object");
      this.#item(item);
    }
    return this.#messages;
  }

  #push(role: CanonicalRole, ...parts: CanonicalPart[]): void {
    if (parts.length === 0) return;
    const last = this.#messages.at(-1);
    if (last !== undefined && last.role === role) last.content.push(...parts);
    else this.#messages.push({ role, content: parts });
  }

  #item(item: WireObject): void {
    // EasyInputMessage has no `type`.
    const type = stringAt(item, "type") ?? (item.role !== undefined ? "message" : undefined);
    switch (type) {
      case "message":
        this.#message(item);
        return;
      case "function_call":
      case "custom_tool_call":
      case "local_shell_call":
        this.#call(type, item);
        return;
      case "function_call_output":
      case "custom_tool_call_output":
      case "local_shell_call_output":
        this.#result(item);
        return;
      case "reasoning":
        this.#reasoning(item);
        return;
      case "item_reference":
        throw new TranslationError(`item_reference is not supported: ${NO_STORE}`);
      default:
        addWarning(this.#warnings, `input item type "${String(type)}" has no equivalent in translation; dropped`);
    }
  }

  #message(item: WireObject): void {
    const role = stringAt(item, "role");
    const content = item.content;
    switch (role) {
      case "system":
      case "developer":
        if (this.#messages.length > 0) {
          addWarning(
            this.#warnings,
            "system/developer messages inside the conversation are moved to the system prompt",
          );
        }
        this.#system.push(...this.#systemContent(content));
        return;
      case "user":
        this.#push("user", ...this.#userContent(content));
        return;
      case "assistant":
        this.#push("assistant", ...this.#assistantContent(content));
        return;
      default:
        throw new TranslationError(`message role "${String(role)}" is not supported`);
    }
  }

  #systemContent(content: unknown): CanonicalTextPart[] {
    if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
    const parts: CanonicalTextPart[] = [];
    for (const part of contentList(content)) {
      const text = stringAt(part, "text");
      if (part.type === "input_text" && text !== undefined) parts.push({ type: "text", text });
      else addWarning(this.#warnings, `"${String(part.type)}" content in a system message is not supported; dropped`);
    }
    return parts;
  }

  #userContent(content: unknown): CanonicalPart[] {
    if (typeof content === "string") return [{ type: "text", text: content }];
    const parts: CanonicalPart[] = [];
    for (const part of contentList(content)) {
      const type = stringAt(part, "type");
      switch (type) {
        case "input_text":
        case "output_text":
          parts.push({ type: "text", text: stringAt(part, "text") ?? "" });
          break;
        case "input_image":
          parts.push(imagePart(part));
          break;
        case "input_file":
          throw new TranslationError("input_file content cannot be translated to another provider");
        case "input_audio":
          throw new TranslationError("input_audio content cannot be translated to another provider");
        default:
          addWarning(this.#warnings, `user content type "${String(type)}" is not supported; dropped`);
      }
    }
    return parts;
  }

  #assistantContent(content: unknown): CanonicalPart[] {
    if (typeof content === "string") return [{ type: "text", text: content }];
    const parts: CanonicalPart[] = [];
    for (const part of contentList(content)) {
      const type = stringAt(part, "type");
      if (type === "output_text" || type === "input_text") {
        parts.push({ type: "text", text: stringAt(part, "text") ?? "" });
      } else if (type === "refusal") {
        parts.push({ type: "text", text: stringAt(part, "refusal") ?? "" });
      } else {
        addWarning(this.#warnings, `assistant content type "${String(type)}" is not supported; dropped`);
      }
    }
    return parts;
  }

  #call(type: "function_call" | "custom_tool_call" | "local_shell_call", item: WireObject): void {
    const id = stringAt(item, "call_id") ?? stringAt(item, "id");
    if (id === undefined || id === "") throw new TranslationError(`a ${type} item has no call_id`);
    let name: string;
    let args: string;
    if (type === "local_shell_call") {
      addWarning(this.#warnings, `local_shell_call items are sent as calls of a function tool "${LOCAL_SHELL_TOOL}"`);
      name = LOCAL_SHELL_TOOL;
      args = argumentsFromLocalShellAction(item.action);
    } else {
      const rawName = stringAt(item, "name");
      if (rawName === undefined || rawName === "") throw new TranslationError(`the ${type} item ${id} has no name`);
      name = flatToolName(stringAt(item, "namespace"), rawName);
      args =
        type === "function_call"
          ? (stringAt(item, "arguments") ?? "")
          : argumentsFromCustomInput(stringAt(item, "input") ?? "");
    }
    this.#callNames.set(id, name);
    this.#push("assistant", { type: "tool-call", id, name, arguments: args });
  }

  #result(item: WireObject): void {
    const callId = stringAt(item, "call_id") ?? stringAt(item, "id");
    if (callId === undefined || callId === "") throw new TranslationError(`a ${String(item.type)} item has no call_id`);
    const output = item.output;
    let content: CanonicalToolResultPart["content"];
    if (typeof output === "string") {
      content = [{ type: "text", text: output }];
    } else if (Array.isArray(output)) {
      content = [];
      for (const part of contentList(output)) {
        const type = stringAt(part, "type");
        if (type === "input_text" || type === "output_text")
          content.push({ type: "text", text: stringAt(part, "text") ?? "" });
        else if (type === "input_image") content.push(imagePart(part));
        else if (type === "input_file") throw new TranslationError("input_file tool output cannot be translated");
        else addWarning(this.#warnings, `tool output content type "${String(type)}" is not supported; dropped`);
      }
    } else {
      throw new TranslationError(`the output of tool call ${callId} must be a string or a content list`);
    }
    const name = this.#callNames.get(callId) ?? null;
    this.#push("user", { type: "tool-result", callId, name, content, isError: false });
  }

  #reasoning(item: WireObject): void {
    const summaries = (arrayAt(item, "summary") ?? []).flatMap((part) =>
      isObject(part) && typeof part.text === "string" ? [part.text] : [],
    );
    const contents = (arrayAt(item, "content") ?? []).flatMap((part) =>
      isObject(part) && typeof part.text === "string" ? [part.text] : [],
    );
    const text = (summaries.length > 0 ? summaries : contents).join("\n\n");
    const encrypted = stringAt(item, "encrypted_content");
    const opaque = encrypted === undefined || encrypted === "" ? null : decodeEncryptedContent(encrypted);
    if (text === "" && opaque === null) return;
    this.#push("assistant", { type: "reasoning", text, opaque });
  }
}

function contentList(content: unknown): WireObject[] {
  if (content === undefined || content === null) return [];
  if (!Array.isArray(content)) throw new TranslationError("message content must be a string or an array of parts");
  return content.map((part) => {
    if (!isObject(part)) throw new TranslationError("each content part must be an object");
    return part;
  });
}

const DATA_URL = /^data:([^;,]+)(?:;[^;,]+)*;base64,(.*)$/s;

function imagePart(part: WireObject): CanonicalImagePart {
  const url = stringAt(part, "image_url");
  if (url === undefined || url === "") {
    if (stringAt(part, "file_id") !== undefined) {
      throw new TranslationError("input_image by file_id refers to an OpenAI file and cannot be translated");
    }
    throw new TranslationError("input_image has no image_url");
  }
  if (!url.startsWith("data:")) return { type: "image", source: { kind: "url", url } };
  const match = DATA_URL.exec(url);
  if (match === null) throw new TranslationError("an input_image data URL must be base64-encoded");
  return { type: "image", source: { kind: "base64", mediaType: match[1] ?? "", data: match[2] ?? "" } };
}
