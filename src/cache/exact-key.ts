import { createHash } from "node:crypto";
import type { CanonicalPart, CanonicalRequest, CanonicalTextPart } from "../translate/canonical.ts";
import type { ChatDialect } from "../translate/index.ts";
import { clientTranslatorFor } from "../translate/index.ts";

const BILLING_PREFIX = "x-anthropic-billing-header:";
/** Claude Code's per-request attribution nonce inside the billing header block; it changes on every call. */
const NONCE = /\s*cch=[^;]*;?/g;

/**
 * The exact-cache key of a request: SHA-256 over its canonical form with volatile parts removed (stream flag,
 * metadata/user, the attribution nonce). Canonical means the same request from another dialect hashes the same.
 * `upstreamModel`: the resolved model actually served (aliases collapse onto one entry).
 */
export function exactKeyOfCanonical(request: CanonicalRequest, upstreamModel: string): string {
  const normalised = {
    v: 1,
    model: upstreamModel,
    system: request.system.map(stripNonce),
    messages: request.messages.map((m) => ({ role: m.role, content: m.content.map(partKey) })),
    tools: request.tools,
    toolChoice: request.toolChoice,
    parallelToolCalls: request.parallelToolCalls,
    maxOutputTokens: request.maxOutputTokens,
    temperature: request.temperature,
    topP: request.topP,
    topK: request.topK,
    stop: request.stop,
    reasoning: request.reasoning,
    responseFormat: request.responseFormat,
  };
  return createHash("sha256").update(JSON.stringify(normalised)).digest("hex");
}

/**
 * The exact key of a client body in `dialect`; throws (TranslationError) when it cannot be read. A body the canonical
 * form cannot carry whole (any translation warning: a dropped field, content part or option) is keyed on its own
 * normalised JSON instead, so what the canonical form lost still tells requests apart (no cross-dialect sharing then).
 */
export function exactKey(dialect: ChatDialect, body: unknown, upstreamModel: string): string {
  // Volatile fields go before translation, so a warning about one (Chat's `metadata`) does not force the raw key.
  const trimmed = withoutFields(body, ["metadata", "user", "stream_options"]);
  const canonical = clientTranslatorFor(dialect, trimmed).requestToCanonical(trimmed);
  if (canonical.warnings.length === 0) return exactKeyOfCanonical(canonical.value, upstreamModel);
  const raw = { v: 1, dialect, model: upstreamModel, body: normaliseRaw(dialect, body) };
  return createHash("sha256").update(JSON.stringify(raw)).digest("hex");
}

function withoutFields(body: unknown, fields: readonly string[]): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...body };
  for (const f of fields) delete copy[f];
  return copy;
}

/** Volatile top-level fields; the model is keyed as resolved. */
const VOLATILE = new Set(["model", "stream", "stream_options", "metadata", "user"]);

function normaliseRaw(dialect: ChatDialect, body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (VOLATILE.has(k)) continue;
    out[k] = dialect === "anthropic" && k === "system" ? stripSystemNonce(v) : withoutCacheControl(v);
  }
  return out;
}

function stripSystemNonce(system: unknown): unknown {
  if (typeof system === "string") return system.startsWith(BILLING_PREFIX) ? system.replace(NONCE, "") : system;
  if (!Array.isArray(system)) return withoutCacheControl(system);
  return system.map((block: unknown) => {
    const b = withoutCacheControl(block);
    if (typeof b === "object" && b !== null && typeof (b as { text?: unknown }).text === "string") {
      const text = (b as { text: string }).text;
      if (text.startsWith(BILLING_PREFIX)) return { ...b, text: text.replace(NONCE, "") };
    }
    return b;
  });
}

/** Prompt-cache breakpoints change billing, not the answer. */
function withoutCacheControl(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCacheControl);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== "cache_control") out[k] = withoutCacheControl(v);
  return out;
}

function stripNonce(part: CanonicalTextPart): CanonicalTextPart {
  if (!part.text.startsWith(BILLING_PREFIX)) return { type: "text", text: part.text };
  return { type: "text", text: part.text.replace(NONCE, "") };
}

/** Parts as hashed: text blocks of the user turn carry no markers in canonical form; reasoning proofs are opaque. */
function partKey(part: CanonicalPart): unknown {
  if (part.type === "text") return stripNonce(part);
  if (part.type === "reasoning") return { type: "reasoning", text: part.text };
  return part;
}
