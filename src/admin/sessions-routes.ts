import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { InvalidCursorError } from "../store/cursor.ts";
import { getSession, type SessionListFilter } from "../store/sessions-repo.ts";
import type { AdminContext } from "./context.ts";
import { sendExactJson, usd } from "./exact-json.ts";
import { cacheHitRatio, sessionListJson, totalsJson } from "./sessions-render.ts";
import { invalidQuery, rangeError, resolveRange, Time } from "./spend-routes.ts";

const Limit = (max: number) =>
  z.string().regex(/^\d+$/, "expected a whole number").transform(Number).pipe(z.number().int().min(1).max(max));

const ListParams = z.strictObject({
  from: Time.optional(),
  to: Time.optional(),
  agent: z.string().optional(),
  key: z.string().optional(),
  team: z.string().optional(),
  customer: z.string().optional(),
  developer: z.string().optional(),
  limit: Limit(500).optional(),
  cursor: z.string().optional(),
});

const DetailParams = z.strictObject({ limit: Limit(10_000).optional() });

/**
 * `GET /api/sessions` (sessions active in [from, to), most recent first, default the last 30 days) and
 * `GET /api/sessions/:id` (one session's whole history). The list page is computed and rendered in the analytics
 * worker (`ctx.analytics`; in-process without one); a session's detail runs its queries in the SQLite worker or on
 * PostgreSQL.
 */
export function registerSessionRoutes(api: FastifyInstance, ctx: AdminContext): void {
  api.get("/sessions", async (req, reply) => {
    const parsed = ListParams.safeParse(req.query);
    if (!parsed.success) return invalidQuery(reply, parsed.error);
    const q = parsed.data;
    const [from, to] = resolveRange(ctx.runtime.clock.now(), q.from, q.to);
    if (from >= to) return rangeError(reply);
    await ctx.logWriter.flush();
    try {
      const filter: SessionListFilter = {
        from,
        to,
        agent: q.agent,
        key: q.key,
        team: q.team,
        customer: q.customer,
        developer: q.developer,
        limit: q.limit ?? 50,
        cursor: q.cursor,
      };
      const body =
        ctx.analytics === undefined
          ? Buffer.from(await sessionListJson(ctx.database.db, filter))
          : await ctx.analytics.sessions(filter);
      return reply.type("application/json; charset=utf-8").send(body);
    } catch (err) {
      if (err instanceof InvalidCursorError) {
        const message = "cursor: invalid; pass nextCursor from the previous page";
        return reply
          .code(400)
          .send({ error: { type: "invalid_request", message, details: [{ path: ["cursor"], message }] } });
      }
      throw err;
    }
  });

  api.get<{ Params: { id: string } }>("/sessions/:id", async (req, reply) => {
    const parsed = DetailParams.safeParse(req.query);
    if (!parsed.success) return invalidQuery(reply, parsed.error);
    await ctx.logWriter.flush();
    const s = await getSession(ctx.database.db, req.params.id, parsed.data.limit ?? 5000);
    if (s === null) {
      return reply
        .code(404)
        .send({ error: { type: "not_found", message: `No session ${JSON.stringify(req.params.id)}.` } });
    }
    return sendExactJson(reply, {
      id: s.id,
      firstSeen: s.totals.firstSeen,
      lastSeen: s.totals.lastSeen,
      durationMs: s.totals.lastSeen - s.totals.firstSeen,
      agent: s.agent,
      agentVersion: s.agentVersion,
      virtualKeyId: s.virtualKeyId,
      teamId: s.teamId,
      customerId: s.customerId,
      developerId: s.developerId,
      totals: totalsJson(s.totals),
      cacheHitRatio: cacheHitRatio(s.totals.tokens),
      wasted: { requests: s.wasted.requests, costNanoUsd: s.wasted.costNanoUsd, costUsd: usd(s.wasted.costNanoUsd) },
      models: s.models.map((m) => ({ ...m, costUsd: usd(m.costNanoUsd) })),
      subagents: s.subagents.map((a) => ({ ...a, costUsd: usd(a.costNanoUsd) })),
      requests: s.requests.map((r) => ({
        ...r,
        model: r.servedModel ?? r.requestedModel,
        costUsd: r.costNanoUsd === null ? null : usd(BigInt(r.costNanoUsd)),
      })),
      requestsTruncated: s.requestsTruncated,
    });
  });
}
