import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { forecastView } from "../alerts/dispatcher.ts";
import { formatNanoUsd } from "../metering/pricing/decimal.ts";
import { DEFAULT_LOG_RETENTION_DAYS } from "../store/retention.ts";
import type { AdminContext } from "./context.ts";
import { invalidQuery, rangeError, resolveRange, Time } from "./spend-routes.ts";

/**
 * Small read endpoints the dashboard needs beyond the public API, so its overview is a handful of cheap queries:
 * `GET /api/ui/budgets` (every budget with its current window's spend and forecast, fullest first) and
 * `GET /api/ui/outcomes` (requests by outcome over a range: errors and rejections, from the time index) and
 * `GET /api/ui/settings` (settings only the config file changes, shown read-only: log retention).
 */

const BudgetQuery = z.strictObject({
  scopeType: z.string().optional(),
  scopeId: z.string().optional(),
  limit: z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(1).max(1000)).optional(),
});

const OutcomeQuery = z.strictObject({ from: Time.optional(), to: Time.optional() });

/** Statuses the gateway answers when it refuses a request (key, permission, budget, rate/session caps). */
const REJECTION_STATUSES = [401, 402, 403, 429];

export function registerUiSupportRoutes(api: FastifyInstance, ctx: AdminContext): void {
  api.get("/ui/budgets", async (req, reply) => {
    const parsed = BudgetQuery.safeParse(req.query);
    if (!parsed.success) return invalidQuery(reply, parsed.error);
    const q = parsed.data;
    // The data plane's snapshot: what admission enforces right now, with scope names resolved.
    const budgets = [...ctx.runtime.governance.budgetsById.values()].filter(
      (b) =>
        (q.scopeType === undefined || b.scopeType === q.scopeType) &&
        (q.scopeId === undefined || b.scopeId === q.scopeId),
    );
    await ctx.logWriter.flush();
    const standings = await ctx.runtime.budgets.standing(budgets);
    const now = ctx.runtime.clock.now();
    const data = standings.map((s) => {
      const b = s.budget;
      const used = b.limitNanoUsd > 0 ? s.committedNanoUsd / b.limitNanoUsd : s.committedNanoUsd > 0 ? 1 : 0;
      return {
        id: b.id,
        name: b.name,
        scopeType: b.scopeType,
        scopeId: b.scopeId,
        scopeName: b.scopeName,
        provider: b.provider,
        model: b.model,
        period: b.period,
        mode: b.mode,
        limitUsd: formatNanoUsd(b.limitNanoUsd),
        limitNanoUsd: b.limitNanoUsd,
        spentUsd: formatNanoUsd(s.committedNanoUsd),
        spentNanoUsd: s.committedNanoUsd,
        reservedNanoUsd: s.reservedNanoUsd,
        usedFraction: used,
        windowStart: new Date(s.windowStart).toISOString(),
        resetsAt: s.resetsAt === null ? null : new Date(s.resetsAt).toISOString(),
        forecast: forecastView(b, s, now),
      };
    });
    data.sort((a, b) => b.usedFraction - a.usedFraction || a.id.localeCompare(b.id));
    return { data: data.slice(0, q.limit ?? 1000) };
  });

  api.get("/ui/settings", async () => {
    const logsDays = ctx.runtime.config.retention?.logsDays ?? DEFAULT_LOG_RETENTION_DAYS;
    return {
      retention: { logsDays, source: ctx.runtime.config.retention?.logsDays === undefined ? "default" : "config" },
    };
  });

  api.get("/ui/outcomes", async (req, reply) => {
    const parsed = OutcomeQuery.safeParse(req.query);
    if (!parsed.success) return invalidQuery(reply, parsed.error);
    const [from, to] = resolveRange(ctx.runtime.clock.now(), parsed.data.from, parsed.data.to ?? undefined);
    if (from >= to) return rangeError(reply);
    await ctx.logWriter.flush();
    const rejected = sql.join(REJECTION_STATUSES.map((s) => sql.lit(s)));
    const result = await sql<Record<string, unknown>>`select count(*) as requests,
        coalesce(sum(case when status >= 500 then 1 else 0 end), 0) as errors,
        coalesce(sum(case when status in (${rejected}) then 1 else 0 end), 0) as rejections,
        coalesce(sum(case when status >= 400 and status < 500 and status not in (${rejected}) then 1 else 0 end), 0) as client_errors
      from request_logs where started_at >= ${from} and started_at < ${to}`.execute(ctx.database.db);
    const row = result.rows[0] ?? {};
    const n = (k: string) => Number(row[k] ?? 0);
    return {
      from,
      to,
      requests: n("requests"),
      errors: n("errors"),
      rejections: n("rejections"),
      clientErrors: n("client_errors"),
    };
  });
}
