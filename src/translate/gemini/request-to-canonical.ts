import { isObject, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
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
  arrayField,
  camelKeys,
  field,
  numberField,
  objectField,
  stringField,
  toJsonObject,
  toJsonValue,
} from "./json.ts";
import { mediaToCanonical, modelPartsToCanonical } from "./parts.ts";
import { openApiToJsonSchema } from "./schema.ts";

/** Request fields read here; `model` may appear in the body (the proto has it) but the path's model wins. */
const KNOWN_FIELDS = new Set(["contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "model"]);

/**
 * A Gemini `generateContent` / `streamGenerateContent` body → canonical. The body carries neither the model nor
 * the choice of streaming (both are in the URL: `models/{model}:streamGenerateContent`): the returned `model` is
 * "" and `stream` false, and the caller sets both from the path.
 *
 * Function calls without an `id` get `call_<n>` (n counting calls through the whole request, skipping any id the
 * request already uses); a `functionResponse` without an `id` answers the earliest unanswered call of that name.
 */
export function geminiRequestToCanonical(body: unknown): Translated<CanonicalRequest> {
  if (!isObject(body)) throw new TranslationError("the request body must be a JSON object");
  const warnings: string[] = [];
  for (const key of camelKeys(body)) {
    if (KNOWN_FIELDS.has(key)) continue;
    if (key === "cachedContent") {
      throw new TranslationError(
        "cachedContent refers to a Gemini context cache and cannot be sent to another provider",
      );
    }
    warnings.push(`${key} is not supported across providers and was dropped`);
  }

  const contents = arrayField(body, "contents");
  if (contents === undefined || contents.length === 0) throw new TranslationError("contents must be a non-empty array");

  const generation = objectField(body, "generationConfig") ?? {};
  for (const key of camelKeys(generation)) {
    if (!GENERATION_FIELDS.has(key))
      warnings.push(`generationConfig.${key} is not supported across providers and was dropped`);
  }
  const candidates = numberField(generation, "candidateCount");
  if (candidates !== undefined && candidates > 1) {
    throw new TranslationError("candidateCount > 1 cannot be translated: other providers return one candidate");
  }
  const tools = readTools(body, warnings);
  return {
    value: {
      model: "",
      system: readSystem(body, warnings),
      messages: readContents(contents, warnings),
      tools,
      toolChoice: readToolChoice(body, warnings),
      parallelToolCalls: null,
      maxOutputTokens: numberField(generation, "maxOutputTokens") ?? null,
      temperature: numberField(generation, "temperature") ?? null,
      topP: numberField(generation, "topP") ?? null,
      topK: numberField(generation, "topK") ?? null,
      stop: (arrayField(generation, "stopSequences") ?? []).filter((s): s is string => typeof s === "string"),
      stream: false,
      reasoning: readReasoning(generation),
      responseFormat: readResponseFormat(generation, warnings),
      user: null,
    },
    warnings,
  };
}

function readSystem(body: WireObject, warnings: string[]): CanonicalTextPart[] {
  const system = field(body, "systemInstruction");
  if (system === undefined || system === null) return [];
  if (typeof system === "string") return system === "" ? [] : [{ type: "text", text: system }];
  if (!isObject(system)) throw new TranslationError("systemInstruction must be a Content object");
  const out: CanonicalTextPart[] = [];
  for (const part of arrayField(system, "parts") ?? []) {
    const text = isObject(part) ? stringField(part, "text") : undefined;
    if (text === undefined) warnings.push("a non-text systemInstruction part was dropped");
    else if (text !== "") out.push({ type: "text", text });
  }
  return out;
}

interface CallRecord {
  id: string;
  name: string;
  answered: boolean;
}

function readContents(contents: readonly unknown[], warnings: string[]): CanonicalMessage[] {
  const usedIds = new Set<string>();
  for (const content of contents) {
    for (const part of (isObject(content) ? arrayField(content, "parts") : undefined) ?? []) {
      for (const key of ["functionCall", "functionResponse"]) {
        const id = isObject(part) ? stringField(objectField(part, key), "id") : undefined;
        if (id) usedIds.add(id);
      }
    }
  }
  let counter = 0;
  const newId = (): string => {
    let id = `call_${counter++}`;
    while (usedIds.has(id)) id = `call_${counter++}`;
    return id;
  };
  const calls: CallRecord[] = [];
  const messages: CanonicalMessage[] = [];

  contents.forEach((content, i) => {
    if (!isObject(content)) throw new TranslationError(`contents[${i}] must be an object`);
    const parts = arrayField(content, "parts");
    if (parts === undefined) throw new TranslationError(`contents[${i}].parts must be an array`);
    const role = stringField(content, "role") ?? "user";
    if (role === "model") {
      const canonical = modelPartsToCanonical(parts, { callId: newId, warnings });
      for (const p of canonical) if (p.type === "tool-call") calls.push({ id: p.id, name: p.name, answered: false });
      messages.push({ role: "assistant", content: canonical });
      return;
    }
    if (role !== "user" && role !== "function" && role !== "tool") {
      throw new TranslationError(`contents[${i}].role must be "user" or "model", not ${JSON.stringify(role)}`);
    }
    messages.push({ role: "user", content: userParts(parts, calls, newId, warnings) });
  });
  return messages;
}

function userParts(
  parts: readonly unknown[],
  calls: CallRecord[],
  newId: () => string,
  warnings: string[],
): CanonicalPart[] {
  const out: CanonicalPart[] = [];
  for (const part of parts) {
    if (!isObject(part)) continue;
    const text = stringField(part, "text");
    if (text !== undefined) {
      if (part.thought === true) warnings.push("a thought part in a user turn was dropped");
      else if (text !== "") out.push({ type: "text", text });
      continue;
    }
    const response = objectField(part, "functionResponse");
    if (response !== undefined) {
      out.push(functionResponseToCanonical(response, calls, newId, warnings));
      continue;
    }
    const media = mediaToCanonical(part);
    if (media !== null) {
      if ("unsupported" in media) throw new TranslationError(`${media.unsupported} cannot be sent to another provider`);
      out.push(media);
      continue;
    }
    if (objectField(part, "functionCall") !== undefined) {
      throw new TranslationError("functionCall parts belong in model turns");
    }
    warnings.push(`user part with ${Object.keys(part).join(", ") || "no fields"} dropped`);
  }
  return out;
}

function functionResponseToCanonical(
  response: WireObject,
  calls: CallRecord[],
  newId: () => string,
  warnings: string[],
): CanonicalToolResultPart {
  const name = stringField(response, "name") ?? "";
  const id = stringField(response, "id");
  let call: CallRecord | undefined;
  if (id !== undefined && id !== "") call = calls.find((c) => c.id === id);
  else call = calls.find((c) => !c.answered && c.name === name);
  if (call !== undefined) call.answered = true;
  let callId = id !== undefined && id !== "" ? id : call?.id;
  if (callId === undefined) {
    callId = newId();
    warnings.push(`functionResponse ${name} answers no earlier functionCall; given id ${callId}`);
  }

  const body = { ...(objectField(response, "response") ?? {}) };
  // Some clients (the AI SDK) repeat the function name inside the response: it is not part of the output.
  if (body.name === name && Object.keys(body).length > 1) delete body.name;
  const keys = Object.keys(body);
  const only = keys.length === 1 ? keys[0] : undefined;
  const isError = only === "error";
  let text: string;
  const single = only !== undefined ? body[only] : undefined;
  if (typeof single === "string" && (only === "output" || only === "result" || only === "content" || isError)) {
    text = single;
  } else {
    text = JSON.stringify(toJsonValue(isError ? single : body) ?? {});
  }
  const content: (CanonicalTextPart | CanonicalImagePart)[] = [{ type: "text", text }];
  for (const part of arrayField(response, "parts") ?? []) {
    const media = isObject(part) ? mediaToCanonical(part) : null;
    if (media === null) continue;
    if ("unsupported" in media)
      throw new TranslationError(`functionResponse ${media.unsupported} cannot be translated`);
    content.push(media);
  }
  return { type: "tool-result", callId, name: name || (call?.name ?? null), content, isError };
}

function readTools(body: WireObject, warnings: string[]): CanonicalTool[] {
  const out: CanonicalTool[] = [];
  for (const tool of arrayField(body, "tools") ?? []) {
    if (!isObject(tool)) continue;
    for (const key of camelKeys(tool)) {
      if (key !== "functionDeclarations") warnings.push(`the ${key} tool runs only on Gemini and was dropped`);
    }
    for (const decl of arrayField(tool, "functionDeclarations") ?? []) {
      if (!isObject(decl)) continue;
      const name = stringField(decl, "name");
      if (name === undefined || name === "") throw new TranslationError("a functionDeclaration has no name");
      if (field(decl, "response") !== undefined || field(decl, "responseJsonSchema") !== undefined) {
        warnings.push(`function ${name}: its response schema has no equivalent elsewhere and was dropped`);
      }
      const jsonSchema = objectField(decl, "parametersJsonSchema");
      const openApi = objectField(decl, "parameters");
      const parameters =
        jsonSchema !== undefined
          ? toJsonObject(jsonSchema)
          : openApi !== undefined
            ? openApiToJsonSchema(toJsonObject(openApi))
            : { type: "object", properties: {} };
      out.push({ name, description: stringField(decl, "description") ?? null, parameters });
    }
  }
  return out;
}

function readToolChoice(body: WireObject, warnings: string[]): CanonicalToolChoice | null {
  const config = objectField(objectField(body, "toolConfig"), "functionCallingConfig");
  if (config === undefined) return null;
  const mode = stringField(config, "mode") ?? "AUTO";
  const allowed = (arrayField(config, "allowedFunctionNames") ?? []).filter((n): n is string => typeof n === "string");
  switch (mode) {
    case "ANY":
      if (allowed.length === 1 && allowed[0] !== undefined) return { type: "tool", name: allowed[0] };
      if (allowed.length > 1)
        warnings.push("allowedFunctionNames (more than one) dropped: any declared tool may be called");
      return { type: "required" };
    case "NONE":
      return { type: "none" };
    case "AUTO":
    case "MODE_UNSPECIFIED":
      if (allowed.length > 0) warnings.push("allowedFunctionNames is only meaningful with mode ANY and was dropped");
      return { type: "auto" };
    case "VALIDATED":
      warnings.push("functionCallingConfig mode VALIDATED sent as auto");
      return { type: "auto" };
    default:
      throw new TranslationError(`unknown functionCallingConfig mode ${mode}`);
  }
}

/**
 * thinkingConfig → reasoning: a budget of 0 turns thinking off (no reasoning requested), -1 (dynamic) asks for it
 * without a budget, `thinkingLevel` becomes the effort. `includeThoughts` only shows summaries: no canonical field.
 */
function readReasoning(generation: WireObject): CanonicalReasoningRequest | null {
  const thinking = objectField(generation, "thinkingConfig");
  if (thinking === undefined) return null;
  const budget = numberField(thinking, "thinkingBudget");
  const level = stringField(thinking, "thinkingLevel");
  if (budget === 0) return null;
  if (budget === undefined && level === undefined && field(thinking, "includeThoughts") !== true) return null;
  return {
    budgetTokens: budget !== undefined && budget > 0 ? budget : null,
    effort: level !== undefined && level !== "THINKING_LEVEL_UNSPECIFIED" ? level.toLowerCase() : null,
  };
}

const GENERATION_FIELDS = new Set([
  "maxOutputTokens",
  "temperature",
  "topP",
  "topK",
  "stopSequences",
  "responseMimeType",
  "responseSchema",
  "responseJsonSchema",
  "thinkingConfig",
  "candidateCount",
]);

function readResponseFormat(generation: WireObject, warnings: string[]): CanonicalResponseFormat | null {
  const mime = stringField(generation, "responseMimeType");
  const jsonSchema = objectField(generation, "responseJsonSchema");
  const openApi = objectField(generation, "responseSchema");
  if (mime === undefined || mime === "text/plain") {
    if (jsonSchema !== undefined || openApi !== undefined)
      warnings.push("a response schema without responseMimeType application/json was dropped");
    return null;
  }
  if (mime !== "application/json") {
    warnings.push(`responseMimeType ${mime} is not supported across providers and was dropped`);
    return null;
  }
  const schema =
    jsonSchema !== undefined
      ? toJsonObject(jsonSchema)
      : openApi !== undefined
        ? openApiToJsonSchema(toJsonObject(openApi))
        : undefined;
  if (schema === undefined) return { type: "json" };
  return { type: "json-schema", name: "response", schema, strict: false };
}
