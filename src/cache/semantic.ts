import { createHash } from "node:crypto";
import type { ProviderRegistry } from "../providers/registry.ts";
import type { CanonicalRequest } from "../translate/canonical.ts";
import type { ChatDialect } from "../translate/index.ts";
import { clientTranslatorFor } from "../translate/index.ts";
import { exactKeyOfCanonical } from "./exact-key.ts";

/** The semantic layer's settings (config `cache.semantic`). */
export interface SemanticConfig {
  /** `provider/model` of an OpenAI-compatible embeddings endpoint (`POST {baseUrl}/embeddings`). */
  embeddingModel: string;
  /** Cosine similarity at or above which a neighbour is served (`x-tollgate-cache-threshold` overrides). */
  threshold: number;
  /** Serve requests whose temperature is above 0 (or unset: the providers' default is 1). */
  allowTemperature: boolean;
  /** Serve requests whose last turn carries tool results. */
  allowToolResults: boolean;
}

/** What the semantic layer matches on: the last user turn's text, within an exact context. */
export interface SemanticQuery {
  /** Exact key of the request without its last user turn (model, system, tools, parameters, earlier turns). */
  contextKey: string;
  text: string;
}

/**
 * The semantic query of a client body, or null when the request may not be served semantically: unreadable or not
 * carried whole by the canonical form, last turn not a user text turn, tool results (unless allowed), temperature
 * above 0 (unless allowed).
 */
export function semanticQuery(
  dialect: ChatDialect,
  body: unknown,
  upstreamModel: string,
  config: SemanticConfig,
): SemanticQuery | null {
  let request: CanonicalRequest;
  try {
    const trimmed = withoutVolatile(body);
    const canonical = clientTranslatorFor(dialect, trimmed).requestToCanonical(trimmed);
    if (canonical.warnings.length > 0) return null;
    request = canonical.value;
  } catch {
    return null;
  }
  const last = request.messages.at(-1);
  if (last?.role !== "user") return null;
  const texts: string[] = [];
  for (const part of last.content) {
    if (part.type === "text") texts.push(part.text);
    else if (part.type === "tool-result" && config.allowToolResults) {
      for (const c of part.content) if (c.type === "text") texts.push(c.text);
    } else return null;
  }
  if (!config.allowTemperature && (request.temperature === null || request.temperature > 0)) return null;
  const text = texts.join("\n").trim();
  if (text === "") return null;
  const context = exactKeyOfCanonical({ ...request, messages: request.messages.slice(0, -1) }, upstreamModel);
  return { contextKey: createHash("sha256").update(`semantic\u0000${context}`).digest("hex"), text };
}

function withoutVolatile(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const { metadata: _m, user: _u, stream_options: _s, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * Embeds `text` with `model` (`provider/model`, or a bare model the registry resolves) through the provider's
 * OpenAI-compatible `POST {baseUrl}/embeddings`. Throws on any failure (the caller then skips the semantic layer).
 */
export async function embed(registry: ProviderRegistry, model: string, text: string): Promise<Float32Array> {
  const resolution = registry.resolve(model, "openai-embeddings");
  const provider = resolution.provider;
  const key = registry.nextKey(provider);
  const res = await fetch(`${provider.baseUrl.replace(/\/+$/, "")}/embeddings`, {
    method: "POST",
    headers: {
      ...provider.headers,
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key.secret}` } : {}),
    },
    body: JSON.stringify({ model: resolution.upstreamModel, input: text }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`embeddings endpoint answered ${res.status}`);
  const json = (await res.json()) as { data?: Array<{ embedding?: unknown }> };
  const embedding = json.data?.[0]?.embedding;
  if (!Array.isArray(embedding) || embedding.length === 0 || !embedding.every((x) => typeof x === "number")) {
    throw new Error("embeddings endpoint returned no vector");
  }
  return Float32Array.from(embedding as number[]);
}
