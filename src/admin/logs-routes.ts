import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { InvalidCursorError } from "../store/cursor.ts";
import { getLog, queryLogs } from "../store/logs-repo.ts";
import type { Db } from "../store/schema.ts";

const Time = z.union([
  z.coerce.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

const LogsQuery = z.strictObject({
  from: Time.optional(),
  to: Time.optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  session: z.string().optional(),
  agent: z.string().optional(),
  status: z.union([z.enum(["ok", "error"]), z.coerce.number().int().min(100).max(599)]).optional(),
  /** `name:value` */
  label: z
    .string()
    .regex(/^[^:]+:.*$/, "label filter is name:value")
    .transform((s) => ({ name: s.slice(0, s.indexOf(":")), value: s.slice(s.indexOf(":") + 1) }))
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().optional(),
});

/** `GET /api/logs` (filters, newest first, cursor pagination) and `GET /api/logs/:id`. */
export function registerLogRoutes(api: FastifyInstance, db: Db, flush: () => Promise<void>): void {
  api.get("/logs", async (req, reply) => {
    const parsed = LogsQuery.safeParse(req.query);
    if (!parsed.success) {
      return reply.code(400).send({ error: { type: "invalid_request", message: z.prettifyError(parsed.error) } });
    }
    const q = parsed.data;
    // Reads see what was answered a moment ago: flush the batch writer first (cheap when it is empty).
    await flush();
    try {
      return await queryLogs(db, {
        from: q.from,
        to: q.to,
        provider: q.provider,
        model: q.model,
        sessionId: q.session,
        agent: q.agent,
        status: q.status,
        label: q.label,
        limit: q.limit,
        cursor: q.cursor,
      });
    } catch (err) {
      if (err instanceof InvalidCursorError) {
        return reply.code(400).send({
          error: { type: "invalid_request", message: "Invalid cursor: pass nextCursor from the previous page." },
        });
      }
      throw err;
    }
  });

  api.get<{ Params: { id: string } }>("/logs/:id", async (req, reply) => {
    await flush();
    const row = await getLog(db, req.params.id);
    if (!row) return reply.code(404).send({ error: { type: "not_found", message: `No log row ${req.params.id}.` } });
    return row;
  });
}
