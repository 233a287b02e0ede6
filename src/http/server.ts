import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from "fastify";
import { type ErrorFamily, errorFamilyOf } from "../dialects/dialect.ts";
import { renderError } from "../dialects/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import { rejectModelCall } from "../pipeline/model-call.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import type { RouteConfig } from "./client-routes.ts";

/**
 * The Fastify instance with what every route shares: bodies kept as raw bytes (passthrough forwards them
 * untouched), the body limit, and errors answered in the shape of the route's dialect.
 */
export function createHttpServer(rt: GatewayRuntime): FastifyInstance {
  const app = Fastify({
    bodyLimit: rt.config.maxBodyBytes,
    logger: false,
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: true,
    // Agents keep connections open between turns; outlive common client idle timeouts.
    keepAliveTimeout: 75_000,
    requestTimeout: 0,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const gerr = toGatewayError(err);
    const spec = (req.routeOptions.config as RouteConfig | undefined)?.spec;
    if (spec) return rejectModelCall(rt, spec, req, reply, gerr);
    if (!(err instanceof GatewayError) && gerr.code === "TG_INTERNAL")
      rt.warn(`internal error on ${req.url}: ${err.stack ?? err.message}`);
    const out = renderError(familyForPath(req), gerr);
    return reply.code(out.status).headers(out.headers).type("application/json").send(out.body);
  });

  app.setNotFoundHandler((req, reply) => {
    const out = renderError(
      familyForPath(req),
      new GatewayError("TG_NOT_FOUND", `No route for ${req.method} ${req.url.split("?")[0]}.`),
    );
    return reply.code(out.status).type("application/json").send(out.body);
  });
  return app;
}

function toGatewayError(err: FastifyError): GatewayError {
  if (err instanceof GatewayError) return err;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new GatewayError(
        "TG_BODY_TOO_LARGE",
        `The request body is larger than the gateway's limit (${err.message}).`,
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new GatewayError("TG_UNSUPPORTED_MEDIA_TYPE", "Unsupported content type; send application/json.");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new GatewayError("TG_INVALID_BODY", err.message);
    default:
      if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
        return new GatewayError("TG_INVALID_BODY", err.message);
      }
      return new GatewayError("TG_INTERNAL", "Internal error.");
  }
}

/** Routes without a dialect (404s, the management API) answer in the shape their path suggests. */
function familyForPath(req: FastifyRequest): ErrorFamily {
  const url = req.url;
  if (url.startsWith("/anthropic/") || url.startsWith("/v1/messages")) return errorFamilyOf("anthropic");
  if (url.startsWith("/genai/") || url.startsWith("/v1beta/")) return errorFamilyOf("gemini");
  return "openai";
}
