import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isObject } from "../dialects/shared/narrow.ts";
import type { NormalisedBody, RouteSpec } from "../pipeline/ingress.ts";
import { handleModelCall } from "../pipeline/model-call.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import { anthropicModelName } from "../providers/bedrock/models.ts";
import { applyModelAlias } from "../routing/aliases.ts";
import type { RouteConfig } from "./client-routes.ts";

type BedrockRequest = FastifyRequest<{ Params: { model: string } }>;

const INVOKE: RouteSpec = { dialect: "anthropic", op: "messages", eventStream: "chunk" };
const CONVERSE: RouteSpec = { dialect: "bedrock-converse", op: "converse", eventStream: "event" };
const CONVERSE_STREAM: RouteSpec = { dialect: "bedrock-converse", op: "converse-stream", eventStream: "event" };

/** The Messages API version Tollgate speaks to Anthropic when a Bedrock client named none. */
const ANTHROPIC_VERSION = "2023-06-01";

/**
 * The AWS Bedrock runtime API, for clients in Bedrock mode (Claude Code's `CLAUDE_CODE_USE_BEDROCK` with
 * `ANTHROPIC_BEDROCK_BASE_URL=<gateway>/bedrock`, the AWS SDKs with an endpoint override):
 * `/model/{model}/invoke` and `/invoke-with-response-stream` take Anthropic Messages bodies (InvokeModel) and are
 * served as Messages calls; `/converse` and `/converse-stream` speak Converse. Streams are answered as AWS event
 * streams (pipeline/model-call.ts wraps the response). Mounted under `/bedrock` and at the root.
 */
export function registerBedrockRoutes(app: FastifyInstance, rt: GatewayRuntime): void {
  for (const prefix of ["/bedrock", ""]) {
    const route = (action: string, spec: RouteSpec, handler: (req: BedrockRequest, reply: FastifyReply) => unknown) =>
      app.post<{ Params: { model: string } }>(
        `${prefix}/model/:model/${action}`,
        { config: { spec } satisfies RouteConfig },
        handler,
      );
    route("invoke", INVOKE, (req, reply) => invokeCall(rt, req, reply, false));
    route("invoke-with-response-stream", INVOKE, (req, reply) => invokeCall(rt, req, reply, true));
    route("converse", CONVERSE, (req, reply) =>
      handleModelCall(rt, CONVERSE, req, reply, clientModel(rt, req.params.model, "bedrock-converse")),
    );
    route("converse-stream", CONVERSE_STREAM, (req, reply) =>
      handleModelCall(rt, CONVERSE_STREAM, req, reply, clientModel(rt, req.params.model, "bedrock-converse")),
    );
  }
}

/**
 * The model a Bedrock client names, as the gateway should resolve it: the Bedrock id when a provider (or an alias)
 * takes it, else for a Claude id the Anthropic API's name (`us.anthropic.claude-sonnet-4-5-20250929-v1:0` →
 * `claude-sonnet-4-5-20250929`), so Claude Code in Bedrock mode works with only an Anthropic key behind the gateway.
 */
export function clientModel(rt: GatewayRuntime, model: string, dialect: "anthropic" | "bedrock-converse"): string {
  if (applyModelAlias(model, null, rt.config.aliases).hit !== null || resolves(rt, model, dialect)) return model;
  const name = anthropicModelName(model);
  return name !== null && resolves(rt, name, dialect) ? name : model;
}

function resolves(rt: GatewayRuntime, model: string, dialect: "anthropic" | "bedrock-converse"): boolean {
  try {
    rt.registry.resolve(model, dialect);
    return true;
  } catch {
    return false;
  }
}

function invokeCall(rt: GatewayRuntime, req: BedrockRequest, reply: FastifyReply, stream: boolean): Promise<void> {
  const model = clientModel(rt, req.params.model, "anthropic");
  const spec: RouteSpec = { ...INVOKE, normaliseBody: (raw) => invokeToMessages(raw, model, stream, req.headers) };
  return handleModelCall(rt, spec, req, reply, null);
}

/**
 * An InvokeModel body → the Messages request it stands for: the model from the path and `stream` from the route go
 * in; `anthropic_version` comes out (the Messages API takes its version as a header) and `anthropic_beta` becomes
 * the `anthropic-beta` header. Every other field passes as it is. Null (a body that is not a JSON object): ingress
 * rejects it in the usual words.
 */
export function invokeToMessages(
  raw: Buffer,
  model: string,
  stream: boolean,
  headers: IncomingHttpHeaders,
): NormalisedBody | null {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return null;
  }
  if (!isObject(json)) return null;
  const { anthropic_version: version, anthropic_beta: betas, model: _model, stream: _stream, ...rest } = json;
  const body: Record<string, unknown> = { model, ...rest };
  if (stream) body.stream = true;
  if (headers["anthropic-version"] === undefined) {
    headers["anthropic-version"] = ANTHROPIC_VERSION;
  }
  const warnings: string[] = [];
  if (version !== undefined && version !== "bedrock-2023-05-31") {
    warnings.push(`anthropic_version "${String(version)}" is not Bedrock's; the Messages API version was used`);
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
