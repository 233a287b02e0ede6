import type { FastifyInstance } from "fastify";
import { errorFamilyOf } from "../dialects/dialect.ts";
import { renderError } from "../dialects/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import { presentedKey } from "../governance/authenticate.ts";
import { authenticateVirtualKey } from "../governance/entities/index.ts";
import { formatUsd } from "../pipeline/money.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import type { Database } from "../store/database.ts";
import type { LogWriter } from "../store/log-writer.ts";
import { sumAsText } from "../store/sql-helpers.ts";

/**
 * `GET /tollgate/usage` for key holders (what a status line needs): the key, each of its budgets with spend,
 * held amount, remainder and reset time, and with `?session=<id>` that session's requests and cost under this key.
 * Authenticated with the key itself, like a model call.
 */
export function registerUsageRoute(
  app: FastifyInstance,
  rt: GatewayRuntime,
  database: Database,
  logs: LogWriter,
): void {
  app.get<{ Querystring: { session?: string } }>("/tollgate/usage", async (req, reply) => {
    const presented = presentedKey(req.headers, req.url);
    const auth = presented
      ? authenticateVirtualKey(rt.governance, presented, rt.clock.now())
      : ({ ok: false, message: "Send your Tollgate key (sk-tg-…) as a Bearer token or x-api-key." } as const);
    if (!auth.ok) {
      const out = renderError(errorFamilyOf("openai-chat"), new GatewayError("TG_UNAUTHORIZED", auth.message));
      return reply.code(out.status).headers(out.headers).send(out.body);
    }
    const key = auth.key;
    const standings = await rt.budgets.standing(key.budgets);
    const budgets = standings.map((s) => ({
      id: s.budget.id,
      name: s.budget.name,
      scope: { type: s.budget.scopeType, id: s.budget.scopeId, name: s.budget.scopeName, provider: s.budget.provider },
      period: s.budget.period,
      mode: s.budget.mode,
      limitUsd: formatUsd(s.budget.limitNanoUsd),
      spentUsd: formatUsd(s.committedNanoUsd),
      heldUsd: formatUsd(s.reservedNanoUsd),
      remainingUsd: formatUsd(Math.max(0, s.budget.limitNanoUsd - s.committedNanoUsd - s.reservedNanoUsd)),
      windowStart: new Date(s.windowStart).toISOString(),
      resetsAt: s.resetsAt === null ? null : new Date(s.resetsAt).toISOString(),
    }));
    const sessionId = req.query.session;
    let session: Record<string, unknown> | undefined;
    if (sessionId) {
      await logs.flush();
      const row = await database.db
        .selectFrom("request_logs")
        .select((eb) => [
          eb.fn.countAll<number>().as("requests"),
          sumAsText("cost_nano_usd").as("cost"),
          sumAsText("input_tokens").as("input"),
          sumAsText("cache_read_tokens").as("cacheRead"),
          sumAsText("output_tokens").as("output"),
        ])
        .where("session_id", "=", sessionId)
        .where("virtual_key_id", "=", key.id)
        .executeTakeFirst();
      session = {
        id: sessionId,
        requests: Number(row?.requests ?? 0),
        costUsd: formatUsd(Number(row?.cost ?? 0)),
        inputTokens: Number(row?.input ?? 0),
        cacheReadTokens: Number(row?.cacheRead ?? 0),
        outputTokens: Number(row?.output ?? 0),
      };
    }
    return {
      key: {
        id: key.id,
        name: key.name,
        team: key.team,
        customer: key.customer,
        developer: key.developer ? { id: key.developer.id, name: key.developer.name } : null,
      },
      budgets,
      ...(session ? { session } : {}),
    };
  });
}
