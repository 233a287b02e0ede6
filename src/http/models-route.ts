import type { FastifyReply, FastifyRequest } from "fastify";
import { request } from "undici";
import type { Dialect } from "../dialects/dialect.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import { authHeaders, upstreamUrl } from "../providers/endpoints.ts";
import type { ProviderConfig } from "../providers/types.ts";

interface ListedModel {
  id: string;
  provider: string;
}

const CACHE_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 5_000;
const cache = new WeakMap<ProviderConfig, { at: number; ids: string[] }>();

/**
 * The models a client can call on this route: every provider speaking the route's dialect, from its declared
 * `models` plus its own models endpoint (cached, 5 s timeout, failures ignored). Models of providers other than the
 * dialect's home provider are listed as `provider/model`, the form that selects them explicitly.
 */
export async function listModels(
  rt: GatewayRuntime,
  dialect: Dialect,
  _req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const providers = rt.registry.list().filter((p) => p.dialects.includes(dialect));
  const home = dialect === "anthropic" ? "anthropic" : dialect === "gemini" ? "gemini" : "openai";
  const lists = await Promise.all(providers.map((p) => providerModels(rt, p)));
  const models: ListedModel[] = [];
  const seen = new Set<string>();
  providers.forEach((p, i) => {
    for (const id of lists[i] ?? []) {
      const name = p.name === home ? id : `${p.name}/${id}`;
      if (seen.has(name)) continue;
      seen.add(name);
      models.push({ id: name, provider: p.name });
    }
  });
  reply.header("content-type", "application/json");
  if (dialect === "anthropic") {
    return reply.send({
      data: models.map((m) => ({ type: "model", id: m.id, display_name: m.id, created_at: "1970-01-01T00:00:00Z" })),
      has_more: false,
      first_id: models[0]?.id ?? null,
      last_id: models.at(-1)?.id ?? null,
    });
  }
  if (dialect === "gemini") {
    return reply.send({
      models: models.map((m) => ({
        name: `models/${m.id}`,
        displayName: m.id,
        supportedGenerationMethods: ["generateContent", "countTokens"],
      })),
    });
  }
  return reply.send({
    object: "list",
    data: models.map((m) => ({ id: m.id, object: "model", created: 0, owned_by: m.provider })),
  });
}

async function providerModels(rt: GatewayRuntime, p: ProviderConfig): Promise<string[]> {
  const cached = cache.get(p);
  if (cached && rt.clock.now() - cached.at < CACHE_MS) return cached.ids;
  const ids = new Set(p.models);
  const key = p.keys[0];
  if (key || p.keyOptional) {
    try {
      const res = await request(upstreamUrl(p, "models", "", ""), {
        method: "GET",
        headers: {
          ...p.headers,
          ...(key ? authHeaders(p, key.secret) : {}),
          ...(p.kind === "anthropic" ? { "anthropic-version": "2023-06-01" } : {}),
        },
        dispatcher: rt.upstream,
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      const body: unknown = await res.body.json();
      if (res.statusCode < 300) for (const id of modelIds(body)) ids.add(id);
    } catch {
      // A provider whose list cannot be fetched still serves its declared models.
    }
  }
  const list = [...ids];
  cache.set(p, { at: rt.clock.now(), ids: list });
  return list;
}

/** Ids from an OpenAI/Anthropic `{data:[{id}]}` or Gemini `{models:[{name:"models/…"}]}` list. */
function modelIds(body: unknown): string[] {
  if (typeof body !== "object" || body === null) return [];
  const { data, models } = body as { data?: unknown; models?: unknown };
  const out: string[] = [];
  if (Array.isArray(data)) for (const m of data) if (typeof m?.id === "string") out.push(m.id);
  if (Array.isArray(models)) {
    for (const m of models) if (typeof m?.name === "string") out.push(m.name.replace(/^models\//, ""));
  }
  return out;
}
