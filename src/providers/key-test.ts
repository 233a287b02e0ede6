import { type Dispatcher, request } from "undici";
import type { Clock } from "../clock.ts";
import { authHeaders, upstreamUrl } from "./endpoints.ts";
import type { ProviderConfig } from "./types.ts";

/** How long "test this key" waits for the provider. */
export const KEY_TEST_TIMEOUT_MS = 10_000;

/** The result of "test this key". */
export interface KeyTestResult {
  ok: boolean;
  /** The provider's HTTP status; null when no answer came. */
  status: number | null;
  latencyMs: number;
  /** The provider's own error message (never the key). */
  error?: string;
}

export interface KeyTestDeps {
  clock: Clock;
  /** The gateway's upstream connection pool. */
  upstream: Dispatcher;
}

/** Tests a key (null: none, for providers whose key is optional) with a cheap authenticated call: the model list. */
export async function testKey(
  provider: ProviderConfig,
  secret: string | null,
  { clock, upstream }: KeyTestDeps,
): Promise<KeyTestResult> {
  const headers: Record<string, string> = {
    accept: "application/json",
    ...(provider.kind === "anthropic" ? { "anthropic-version": "2023-06-01" } : {}),
    ...provider.headers,
    ...(secret === null ? {} : authHeaders(provider, secret)),
  };
  const started = clock.now();
  const elapsed = () => Math.max(0, Math.round(clock.now() - started));
  try {
    const res = await request(upstreamUrl(provider, "models", "", ""), {
      method: "GET",
      headers,
      dispatcher: upstream,
      signal: AbortSignal.timeout(KEY_TEST_TIMEOUT_MS),
    });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return { ok: true, status: res.statusCode, latencyMs: elapsed() };
    }
    const text = await res.body.text();
    return {
      ok: false,
      status: res.statusCode,
      latencyMs: elapsed(),
      error: redact(providerErrorMessage(text, res.statusCode), secret),
    };
  } catch (err) {
    const e = err as Error;
    const message =
      e.name === "TimeoutError" || e.name === "AbortError"
        ? `no answer within ${KEY_TEST_TIMEOUT_MS / 1000} s`
        : `${e.message}${causeOf(e)}`;
    return { ok: false, status: null, latencyMs: elapsed(), error: redact(message, secret) };
  }
}

/** `error.message` of an Anthropic, OpenAI or Gemini error body; else the start of the body. */
function providerErrorMessage(text: string, status: number): string {
  try {
    const body: unknown = JSON.parse(text);
    const first = Array.isArray(body) ? body[0] : body; // Gemini sometimes wraps errors in an array
    if (isRecord(first)) {
      const { error, message } = first;
      if (typeof error === "string") return error;
      if (isRecord(error) && typeof error.message === "string") return error.message;
      if (typeof message === "string") return message;
    }
  } catch {
    // not JSON: use the text
  }
  const trimmed = text.trim().slice(0, 300);
  return trimmed === "" ? `HTTP ${status}` : trimmed;
}

/** Belt and braces: a provider that echoes the key back must not get it into our response. */
function redact(text: string, secret: string | null): string {
  return secret ? text.replaceAll(secret, "[redacted]") : text;
}

/** undici hides the network reason (ECONNREFUSED …) in `cause`. */
function causeOf(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== err.message ? ` (${cause.message})` : "";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
