import { convertOpenAiChatUsage, findChatUsage } from "../../dialects/openai-chat/usage.ts";
import { arrayAt, isObject, objectAt, stringAt, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
import { emptyUsage } from "../../metering/usage.ts";
import { type CanonicalPart, type CanonicalResponse, type CanonicalStop, TranslationError } from "../canonical.ts";

/**
 * A Chat `finish_reason` as a canonical stop. Chat does not tell a stop sequence from a natural end, so `stop` is
 * `end`, or `tool-calls` when the turn made tool calls (some compatible servers answer `stop` then).
 */
export function mapOpenAiChatFinishReason(raw: string | null, hasToolCalls: boolean): CanonicalStop {
  switch (raw) {
    case "stop":
      return { unified: hasToolCalls ? "tool-calls" : "end", raw };
    case "length":
      return { unified: "max-tokens", raw };
    case "tool_calls":
    case "function_call":
      return { unified: "tool-calls", raw };
    case "content_filter":
      return { unified: "content-filter", raw };
    default:
      return { unified: "other", raw };
  }
}

/**
 * OpenAI Chat completion body → canonical. Reads the first choice (translation never asks for more), DeepSeek/xAI
 * `reasoning_content` or OpenRouter/Groq `reasoning` (→ reasoning part without opaque data), content, `refusal`
 * (→ text: it is what the model said), tool calls and a legacy `function_call`. Usage goes through the dialect's
 * own converter (cached tokens split out of `prompt_tokens`, xAI reasoning on top of completion).
 */
export function openAiChatResponseToCanonical(body: unknown): CanonicalResponse {
  if (!isObject(body)) throw new TranslationError("The upstream response is not a JSON object.");
  const choices = arrayAt(body, "choices");
  const error = objectAt(body, "error");
  if (choices === undefined) {
    const detail = stringAt(error, "message");
    throw new TranslationError(`The upstream response is not a chat completion${detail ? `: ${detail}` : "."}`);
  }
  const choice = choices.find((c) => isObject(c) && c.index === 0) ?? choices[0];
  const message = isObject(choice) ? (objectAt(choice, "message") ?? {}) : {};
  const content = messageParts(message);
  const finishReason = isObject(choice) ? (stringAt(choice, "finish_reason") ?? null) : null;
  const usage = findChatUsage(body);
  return {
    id: stringAt(body, "id") ?? "",
    model: stringAt(body, "model") ?? "",
    content,
    stop: mapOpenAiChatFinishReason(
      finishReason,
      content.some((part) => part.type === "tool-call"),
    ),
    usage: usage === undefined ? emptyUsage() : convertOpenAiChatUsage(usage),
  };
}

function messageParts(message: WireObject): CanonicalPart[] {
  const parts: CanonicalPart[] = [];
  const reasoning = stringAt(message, "reasoning_content") ?? stringAt(message, "reasoning");
  if (reasoning) parts.push({ type: "reasoning", text: reasoning, opaque: null });
  const content = message.content;
  if (typeof content === "string") {
    if (content !== "") parts.push({ type: "text", text: content });
  } else if (Array.isArray(content)) {
    // Some compatible servers answer with content parts.
    for (const part of content) {
      const text = isObject(part) ? stringAt(part, "text") : undefined;
      if (text) parts.push({ type: "text", text });
    }
  }
  const refusal = stringAt(message, "refusal");
  if (refusal) parts.push({ type: "text", text: refusal });
  for (const [i, call] of (arrayAt(message, "tool_calls") ?? []).entries()) {
    if (!isObject(call)) continue;
    const fn = objectAt(call, "function");
    const name = stringAt(fn, "name");
    if (name === undefined) continue;
    parts.push({
      type: "tool-call",
      id: stringAt(call, "id") || `call_${i}`,
      name,
      arguments: stringAt(fn, "arguments") ?? "",
    });
  }
  const legacy = objectAt(message, "function_call");
  const legacyName = stringAt(legacy, "name");
  if (legacyName !== undefined) {
    parts.push({
      type: "tool-call",
      id: "call_legacy",
      name: legacyName,
      arguments: stringAt(legacy, "arguments") ?? "",
    });
  }
  return parts;
}
