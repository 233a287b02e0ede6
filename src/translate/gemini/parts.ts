import { isObject } from "../../dialects/shared/narrow.ts";
import type {
  CanonicalImagePart,
  CanonicalPart,
  CanonicalReasoningPart,
  CanonicalToolCallPart,
  JsonObject,
} from "../canonical.ts";
import { objectField, parseJsonObject, stringField, toJsonObject } from "./json.ts";

/**
 * Gemini parts ⇄ canonical parts for a model turn (a response candidate, or a `role: "model"` content in history).
 *
 * Thought signatures: Gemini puts `thoughtSignature` ON a part (a function call, a text, or a thought summary).
 * Canonically a signature is a reasoning part of its own, placed just before the part that carried it (empty text
 * unless the carrier was a thought summary); back toward Gemini it goes onto the next part again, or onto an empty
 * text part when nothing follows (as Gemini itself ends a streamed turn: `{"text":"","thoughtSignature":…}`).
 */

export const GEMINI_SIGNATURE = "signature";

/** Google's documented stand-in for a function call replayed without its signature (history from elsewhere). */
export const SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator";

export function signaturePart(value: string, text = ""): CanonicalReasoningPart {
  return { type: "reasoning", text, opaque: { dialect: "gemini", kind: GEMINI_SIGNATURE, value } };
}

export function geminiSignature(part: CanonicalReasoningPart): string | null {
  const o = part.opaque;
  return o !== null && o.dialect === "gemini" && o.kind === "signature" ? o.value : null;
}

/** `inlineData` / `fileData` → canonical image, or a reason it cannot be one. */
export function mediaToCanonical(part: Record<string, unknown>): CanonicalImagePart | { unsupported: string } | null {
  const inline = objectField(part, "inlineData");
  if (inline !== undefined) {
    const mimeType = stringField(inline, "mimeType") ?? "";
    const data = stringField(inline, "data") ?? "";
    if (!mimeType.startsWith("image/")) return { unsupported: `inlineData of type ${mimeType || "unknown"}` };
    return { type: "image", source: { kind: "base64", mediaType: mimeType, data } };
  }
  const file = objectField(part, "fileData");
  if (file !== undefined) {
    const mimeType = stringField(file, "mimeType");
    const uri = stringField(file, "fileUri") ?? "";
    if (mimeType !== undefined && !mimeType.startsWith("image/"))
      return { unsupported: `fileData of type ${mimeType}` };
    return { type: "image", source: { kind: "url", url: uri } };
  }
  return null;
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;
const EXTENSION_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

/** Canonical image → `inlineData` (base64, data: URLs) or `fileData` (Gemini needs a MIME type: from the extension). */
export function imageToGemini(image: CanonicalImagePart): JsonObject {
  const source = image.source;
  if (source.kind === "base64") return { inlineData: { mimeType: source.mediaType, data: source.data } };
  const dataUrl = DATA_URL.exec(source.url);
  if (dataUrl !== null) return { inlineData: { mimeType: dataUrl[1] ?? "", data: dataUrl[2] ?? "" } };
  const ext = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(source.url)?.[1]?.toLowerCase() ?? "";
  return { fileData: { mimeType: EXTENSION_TYPES[ext] ?? "image/jpeg", fileUri: source.url } };
}

export interface ModelPartsContext {
  /** Called once per function call, in order; its answer is the id of a call that has none. */
  callId(): string;
  warnings: string[];
}

/** A model turn's parts → canonical assistant parts. */
export function modelPartsToCanonical(parts: readonly unknown[], ctx: ModelPartsContext): CanonicalPart[] {
  const out: CanonicalPart[] = [];
  for (const part of parts) {
    if (!isObject(part)) continue;
    const signature = stringField(part, "thoughtSignature");
    const text = stringField(part, "text");
    if (part.thought === true && text !== undefined) {
      out.push(signature !== undefined ? signaturePart(signature, text) : { type: "reasoning", text, opaque: null });
      continue;
    }
    if (signature !== undefined) out.push(signaturePart(signature));
    if (text !== undefined) {
      if (text !== "") out.push({ type: "text", text });
      continue;
    }
    const call = objectField(part, "functionCall");
    if (call !== undefined) {
      out.push(functionCallToCanonical(call, ctx));
      continue;
    }
    const media = mediaToCanonical(part);
    if (media !== null) {
      if ("unsupported" in media) ctx.warnings.push(`model ${media.unsupported} dropped`);
      else out.push(media);
      continue;
    }
    const code = objectField(part, "executableCode");
    if (code !== undefined) {
      const language = (stringField(code, "language") ?? "").toLowerCase().replace("language_unspecified", "");
      out.push({ type: "text", text: `\`\`\`${language}\n${stringField(code, "code") ?? ""}\n\`\`\`` });
      ctx.warnings.push("executableCode part carried as text");
      continue;
    }
    const result = objectField(part, "codeExecutionResult");
    if (result !== undefined) {
      out.push({ type: "text", text: `\`\`\`\n${stringField(result, "output") ?? ""}\n\`\`\`` });
      ctx.warnings.push("codeExecutionResult part carried as text");
      continue;
    }
    ctx.warnings.push(`model part with ${Object.keys(part).join(", ") || "no fields"} dropped`);
  }
  return out;
}

export function functionCallToCanonical(call: Record<string, unknown>, ctx: ModelPartsContext): CanonicalToolCallPart {
  const args = objectField(call, "args");
  const id = stringField(call, "id");
  const generated = ctx.callId();
  return {
    type: "tool-call",
    id: id !== undefined && id !== "" ? id : generated,
    name: stringField(call, "name") ?? "",
    arguments: JSON.stringify(args === undefined ? {} : toJsonObject(args)),
  };
}

/** Tool-call arguments (JSON text) → Gemini `args` (an object). */
export function argumentsToArgs(call: CanonicalToolCallPart, warnings: string[]): JsonObject {
  if (call.arguments.trim() === "") return {};
  const args = parseJsonObject(call.arguments);
  if (args !== undefined) return args;
  warnings.push(`tool call ${call.id} (${call.name}): arguments are not a JSON object; sent as {}`);
  return {};
}

export interface ToGeminiOptions {
  /**
   * "request": history toward a Gemini provider: only Gemini's own signatures go back, other reasoning is dropped.
   * "response": a Gemini client's answer: reasoning text is shown as thought parts, foreign signatures never.
   */
  mode: "request" | "response";
  /** Replay function calls that lack a signature with SKIP_THOUGHT_SIGNATURE (Gemini 3 rejects them otherwise). */
  skipSignature: boolean;
  warnings: string[];
}

export interface ToGeminiResult {
  parts: JsonObject[];
  /** Reasoning dropped because Gemini cannot take it (another provider's, or text without its signature). */
  droppedReasoning: number;
  /** Function calls given SKIP_THOUGHT_SIGNATURE. */
  skippedSignatures: number;
}

/** Canonical assistant parts → Gemini model-turn parts. */
export function assistantPartsToGemini(parts: readonly CanonicalPart[], options: ToGeminiOptions): ToGeminiResult {
  const out: JsonObject[] = [];
  let pending: string | null = null;
  let droppedReasoning = 0;
  let skippedSignatures = 0;
  /** A signature was seen in this run of function calls (Gemini signs only the first of parallel calls). */
  let batchSigned = false;
  const take = (): string | null => {
    const s = pending;
    pending = null;
    return s;
  };
  const emit = (part: JsonObject, signature: string | null): void => {
    if (signature !== null) part.thoughtSignature = signature;
    out.push(part);
  };
  for (const part of parts) {
    if (part.type !== "tool-call") batchSigned = false;
    switch (part.type) {
      case "reasoning": {
        const signature = geminiSignature(part);
        if (options.mode === "request" && signature === null) {
          if (part.text !== "" || part.opaque !== null) droppedReasoning++;
          break;
        }
        if (part.text === "") {
          if (signature === null) break;
          if (pending !== null) emit({ text: "" }, take());
          pending = signature;
          break;
        }
        if (pending !== null) emit({ text: "" }, take());
        emit({ text: part.text, thought: true }, signature);
        break;
      }
      case "text":
        if (part.text === "" && pending === null) break;
        emit({ text: part.text }, take());
        break;
      case "image":
        emit(imageToGemini(part), take());
        break;
      case "tool-call": {
        const call: JsonObject = { id: part.id, name: part.name, args: argumentsToArgs(part, options.warnings) };
        let signature = take();
        if (signature !== null) batchSigned = true;
        else if (options.skipSignature && !batchSigned) {
          signature = SKIP_THOUGHT_SIGNATURE;
          skippedSignatures++;
        }
        emit({ functionCall: call }, signature);
        break;
      }
      case "tool-result":
        options.warnings.push(`tool result ${part.callId} in a model turn dropped`);
        break;
      default: {
        const unreachable: never = part;
        throw new Error(`unknown part ${JSON.stringify(unreachable)}`);
      }
    }
  }
  if (pending !== null) emit({ text: "" }, take());
  return { parts: out, droppedReasoning, skippedSignatures };
}
