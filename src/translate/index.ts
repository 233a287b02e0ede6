import type { Dialect } from "../dialects/dialect.ts";
import { anthropicTranslator } from "./anthropic/index.ts";
import { bedrockConverseTranslator } from "./bedrock-converse/index.ts";
import type { ChatDialect } from "./canonical.ts";
import { geminiTranslator } from "./gemini/index.ts";
import { openAiChatTranslator } from "./openai-chat/index.ts";
import { openAiResponsesTranslator, openAiResponsesTranslatorFor } from "./openai-responses/index.ts";
import type { DialectTranslator } from "./translator.ts";

export type { ChatDialect } from "./canonical.ts";
export { TranslationError } from "./canonical.ts";
export type { DialectTranslator } from "./translator.ts";

const TRANSLATORS: Readonly<Record<ChatDialect, DialectTranslator>> = {
  anthropic: anthropicTranslator,
  "openai-chat": openAiChatTranslator,
  "openai-responses": openAiResponsesTranslator,
  gemini: geminiTranslator,
  "bedrock-converse": bedrockConverseTranslator,
};

export function translatorFor(dialect: ChatDialect): DialectTranslator {
  return TRANSLATORS[dialect];
}

/**
 * The translator that answers a client: like translatorFor, but bound to the client's own request where its
 * replies depend on it (Responses: namespaced / custom / local-shell tool calls, `include` of encrypted reasoning).
 */
export function clientTranslatorFor(dialect: ChatDialect, clientBody: unknown): DialectTranslator {
  return dialect === "openai-responses" ? openAiResponsesTranslatorFor(clientBody) : TRANSLATORS[dialect];
}

export function isChatDialect(dialect: Dialect): dialect is ChatDialect {
  return dialect !== "openai-embeddings";
}

/**
 * The dialect to translate a `client` request into for a provider that does not speak it: Chat Completions first
 * (every OpenAI-compatible server has it), then the others; null when there is none (embeddings).
 */
export function translationTarget(client: Dialect, providerDialects: readonly Dialect[]): ChatDialect | null {
  if (!isChatDialect(client)) return null;
  for (const d of ["openai-chat", "anthropic", "gemini", "openai-responses", "bedrock-converse"] as const) {
    if (providerDialects.includes(d)) return d;
  }
  return null;
}
