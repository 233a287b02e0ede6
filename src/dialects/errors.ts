import { renderAnthropicError, renderAnthropicStreamError } from "./anthropic/errors.ts";
import { renderBedrockError, renderBedrockStreamError } from "./bedrock-converse/errors.ts";
import type { Dialect, ErrorFamily } from "./dialect.ts";
import { renderGeminiError, renderGeminiStreamError } from "./gemini/errors.ts";
import { renderOpenAiChatStreamError, renderOpenAiError } from "./openai-chat/errors.ts";
import { renderOpenAiResponsesStreamError } from "./openai-responses/errors.ts";
import type { RenderableError, RenderedError, RenderOptions } from "./shared/error-shape.ts";

export type { RenderableError, RenderedError, RenderOptions } from "./shared/error-shape.ts";

/** A Tollgate error as a complete HTTP response in the client's error family. `GatewayError` is a RenderableError. */
export function renderError(family: ErrorFamily, err: RenderableError, options: RenderOptions = {}): RenderedError {
  switch (family) {
    case "anthropic":
      return renderAnthropicError(err, options);
    case "openai":
      return renderOpenAiError(err);
    case "gemini":
      return renderGeminiError(err);
    case "bedrock":
      return renderBedrockError(err);
    default: {
      const unreachable: never = family;
      throw new Error(`unknown error family ${String(unreachable)}`);
    }
  }
}

/**
 * The SSE text that reports an error after a stream began (the HTTP status is already sent). The OpenAI family has
 * two stream shapes, so this takes a dialect; an error family is accepted too, and "openai" means Chat Completions.
 */
export function renderStreamError(
  target: Dialect | ErrorFamily,
  err: RenderableError,
  options: RenderOptions = {},
): string {
  switch (target) {
    case "anthropic":
      return renderAnthropicStreamError(err, options);
    case "openai":
    case "openai-chat":
    case "openai-embeddings":
      return renderOpenAiChatStreamError(err);
    case "openai-responses":
      return renderOpenAiResponsesStreamError(err);
    case "gemini":
      return renderGeminiStreamError(err);
    case "bedrock":
    case "bedrock-converse":
      return renderBedrockStreamError(err);
    default: {
      const unreachable: never = target;
      throw new Error(`unknown dialect ${String(unreachable)}`);
    }
  }
}
