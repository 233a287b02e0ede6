import { GatewayError } from "../errors/catalog.ts";
import { peekTopLevel } from "../json/peek.ts";
import type { NormalisedBody } from "../pipeline/ingress.ts";
import { TranslationError, translatorFor } from "../translate/index.ts";

/**
 * Cursor's "Override OpenAI Base URL" posts to `{base}/chat/completions`, but for OpenAI-family models the body is
 * a Responses request (`input` instead of `messages`, flat `{type:"function",name,parameters}` tools, `reasoning`,
 * `include`, `text.verbosity`, `store`, `truncation`, and Chat's `stream_options.include_usage`) while the reply it
 * parses is Chat Completions (`choices[].delta`) — CLIENTS.md §5 and the reports cited in
 * test/gateway/cursor.test.ts. Such a body becomes a Chat Completions body here (Responses request → canonical →
 * Chat request, the translators' own converters), so the rest of the call is an ordinary `/v1/chat/completions`
 * one and the reply is Chat-shaped whatever provider serves it. A Chat-shaped body (`messages`) is left as it is:
 * its bytes are forwarded untouched.
 */
export function normaliseCursorBody(raw: Buffer): NormalisedBody | null {
  const top = peekTopLevel(raw, SHAPE_FIELDS);
  // Not a JSON object, or already Chat-shaped, or not Responses-shaped: ingress and the provider judge it as it is.
  if (top === null || top.has("messages") || !top.has("input")) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new GatewayError("TG_INVALID_JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  try {
    const canonical = translatorFor("openai-responses").requestToCanonical(json);
    const chat = translatorFor("openai-chat").canonicalToRequest(canonical.value);
    const body = chat.value;
    // The usage chunk is sent only when asked for (Cursor asks); without the ask the gateway requests it for
    // metering and keeps it from the client, as on any Chat route.
    const options = (json as { stream_options?: unknown }).stream_options;
    const asked =
      typeof options === "object" &&
      options !== null &&
      (options as { include_usage?: unknown }).include_usage === true;
    if (body.stream === true && asked) body.stream_options = { include_usage: true };
    else delete body.stream_options;
    return {
      raw: Buffer.from(JSON.stringify(body)),
      warnings: [...canonical.warnings, ...chat.warnings],
    };
  } catch (err) {
    if (err instanceof TranslationError) throw new GatewayError("TG_TRANSLATION", err.message);
    throw err;
  }
}

const SHAPE_FIELDS: ReadonlySet<string> = new Set(["messages", "input"]);
