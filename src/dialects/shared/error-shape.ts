import type { ErrorKind } from "../../errors/catalog.ts";

/**
 * What an error renderer needs from an error. `GatewayError` satisfies it; the code is a plain string so kinds
 * that have no catalog code yet (rate limits, budgets) can be rendered and tested all the same.
 */
export interface RenderableError {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly status: number;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A complete HTTP error response in one dialect's shape. */
export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RenderOptions {
  /** Tollgate's request id; Anthropic bodies carry it as `request_id`. */
  requestId?: string;
}

/** Response headers for a JSON error: the error's own (retry-after, …), the content type and Tollgate's code. */
export function errorHeaders(err: RenderableError): Record<string, string> {
  return { ...err.headers, "content-type": "application/json", "x-tollgate-error-code": err.code };
}

/** One SSE event; `event` is omitted for data-only dialects (OpenAI chat, Gemini). */
export function sseEvent(event: string | null, payload: unknown): string {
  const data = `data: ${JSON.stringify(payload)}\n\n`;
  return event === null ? data : `event: ${event}\n${data}`;
}
