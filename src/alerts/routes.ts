import type { FastifyInstance } from "fastify";
import type { AdminContext } from "../admin/context.ts";
import { invalid, replyError } from "../admin/provider-replies.ts";
import { formatNanoUsd } from "../metering/pricing/decimal.ts";
import { forecastView } from "./dispatcher.ts";
import { WebhookCreateSchema, WebhookPatchSchema, WebhookRepository, webhookView } from "./webhooks.ts";

interface IdParams {
  Params: { id: string };
}

/**
 * `/api/alerts/webhooks` (CRUD; the secret is write-only: replies say `hasSecret`) and
 * `GET /api/budgets/{id}/forecast` (spend rate and projected exhaustion in the current window).
 */
export function registerAlertDeliveryRoutes(api: FastifyInstance, ctx: AdminContext): void {
  const repo = new WebhookRepository(ctx.database.db, ctx.runtime.clock);

  api.get("/alerts/webhooks", async () => ({ data: (await repo.list()).map(webhookView) }));
  api.post("/alerts/webhooks", async (req, reply) => {
    const parsed = WebhookCreateSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(reply, "Invalid webhook", parsed.error);
    return reply.code(201).send(webhookView(await repo.create(parsed.data)));
  });
  api.get<IdParams>("/alerts/webhooks/:id", async (req, reply) => {
    const hook = await repo.get(req.params.id);
    return hook ? webhookView(hook) : replyError(reply, 404, "not_found", `No webhook "${req.params.id}".`);
  });
  api.patch<IdParams>("/alerts/webhooks/:id", async (req, reply) => {
    const parsed = WebhookPatchSchema.safeParse(req.body ?? {});
    if (!parsed.success) return invalid(reply, "Invalid webhook change", parsed.error);
    const hook = await repo.update(req.params.id, parsed.data);
    return hook ? webhookView(hook) : replyError(reply, 404, "not_found", `No webhook "${req.params.id}".`);
  });
  api.delete<IdParams>("/alerts/webhooks/:id", async (req, reply) =>
    (await repo.delete(req.params.id))
      ? { deleted: req.params.id }
      : replyError(reply, 404, "not_found", `No webhook "${req.params.id}".`),
  );

  api.get<IdParams>("/budgets/:id/forecast", async (req, reply) => {
    const budget = ctx.runtime.governance.budgetsById.get(req.params.id);
    if (!budget) return replyError(reply, 404, "not_found", `No budget "${req.params.id}".`);
    const [standing] = await ctx.runtime.budgets.standing([budget]);
    if (!standing) return replyError(reply, 404, "not_found", `No budget "${req.params.id}".`);
    return {
      budgetId: budget.id,
      limitUsd: formatNanoUsd(budget.limitNanoUsd),
      spentUsd: formatNanoUsd(standing.committedNanoUsd),
      spentNanoUsd: standing.committedNanoUsd,
      windowStart: new Date(standing.windowStart).toISOString(),
      ...forecastView(budget, standing, ctx.runtime.clock.now()),
    };
  });
}
