import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { CelCompileError, compileExpression } from "../routing/rules/cel.ts";
import { RuleError, routingRulesOf } from "../routing/rules/index.ts";
import { RuleCreateSchema, RulePatchSchema, ValidateSchema } from "../routing/rules/schemas.ts";
import type { RoutingInput } from "../routing/rules/types.ts";
import type { AdminContext } from "./context.ts";
import { invalid, replyError } from "./provider-replies.ts";

interface IdParams {
  Params: { id: string };
}

const ExplainSchema = z.strictObject({
  model: z.string().min(1),
  provider: z.string().min(1).nullable().optional(),
  /** A virtual key id (vk_…). */
  key: z.string().min(1).nullable().optional(),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  agent: z.string().nullable().optional(),
  session_id: z.string().nullable().optional(),
  estimated_input_tokens: z.number().int().min(0).optional(),
  has_tools: z.boolean().optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});

/**
 * `/api/routing-rules` (CRUD; rules from the config file are read-only: 409), `/api/routing-rules/validate` and
 * `/api/routing/explain` (which rule a request would take, every candidate evaluated, and the variables seen).
 * Every write answers once this process's router has the change, and tells the other processes.
 */
export function registerRoutingRoutes(api: FastifyInstance, ctx: AdminContext): void {
  const manager = () => {
    const rules = routingRulesOf(ctx.runtime);
    if (!rules) throw new Error("routing rules are not wired into this gateway");
    return rules;
  };

  api.get("/routing-rules", async () => ({ data: await manager().repo.list() }));
  api.post("/routing-rules", (req, reply) =>
    run(reply, async () => {
      const body = objectBody(reply, req.body, "Invalid routing rule");
      if (body === undefined) return reply;
      const parsed = RuleCreateSchema.safeParse(body);
      if (!parsed.success) return invalid(reply, "Invalid routing rule", parsed.error);
      const rule = await manager().repo.create(parsed.data);
      await manager().changed();
      return reply.code(201).send(rule);
    }),
  );
  api.post("/routing-rules/validate", async (req, reply) => {
    const parsed = ValidateSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(reply, "Invalid validation request", parsed.error);
    try {
      compileExpression(parsed.data.expression);
      return { valid: true };
    } catch (error) {
      if (!(error instanceof CelCompileError)) throw error;
      return { valid: false, error: error.message, position: error.position };
    }
  });
  api.get<IdParams>("/routing-rules/:id", (req, reply) =>
    run(reply, async () => {
      const rule = await manager().repo.get(req.params.id);
      return rule ?? replyError(reply, 404, "not_found", `No routing rule "${req.params.id}".`);
    }),
  );
  api.patch<IdParams>("/routing-rules/:id", (req, reply) =>
    run(reply, async () => {
      const body = objectBody(reply, req.body, "Invalid routing rule change");
      if (body === undefined) return reply;
      const parsed = RulePatchSchema.safeParse(body);
      if (!parsed.success) return invalid(reply, "Invalid routing rule change", parsed.error);
      const rule = await manager().repo.update(req.params.id, parsed.data);
      await manager().changed();
      return rule;
    }),
  );
  api.delete<IdParams>("/routing-rules/:id", (req, reply) =>
    run(reply, async () => {
      await manager().repo.delete(req.params.id);
      await manager().changed();
      return { deleted: req.params.id };
    }),
  );

  api.post("/routing/explain", (req, reply) =>
    run(reply, async () => {
      const body = objectBody(reply, req.body, "Invalid explain request");
      if (body === undefined) return reply;
      const parsed = ExplainSchema.safeParse(body);
      if (!parsed.success) return invalid(reply, "Invalid explain request", parsed.error);
      const q = parsed.data;
      let key = null;
      if (q.key != null) {
        key = ctx.runtime.governance.byId.get(q.key) ?? null;
        if (key === null) return replyError(reply, 404, "not_found", `No virtual key "${q.key}".`);
      }
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(q.headers ?? {})) headers[name.toLowerCase()] = value;
      const input: RoutingInput = {
        model: q.model,
        provider: q.provider ?? null,
        headers,
        key,
        agent: q.agent ?? null,
        sessionId: q.session_id ?? null,
        estimatedInputTokens: q.estimated_input_tokens ?? 0,
        hasTools: q.has_tools ?? false,
        now: q.at === undefined ? ctx.runtime.clock.now() : Date.parse(q.at),
      };
      await manager().freshen();
      return ctx.runtime.router.explain(input);
    }),
  );
}

async function run<T>(reply: FastifyReply, handler: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await handler();
  } catch (err) {
    if (!(err instanceof RuleError)) throw err;
    const status = err.kind === "invalid" ? 400 : err.kind === "not_found" ? 404 : 409;
    const type = err.kind === "invalid" ? "invalid_request" : err.kind;
    return replyError(reply, status, type, err.message);
  }
}

/** The body as an object, or undefined after a 400 (a clearer message than zod's for a missing body). */
function objectBody(reply: FastifyReply, body: unknown, what: string): object | undefined {
  if (typeof body === "object" && body !== null && !Array.isArray(body)) return body;
  replyError(reply, 400, "invalid_request", `${what}: the request body must be a JSON object.`);
  return undefined;
}
