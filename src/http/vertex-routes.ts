import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isObject } from "../dialects/shared/narrow.ts";
import { GatewayError } from "../errors/catalog.ts";
import type { NormalisedBody, RouteSpec } from "../pipeline/ingress.ts";
import { handleModelCall, rejectModelCall } from "../pipeline/model-call.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import type { ProviderConfig } from "../providers/types.ts";
import { VERTEX_ANTHROPIC_VERSION } from "../providers/vertex.ts";
import { applyModelAlias } from "../routing/aliases.ts";
import type { RouteConfig } from "./client-routes.ts";

type VertexRequest = FastifyRequest<{ Params: { "*": string } }>;

const RAW_PREDICT: RouteSpec = { dialect: "anthropic", op: "messages" };
const COUNT_TOKENS: RouteSpec = { dialect: "anthropic", op: "count_tokens" };

/** The Messages API version used upstream when the client named none (or Vertex's own body version). */
const ANTHROPIC_VERSION = "2023-06-01";

/** `[v1|v1beta1/]projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}` */
const VERTEX_PATH = /^(?:v1(?:beta1)?\/)?projects\/([^/]+)\/locations\/([^/]+)\/publishers\/([^/]+)\/models\/([^/]+)$/;

/**
 * Vertex AI's Anthropic publisher, for clients in Vertex mode (Claude Code's `CLAUDE_CODE_USE_VERTEX` with
 * `ANTHROPIC_VERTEX_BASE_URL=<gateway>/vertex/v1` and `CLAUDE_CODE_SKIP_VERTEX_AUTH=1`; `@anthropic-ai/vertex-sdk`):
 * `…/publishers/anthropic/models/{model}:rawPredict|:streamRawPredict` and `…/models/count-tokens:rawPredict`. The
 * bodies are Messages bodies (model in the path, `anthropic_version` in the body), so these are the Anthropic
 * dialect with the body normalised, served by whichever provider the model resolves to. Project and region are the
 * client's business: the provider's own settings are used upstream. Mounted under `/vertex` and at `/v1/projects`.
 * A virtual key travels in `x-tollgate-key` (Claude Code: `ANTHROPIC_CUSTOM_HEADERS`) or as the bearer token.
 */
export function registerVertexRoutes(app: FastifyInstance, rt: GatewayRuntime): void {
  const route = (url: string, rest: (req: VertexRequest) => string) =>
    app.post<{ Params: { "*": string } }>(url, { config: { spec: RAW_PREDICT } satisfies RouteConfig }, (req, reply) =>
      vertexCall(rt, rest(req), req, reply),
    );
  route("/vertex/*", (req) => req.params["*"]);
  route("/v1/projects/*", (req) => `projects/${req.params["*"]}`);
}

function vertexCall(rt: GatewayRuntime, rest: string, req: VertexRequest, reply: FastifyReply): Promise<void> {
  const match = VERTEX_PATH.exec(rest);
  const [, , , publisher = "", action = ""] = match ?? [];
  const colon = action.lastIndexOf(":");
  const model = colon > 0 ? decodeURIComponent(action.slice(0, colon)) : "";
  const method = colon > 0 ? action.slice(colon + 1) : "";
  if (publisher === "anthropic" && model === "count-tokens" && method === "rawPredict") {
    const spec: RouteSpec = {
      ...COUNT_TOKENS,
      normaliseBody: (raw) => vertexToMessages(raw, { kind: "count", rt }, req.headers),
    };
    return handleModelCall(rt, spec, req, reply, null);
  }
  if (publisher === "anthropic" && (method === "rawPredict" || method === "streamRawPredict")) {
    const target = vertexClientModel(rt, model);
    const stream = method === "streamRawPredict";
    const spec: RouteSpec = {
      ...RAW_PREDICT,
      normaliseBody: (raw) => vertexToMessages(raw, { kind: "predict", model: target, stream }, req.headers),
    };
    return handleModelCall(rt, spec, req, reply, null);
  }
  const what = match === null ? `/${rest}` : `publishers/${publisher}/models/${model || action}:${method}`;
  return rejectModelCall(
    rt,
    RAW_PREDICT,
    req,
    reply,
    new GatewayError(
      "TG_NOT_FOUND",
      `Unsupported Vertex AI path "${what}". Supported: projects/{project}/locations/{region}/publishers/anthropic/` +
        "models/{model}:rawPredict, :streamRawPredict, and models/count-tokens:rawPredict.",
    ),
  );
}

/**
 * The Anthropic API's name for a Vertex Claude id: `claude-sonnet-4-5@20250929` → `claude-sonnet-4-5-20250929`,
 * `claude-3-5-sonnet-v2@20241022` → `claude-3-5-sonnet-20241022`; an id without a date (`claude-opus-4-6`) is the
 * same on both. Null for a model that is not Claude.
 */
export function anthropicNameOfVertexModel(model: string): string | null {
  if (!model.startsWith("claude-")) return null;
  const dated = /^(.+?)(?:-v\d+)?@(\d{8})$/.exec(model);
  if (dated) return `${dated[1]}-${dated[2]}`;
  const at = model.indexOf("@");
  return at < 0 ? model : model.slice(0, at);
}

/**
 * The model a Vertex client names, as the gateway should resolve it: the Vertex id when an alias takes it or it
 * resolves to a Vertex provider; else the Anthropic API's name when that resolves (Claude Code in Vertex mode works
 * with only an Anthropic key behind the gateway); else the id on the first Vertex provider, when there is one (a
 * Vertex provider serves any Claude id without declaring it); else the id as it is (the usual unknown-model error).
 */
export function vertexClientModel(rt: GatewayRuntime, model: string): string {
  if (applyModelAlias(model, null, rt.config.aliases).hit !== null) return model;
  const direct = resolvedProvider(rt, model);
  if (direct?.kind === "vertex") return model;
  const name = anthropicNameOfVertexModel(model);
  if (name !== null && name !== model && resolvedProvider(rt, name) !== null) return name;
  if (direct !== null) return model;
  const vertex = rt.registry.list().find((p) => p.kind === "vertex");
  return vertex ? `${vertex.name}/${model}` : model;
}

function resolvedProvider(rt: GatewayRuntime, model: string): ProviderConfig | null {
  try {
    return rt.registry.resolve(model, "anthropic").provider;
  } catch {
    return null;
  }
}

type VertexBody = { kind: "predict"; model: string; stream: boolean } | { kind: "count"; rt: GatewayRuntime };

/**
 * A rawPredict body → the Messages request it stands for: the model from the path (count-tokens: the body's model,
 * mapped like a path model) and `stream` from the method go in; `anthropic_version` comes out (the Messages API takes
 * its version as a header: Vertex's own value means the default, a dated one — what @anthropic-ai/vertex-sdk puts
 * there — is used as the header) and `anthropic_beta` joins the `anthropic-beta` header. Every other field passes as
 * it is. Null (a body that is not a JSON object): ingress rejects it in the usual words.
 */
export function vertexToMessages(raw: Buffer, target: VertexBody, headers: IncomingHttpHeaders): NormalisedBody | null {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return null;
  }
  if (!isObject(json)) return null;
  const { anthropic_version: version, anthropic_beta: betas, model: bodyModel, stream: _stream, ...rest } = json;
  const body: Record<string, unknown> = {};
  if (target.kind === "predict") body.model = target.model;
  else if (typeof bodyModel === "string") body.model = vertexClientModel(target.rt, bodyModel);
  else if (bodyModel !== undefined) body.model = bodyModel;
  Object.assign(body, rest);
  if (target.kind === "predict" && target.stream) body.stream = true;
  const warnings: string[] = [];
  if (headers["anthropic-version"] === undefined) {
    headers["anthropic-version"] =
      typeof version === "string" && /^\d{4}-\d{2}-\d{2}$/.test(version) ? version : ANTHROPIC_VERSION;
  }
  if (version !== undefined && version !== VERTEX_ANTHROPIC_VERSION && version !== headers["anthropic-version"]) {
    warnings.push(`anthropic_version "${String(version)}" is not Vertex's; the Messages API version was used`);
  }
  if (Array.isArray(betas)) {
    const existing = headers["anthropic-beta"];
    const list = [...(typeof existing === "string" ? existing.split(",") : []), ...betas.map(String)]
      .map((b) => b.trim())
      .filter(Boolean);
    if (list.length > 0) headers["anthropic-beta"] = [...new Set(list)].join(",");
  }
  return { raw: Buffer.from(JSON.stringify(body)), warnings };
}
