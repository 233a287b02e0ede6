import { convertResponsesUsage } from "../../dialects/openai-responses/usage.ts";
import { arrayAt, isObject, objectAt, stringAt, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
import { emptyUsage } from "../../metering/usage.ts";
import { type CanonicalPart, type CanonicalResponse, TranslationError } from "../canonical.ts";
import { stopFromStatus } from "./map-stop.ts";
import { argumentsFromCustomInput, flatToolName } from "./tools.ts";

/**
 * An upstream Response object → canonical. Messages give text (a refusal is text too), reasoning items give
 * reasoning with OpenAI's `encrypted_content` as opaque, function and custom tool calls give tool calls (namespaced
 * ones under their flat name). Hosted-tool items (web search …) ran at OpenAI and carry nothing to translate.
 */
export function responseToCanonical(body: unknown): CanonicalResponse {
  const errorBody = isObject(body) && isObject(body.error) && body.object !== "response" && body.output === undefined;
  if (!isObject(body) || errorBody || (body.object !== undefined && body.object !== "response")) {
    throw new TranslationError("the upstream body is not a Responses API Response");
  }
  const content = outputToParts(arrayAt(body, "output") ?? []);
  const usage = objectAt(body, "usage");
  return {
    id: stringAt(body, "id") ?? "",
    model: stringAt(body, "model") ?? "",
    content,
    stop: stopFromStatus(
      stringAt(body, "status"),
      stringAt(objectAt(body, "incomplete_details") ?? {}, "reason"),
      content.some((part) => part.type === "tool-call"),
    ),
    usage: usage === undefined ? emptyUsage() : convertResponsesUsage(usage),
  };
}

export function outputToParts(output: unknown[]): CanonicalPart[] {
  const parts: CanonicalPart[] = [];
  for (const item of output) {
    if (!isObject(item)) continue;
    switch (item.type) {
      case "message":
        for (const part of arrayAt(item, "content") ?? []) {
          if (!isObject(part)) continue;
          const text = part.type === "refusal" ? stringAt(part, "refusal") : stringAt(part, "text");
          if (text !== undefined) parts.push({ type: "text", text });
        }
        break;
      case "reasoning":
        parts.push(reasoningPart(item));
        break;
      case "function_call":
        parts.push({
          type: "tool-call",
          id: stringAt(item, "call_id") ?? stringAt(item, "id") ?? "",
          name: flatToolName(stringAt(item, "namespace"), stringAt(item, "name") ?? ""),
          arguments: stringAt(item, "arguments") ?? "",
        });
        break;
      case "custom_tool_call":
        parts.push({
          type: "tool-call",
          id: stringAt(item, "call_id") ?? stringAt(item, "id") ?? "",
          name: flatToolName(stringAt(item, "namespace"), stringAt(item, "name") ?? ""),
          arguments: argumentsFromCustomInput(stringAt(item, "input") ?? ""),
        });
        break;
      default:
        break;
    }
  }
  return parts;
}

function reasoningPart(item: WireObject): CanonicalPart {
  const texts = (list: unknown[] | undefined): string[] =>
    (list ?? []).flatMap((part) => (isObject(part) && typeof part.text === "string" ? [part.text] : []));
  const summaries = texts(arrayAt(item, "summary"));
  const text = (summaries.length > 0 ? summaries : texts(arrayAt(item, "content"))).join("\n\n");
  const encrypted = stringAt(item, "encrypted_content");
  // Whatever the upstream sent is OpenAI's own proof (never unwrapped as a Tollgate envelope).
  const opaque = encrypted
    ? { dialect: "openai-responses" as const, kind: "encrypted" as const, value: encrypted }
    : null;
  return { type: "reasoning", text, opaque };
}
