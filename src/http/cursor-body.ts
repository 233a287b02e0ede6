import { GatewayError } from "../errors/catalog.ts";
import { holdsMarker, restoreLongStrings, setAsideLongStrings } from "../json/long-strings.ts";
import { peekTopLevel } from "../json/peek.ts";
import { hasByteEscape, isByteView, textOfView } from "../pipeline/byte-view.ts";
import type { NormalisedBody } from "../pipeline/ingress.ts";
import type { JsonObject } from "../translate/canonical.ts";
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
export function normaliseCursorBody(raw: Buffer, options: { parseAllStrings?: boolean } = {}): NormalisedBody | null {
  const top = peekTopLevel(raw, SHAPE_FIELDS);
  // Not a JSON object, or already Chat-shaped, or not Responses-shaped: ingress and the provider judge it as it is.
  if (top === null || top.has("messages") || !top.has("input")) return null;
  // Agent-mode bodies carry whole files: read as bytes with the long text set aside, as translation does
  // (pipeline/translated-call.ts); parsed whole (as UTF-8) when that cannot be exact.
  if (options.parseAllStrings !== true && !hasByteEscape(raw)) {
    const aside = setAsideLongStrings(raw);
    if (aside !== null) {
      const fast = chatBodyOrNull(aside.text, (serialised) =>
        isByteView(serialised) ? restoreLongStrings(serialised, raw, aside) : null,
      );
      if (fast !== null) return fast;
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new GatewayError("TG_INVALID_JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  const { body, warnings } = chatBody(json);
  return { raw: Buffer.from(JSON.stringify(body)), warnings };
}

/** The Chat body from the set-aside text, or null when any step needs the whole parsed body. */
function chatBodyOrNull(text: string, restore: (serialised: string) => Buffer | null): NormalisedBody | null {
  try {
    const { body, warnings } = chatBody(JSON.parse(text));
    const bytes = restore(JSON.stringify(body));
    if (bytes === null || warnings.some(holdsMarker)) return null;
    return { raw: bytes, warnings: warnings.map(textOfView) };
  } catch {
    return null; // the parsed body gives the exact error
  }
}

/** A Responses-shaped body as a Chat Completions body (the translators' own converters). */
function chatBody(json: unknown): { body: JsonObject; warnings: string[] } {
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
    return { body, warnings: [...canonical.warnings, ...chat.warnings] };
  } catch (err) {
    if (err instanceof TranslationError) throw new GatewayError("TG_TRANSLATION", err.message);
    throw err;
  }
}

const SHAPE_FIELDS: ReadonlySet<string> = new Set(["messages", "input"]);
