import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { listBudgetAlerts } from "../governance/budget-alerts.ts";
import { formatNanoUsd } from "../metering/pricing/decimal.ts";
import type { Db } from "../store/schema.ts";

const AlertsQuery = z.strictObject({
  budgetId: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** `GET /api/alerts`: budget threshold and spend anomaly alerts (`kind`), newest first (`?budgetId=`, `?limit=` 1…1000, default 50). */
export function registerAlertRoutes(api: FastifyInstance, db: Db, flush: () => Promise<void>): void {
  api.get("/alerts", async (req, reply) => {
    const parsed = AlertsQuery.safeParse(req.query);
    if (!parsed.success) {
      return reply.code(400).send({ error: { type: "invalid_request", message: z.prettifyError(parsed.error) } });
    }
    // Read-your-writes: windows settled a moment ago are checked now rather than after the coalescing delay.
    await flush();
    const alerts = await listBudgetAlerts(db, { budgetId: parsed.data.budgetId, limit: parsed.data.limit });
    return {
      data: alerts.map((a) => ({
        ...a,
        spendUsd: formatNanoUsd(a.spendNanoUsd),
        limitUsd: formatNanoUsd(a.limitNanoUsd),
      })),
    };
  });
}
