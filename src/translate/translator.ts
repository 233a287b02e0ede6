import type {
  CanonicalRequest,
  CanonicalResponse,
  CanonicalStreamEvent,
  ChatDialect,
  JsonObject,
  SseEvent,
  StreamMapper,
  Translated,
} from "./canonical.ts";

/** A dialect's six converters (translate/README.md), as one object the pipeline looks up by dialect. */
export interface DialectTranslator {
  dialect: ChatDialect;
  requestToCanonical(body: unknown): Translated<CanonicalRequest>;
  /** `provider`: the provider's name, for compatible servers' quirks (DeepSeek reads only `max_tokens`). */
  canonicalToRequest(request: CanonicalRequest, options?: { provider?: string }): Translated<JsonObject>;
  responseToCanonical(body: unknown): CanonicalResponse;
  canonicalToResponse(response: CanonicalResponse, model: string): JsonObject;
  /** Each mapper has its own private state type; its methods are bivariant, so `unknown` admits them all. */
  streamToCanonical(): StreamMapper<unknown, SseEvent, CanonicalStreamEvent>;
  /** `includeUsage`: Chat clients get the final usage chunk only when they asked `stream_options.include_usage`. */
  canonicalToStream(
    model: string,
    options?: { includeUsage?: boolean },
  ): StreamMapper<unknown, CanonicalStreamEvent, string>;
}
