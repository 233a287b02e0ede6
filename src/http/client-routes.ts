import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "../errors/catalog.ts";
import type { RouteSpec } from "../pipeline/ingress.ts";
import { handleModelCall, rejectModelCall } from "../pipeline/model-call.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import { registerBedrockRoutes } from "./bedrock-routes.ts";
import { normaliseCursorBody } from "./cursor-body.ts";
import { listModels } from "./models-route.ts";
import { registerVertexRoutes } from "./vertex-routes.ts";

/** Fastify route config: lets the error handler answer in the route's dialect. */
export interface RouteConfig {
  spec?: RouteSpec;
}

const ANTHROPIC_MESSAGES: RouteSpec = { dialect: "anthropic", op: "messages" };
const ANTHROPIC_COUNT: RouteSpec = { dialect: "anthropic", op: "count_tokens" };
const OPENAI_CHAT: RouteSpec = { dialect: "openai-chat", op: "chat" };
const CURSOR_CHAT: RouteSpec = { dialect: "openai-chat", op: "chat", normaliseBody: normaliseCursorBody };
const OPENAI_RESPONSES: RouteSpec = { dialect: "openai-responses", op: "responses" };
const OPENAI_EMBEDDINGS: RouteSpec = { dialect: "openai-embeddings", op: "embeddings" };
const GEMINI_GENERATE: RouteSpec = { dialect: "gemini", op: "generateContent" };
const GEMINI_API_VERSIONS = ["v1beta", "v1", "v1alpha"] as const;

/**
 * The client routes of DESIGN.md. Each dialect is mounted under its own prefix (`/anthropic`, `/openai`, `/genai`)
 * and, where paths cannot collide, also at the root, so a base URL without the prefix works too.
 */
export function registerClientRoutes(app: FastifyInstance, rt: GatewayRuntime): void {
  const post = (url: string, spec: RouteSpec) =>
    app.post<{ Params: Record<string, string> }>(url, { config: { spec } satisfies RouteConfig }, (req, reply) =>
      handleModelCall(rt, spec, req, reply, null),
    );

  for (const prefix of ["/anthropic", ""]) {
    post(`${prefix}/v1/messages`, ANTHROPIC_MESSAGES);
    post(`${prefix}/v1/messages/count_tokens`, ANTHROPIC_COUNT);
  }
  app.get("/anthropic/v1/models", (req, reply) => listModels(rt, "anthropic", req, reply));

  for (const prefix of ["", "/openai"]) {
    post(`${prefix}/v1/chat/completions`, OPENAI_CHAT);
    post(`${prefix}/v1/responses`, OPENAI_RESPONSES);
    post(`${prefix}/v1/embeddings`, OPENAI_EMBEDDINGS);
    app.get(`${prefix}/v1/models`, (req, reply) => listModels(rt, "openai-chat", req, reply));
  }
  // Cursor posts to {base}/chat/completions from its own servers; a separate base path keeps its quirks apart
  // (Responses-shaped bodies, http/cursor-body.ts). `/cursor` works as a base URL too, as on other gateways.
  for (const prefix of ["/cursor/v1", "/cursor"]) {
    post(`${prefix}/chat/completions`, CURSOR_CHAT);
    app.get(`${prefix}/models`, (req, reply) => listModels(rt, "openai-chat", req, reply));
  }

  // AWS Bedrock's runtime API (Claude Code's Bedrock mode, the AWS SDKs): http/bedrock-routes.ts.
  registerBedrockRoutes(app, rt);
  // Vertex AI's Anthropic publisher (Claude Code's Vertex mode, @anthropic-ai/vertex-sdk): http/vertex-routes.ts.
  registerVertexRoutes(app, rt);

  // The Google SDKs call v1beta by default and v1 / v1alpha when asked; the version is passed on upstream.
  for (const prefix of ["/genai", ""]) {
    for (const version of GEMINI_API_VERSIONS) {
      app.post<{ Params: { "*": string } }>(
        `${prefix}/${version}/models/*`,
        { config: { spec: GEMINI_GENERATE } satisfies RouteConfig },
        (req, reply) => geminiCall(rt, version, req, reply),
      );
      // At the root, GET /v1/models is OpenAI's list.
      if (prefix !== "" || version === "v1beta") {
        app.get(`${prefix}/${version}/models`, (req, reply) => listModels(rt, "gemini", req, reply));
      }
    }
  }
}

/** Gemini puts model and method in the path: `/v1beta/models/{model}:{method}`. */
function geminiCall(
  rt: GatewayRuntime,
  version: string,
  req: FastifyRequest<{ Params: { "*": string } }>,
  reply: FastifyReply,
): Promise<void> {
  const action = req.params["*"];
  const colon = action.lastIndexOf(":");
  const model = colon > 0 ? decodeURIComponent(action.slice(0, colon)) : "";
  const method = colon > 0 ? action.slice(colon + 1) : "";
  if (method === "generateContent" || method === "streamGenerateContent" || method === "countTokens") {
    return handleModelCall(rt, { dialect: "gemini", op: method, apiVersion: version }, req, reply, model);
  }
  return rejectModelCall(
    rt,
    GEMINI_GENERATE,
    req,
    reply,
    new GatewayError(
      "TG_NOT_FOUND",
      `Unsupported Gemini method "${method || action}". Supported: generateContent, streamGenerateContent, countTokens.`,
    ),
  );
}
