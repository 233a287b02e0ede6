import { isObject, type JsonObject, objectAt, stringAt } from "../../dialects/shared/narrow.ts";
import type { Warnings } from "../anthropic/json.ts";
import type {
  CanonicalImagePart,
  CanonicalPart,
  CanonicalReasoningPart,
  CanonicalTextPart,
  CanonicalToolCallPart,
} from "../canonical.ts";

/** Converse image formats ↔ media types. */
const MEDIA_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

export function imageFormatOf(mediaType: string): string | null {
  for (const [format, type] of Object.entries(MEDIA_TYPES)) if (type === mediaType) return format;
  return mediaType === "image/jpg" ? "jpeg" : null;
}

/** `{image: {format, source: {bytes}}}` (bytes are base64 in JSON) → canonical; S3 sources cannot be read. */
export function imageFromConverse(image: JsonObject, warnings: Warnings): CanonicalImagePart | CanonicalTextPart {
  const format = stringAt(image, "format") ?? "png";
  const bytes = stringAt(objectAt(image, "source"), "bytes");
  if (bytes === undefined) {
    warnings.add("Converse images stored in S3 cannot be translated; a placeholder was sent");
    return { type: "text", text: "[image omitted: stored in S3]" };
  }
  return {
    type: "image",
    source: { kind: "base64", mediaType: MEDIA_TYPES[format] ?? `image/${format}`, data: bytes },
  };
}

/** `reasoningContent` → reasoning; its signature / redacted data is Bedrock's and stays tagged as such. */
export function reasoningFromConverse(content: JsonObject): CanonicalReasoningPart {
  const redacted = stringAt(content, "redactedContent");
  if (redacted !== undefined) {
    return { type: "reasoning", text: "", opaque: { dialect: "bedrock-converse", kind: "redacted", value: redacted } };
  }
  const text = objectAt(content, "reasoningText");
  const signature = stringAt(text, "signature") ?? "";
  return {
    type: "reasoning",
    text: stringAt(text, "text") ?? "",
    opaque: signature === "" ? null : { dialect: "bedrock-converse", kind: "signature", value: signature },
  };
}

export function toolCallFromConverse(toolUse: JsonObject): CanonicalToolCallPart {
  const input = toolUse.input;
  return {
    type: "tool-call",
    id: stringAt(toolUse, "toolUseId") ?? "",
    name: stringAt(toolUse, "name") ?? "",
    arguments: input === undefined || input === null ? "{}" : JSON.stringify(input),
  };
}

/** The parts of an assistant message's content in a Converse response (text, reasoning, tool calls). */
export function outputPartsFromConverse(content: unknown[], warnings: Warnings): CanonicalPart[] {
  const parts: CanonicalPart[] = [];
  for (const block of content) {
    if (!isObject(block)) continue;
    const text = stringAt(block, "text");
    const toolUse = objectAt(block, "toolUse");
    const reasoning = objectAt(block, "reasoningContent");
    if (text !== undefined) {
      if (text !== "") parts.push({ type: "text", text });
    } else if (toolUse !== undefined) parts.push(toolCallFromConverse(toolUse));
    else if (reasoning !== undefined) parts.push(reasoningFromConverse(reasoning));
    else warnings.add(`Converse content block "${Object.keys(block)[0] ?? "?"}" is not translated and was dropped`);
  }
  return parts;
}
