import type { Db } from "../store/schema.ts";
import type { SessionListFilter, SessionTotals } from "../store/sessions-repo.ts";
import { listSessions } from "../store/sessions-repo.ts";
import { exactJson, usd } from "./exact-json.ts";

/**
 * The `GET /api/sessions` answers' JSON. Free of Fastify and the runtime: the analytics worker thread
 * (admin/analytics/) computes the list page with it, off the request path's event loop.
 */

/** Cache-read share of every input token (uncached + cache reads + cache writes); null without input. */
export function cacheHitRatio(t: SessionTotals["tokens"]): number | null {
  const input = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
  return input === 0n ? null : Number(t.cacheRead) / Number(input);
}

export function totalsJson(t: SessionTotals) {
  return {
    requests: t.requests,
    unpricedRequests: t.unpricedRequests,
    costNanoUsd: t.costNanoUsd,
    costUsd: usd(t.costNanoUsd),
    tokens: t.tokens,
  };
}

/** One page of the session list as exact JSON; InvalidCursorError (store/cursor.ts) for a malformed cursor. */
export async function sessionListJson(db: Db, filter: SessionListFilter): Promise<string> {
  const page = await listSessions(db, filter);
  return exactJson({
    from: filter.from,
    to: filter.to,
    items: page.items.map((s) => ({
      id: s.id,
      firstSeen: s.firstSeen,
      lastSeen: s.lastSeen,
      agent: s.agent,
      virtualKeyId: s.virtualKeyId,
      teamId: s.teamId,
      customerId: s.customerId,
      developerId: s.developerId,
      models: s.models,
      ...totalsJson(s),
      cacheHitRatio: cacheHitRatio(s.tokens),
    })),
    nextCursor: page.nextCursor,
  });
}
