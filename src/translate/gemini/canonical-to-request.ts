import type {
  CanonicalMessage,
  CanonicalReasoningRequest,
  CanonicalRequest,
  CanonicalToolChoice,
  CanonicalToolResultPart,
  JsonObject,
  JsonValue,
  Translated,
} from "../canonical.ts";
import { TranslationError } from "../canonical.ts";
import { assistantPartsToGemini, imageToGemini } from "./parts.ts";
import { prepareJsonSchema } from "./schema.ts";

/** The Gemini API accepts at most this many stop sequences. */
const MAX_STOP_SEQUENCES = 5;

/**
 * Canonical → a Gemini `generateContent` body. The model and streaming are not in the body: the caller puts the
 * model in the path (`models/{model}:generateContent` or `:streamGenerateContent?alt=sse`); `req.model` is only
 * read to know the model generation (Gemini 3 needs signatures on replayed function calls, takes `thinkingLevel`).
 *
 * Tool schemas go in `parametersJsonSchema`, JSON output schemas in `responseJsonSchema` (see schema.ts for why).
 * Tool results become `functionResponse {id, name, response: {output}}` (`{error}` when the tool failed), the name
 * taken from the matching call when the client's dialect does not carry it. Only Gemini's own thought signatures
 * are sent back; other reasoning is dropped with one warning.
 */
export function canonicalToGeminiRequest(req: CanonicalRequest): Translated<JsonObject> {
  const warnings: string[] = [];
  const generation = geminiGeneration(req.model);
  const body: JsonObject = {};

  if (req.system.length > 0) body.systemInstruction = { parts: req.system.map((p) => ({ text: p.text })) };
  body.contents = contents(req.messages, generation >= 3, warnings);

  if (req.tools.length > 0) {
    const declarations: JsonObject[] = req.tools.map((tool) => {
      const prepared = prepareJsonSchema(tool.parameters, { objectRoot: true, where: `tool ${tool.name}` });
      warnings.push(...prepared.warnings);
      const decl: JsonObject = { name: tool.name };
      if (tool.description !== null && tool.description !== "") decl.description = tool.description;
      decl.parametersJsonSchema = prepared.schema;
      return decl;
    });
    body.tools = [{ functionDeclarations: declarations }];
  }
  if (req.toolChoice !== null) body.toolConfig = { functionCallingConfig: callingConfig(req.toolChoice) };
  if (req.parallelToolCalls === false) {
    warnings.push("parallel tool calls cannot be turned off on Gemini; the model may call several tools at once");
  }

  const config: JsonObject = {};
  if (req.maxOutputTokens !== null) config.maxOutputTokens = req.maxOutputTokens;
  if (req.temperature !== null) config.temperature = req.temperature;
  if (req.topP !== null) config.topP = req.topP;
  if (req.topK !== null) config.topK = req.topK;
  if (req.stop.length > 0) {
    if (req.stop.length > MAX_STOP_SEQUENCES) {
      warnings.push(`Gemini takes at most ${MAX_STOP_SEQUENCES} stop sequences; the rest were dropped`);
    }
    config.stopSequences = req.stop.slice(0, MAX_STOP_SEQUENCES);
  }
  const format = req.responseFormat;
  if (format !== null) {
    config.responseMimeType = "application/json";
    if (format.type === "json-schema") {
      const prepared = prepareJsonSchema(format.schema, { objectRoot: false, where: "response schema" });
      warnings.push(...prepared.warnings);
      config.responseJsonSchema = prepared.schema;
    }
  }
  if (req.reasoning !== null) config.thinkingConfig = thinkingConfig(req.reasoning, generation);
  if (Object.keys(config).length > 0) body.generationConfig = config;

  if (req.user !== null) warnings.push("user has no Gemini equivalent and was dropped");
  return { value: body, warnings };
}

/** The major version in a Gemini model name (`gemini-3-pro-preview` → 3), 0 when unknown. */
export function geminiGeneration(model: string): number {
  const m = /gemini-(\d+)/i.exec(model);
  return m?.[1] !== undefined ? Number(m[1]) : 0;
}

function contents(messages: readonly CanonicalMessage[], skipSignature: boolean, warnings: string[]): JsonObject[] {
  const callNames = new Map<string, string>();
  for (const m of messages) for (const p of m.content) if (p.type === "tool-call") callNames.set(p.id, p.name);

  const out: JsonObject[] = [];
  let droppedReasoning = 0;
  let skipped = 0;
  for (const message of messages) {
    let parts: JsonObject[];
    if (message.role === "assistant") {
      const r = assistantPartsToGemini(message.content, { mode: "request", skipSignature, warnings });
      parts = r.parts;
      droppedReasoning += r.droppedReasoning;
      skipped += r.skippedSignatures;
    } else {
      parts = [];
      for (const part of message.content) {
        switch (part.type) {
          case "text":
            if (part.text !== "") parts.push({ text: part.text });
            break;
          case "image":
            parts.push(imageToGemini(part));
            break;
          case "tool-result":
            parts.push(...toolResult(part, callNames, warnings));
            break;
          case "reasoning":
            droppedReasoning++;
            break;
          case "tool-call":
            throw new TranslationError("a tool call cannot be sent in a user turn");
          default: {
            const unreachable: never = part;
            throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
          }
        }
      }
    }
    // Gemini rejects a content with no parts (e.g. an assistant turn that held only another provider's reasoning).
    if (parts.length > 0) out.push({ role: message.role === "assistant" ? "model" : "user", parts });
  }
  if (out.length === 0)
    throw new TranslationError("the conversation has nothing Gemini can take (no text, media or tool use)");
  if (droppedReasoning > 0) {
    warnings.push(`${droppedReasoning} reasoning part(s) dropped: Gemini accepts only its own thought signatures`);
  }
  if (skipped > 0) {
    warnings.push(
      `${skipped} function call(s) from history without a Gemini thought signature sent with skip_thought_signature_validator`,
    );
  }
  return out;
}

/**
 * A tool result → `functionResponse` (+ media). Text goes in `response.output` (`response.error` when the tool
 * failed); images follow as their own parts, which every Gemini generation reads (multimodal
 * `functionResponse.parts` is Gemini 3 only).
 */
function toolResult(part: CanonicalToolResultPart, callNames: Map<string, string>, warnings: string[]): JsonObject[] {
  const name = part.name ?? callNames.get(part.callId);
  if (name === undefined) {
    throw new TranslationError(`tool result ${part.callId} matches no tool call, and Gemini needs the function name`);
  }
  const text = part.content
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
  const response: JsonObject = part.isError ? { error: text } : { output: text };
  const media = part.content.filter((c) => c.type === "image");
  if (media.length > 0) warnings.push(`tool result ${part.callId}: images sent as parts after the functionResponse`);
  return [{ functionResponse: { id: part.callId, name, response } }, ...media.map(imageToGemini)];
}

function callingConfig(choice: CanonicalToolChoice): JsonObject {
  switch (choice.type) {
    case "auto":
      return { mode: "AUTO" };
    case "none":
      return { mode: "NONE" };
    case "required":
      return { mode: "ANY" };
    case "tool":
      return { mode: "ANY", allowedFunctionNames: [choice.name] };
    default: {
      const unreachable: never = choice;
      throw new Error(`unknown tool choice ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Effort → a budget for models before Gemini 3 (which take no `thinkingLevel`). */
const EFFORT_BUDGET: Record<string, number> = {
  none: 0,
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 32768,
};
const EFFORT_LEVEL: Record<string, string> = {
  none: "MINIMAL",
  minimal: "MINIMAL",
  low: "LOW",
  medium: "MEDIUM",
  high: "HIGH",
  xhigh: "HIGH",
};

/** Reasoning → thinkingConfig: a budget wins; an effort is a level on Gemini 3, a budget before. Thoughts shown. */
function thinkingConfig(reasoning: CanonicalReasoningRequest, generation: number): JsonObject {
  const config: Record<string, JsonValue> = { includeThoughts: true };
  const effort = reasoning.effort?.toLowerCase() ?? null;
  if (reasoning.budgetTokens !== null) config.thinkingBudget = reasoning.budgetTokens;
  else if (effort !== null && generation >= 3 && EFFORT_LEVEL[effort] !== undefined) {
    config.thinkingLevel = EFFORT_LEVEL[effort];
  } else if (effort !== null && EFFORT_BUDGET[effort] !== undefined) {
    config.thinkingBudget = EFFORT_BUDGET[effort];
  }
  if (config.thinkingBudget === 0) config.includeThoughts = false;
  return config;
}
