import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { authenticateRequest } from "../governance/authenticate.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import { responsesScope, storedResponseObject } from "../pipeline/stored-responses.ts";

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * The Responses API's retrieve and delete (`GET` / `DELETE /v1/responses/{id}`, also under `/openai`) for the
 * responses the gateway stored itself (pipeline/stored-responses.ts), in the caller's scope. Responses OpenAI stored
 * for passthrough calls are not reachable here: an id the gateway does not hold is a 404 in OpenAI's shape.
 */
export function registerResponsesRoutes(app: FastifyInstance, rt: GatewayRuntime): void {
  for (const prefix of ["", "/openai"]) {
    app.get<{ Params: { id: string } }>(`${prefix}/v1/responses/:id`, async (req, reply) => {
      const found = await lookUp(rt, req);
      if (found === null) return notFound(reply, req.params.id);
      return reply.type("application/json").send(JSON.stringify(storedResponseObject(found)));
    });
    app.get<{ Params: { id: string } }>(`${prefix}/v1/responses/:id/input_items`, async (req, reply) => {
      const found = await lookUp(rt, req);
      if (found === null) return notFound(reply, req.params.id);
      // Newest first, as OpenAI lists them by default (`order=asc` for oldest first); one page.
      const order = (req.query as { order?: string } | undefined)?.order === "asc" ? "asc" : "desc";
      const items = order === "asc" ? found.input : [...found.input].reverse();
      const id = (item: unknown) =>
        typeof item === "object" && item !== null ? ((item as { id?: unknown }).id ?? null) : null;
      return reply.type("application/json").send(
        JSON.stringify({
          object: "list",
          data: items,
          first_id: id(items[0]),
          last_id: id(items.at(-1)),
          has_more: false,
        }),
      );
    });
    app.delete<{ Params: { id: string } }>(`${prefix}/v1/responses/:id`, async (req, reply) => {
      const store = rt.responses;
      const key = authenticateRequest(req.headers, req.url, rt.governance, {
        requirement: rt.config.requireKey,
        host: rt.config.host,
        now: rt.clock.now(),
      });
      const id = req.params.id;
      if (!store || !(await store.delete(responsesScope(key, req.headers), id))) return notFound(reply, id);
      return reply.type("application/json").send(JSON.stringify({ id, object: "response.deleted", deleted: true }));
    });
  }
}

/** The stored response in the caller's scope (authentication errors are thrown, and rendered OpenAI-shaped). */
async function lookUp(rt: GatewayRuntime, req: IdRequest) {
  const key = authenticateRequest(req.headers, req.url, rt.governance, {
    requirement: rt.config.requireKey,
    host: rt.config.host,
    now: rt.clock.now(),
  });
  return rt.responses ? rt.responses.load(responsesScope(key, req.headers), req.params.id) : null;
}

function notFound(reply: FastifyReply, id: string): FastifyReply {
  const body = {
    error: { message: `Response with id '${id}' not found.`, type: "invalid_request_error", param: null, code: null },
  };
  return reply.code(404).type("application/json").send(JSON.stringify(body));
}
