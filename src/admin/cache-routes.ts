import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AdminContext } from "./context.ts";

const PurgeQuery = z.strictObject({ key: z.string().min(1).optional(), namespace: z.string().optional() });

/**
 * `/api/cache`: the exact response cache's settings, and purges — `DELETE /api/cache` (all), `?key=<exact key>`,
 * `?namespace=<x-tollgate-cache-key>` (both: entries matching both).
 */
export function registerCacheRoutes(api: FastifyInstance, ctx: AdminContext): void {
  api.get("/cache", async () => ({
    enabled: ctx.runtime.cache != null,
    config: ctx.runtime.config.cache,
    // Vectors in this process's semantic index (null: no semantic layer).
    semanticIndexEntries: ctx.runtime.cache?.semantic?.index.size ?? null,
  }));
  api.delete("/cache", async (req, reply) => {
    const parsed = PurgeQuery.safeParse(req.query);
    if (!parsed.success) {
      return reply.code(400).send({ error: { code: "TG_INVALID_QUERY", message: parsed.error.issues[0]?.message } });
    }
    const cache = ctx.runtime.cache;
    if (!cache) return { purged: 0 };
    const purged = await cache.purge({
      ...(parsed.data.key !== undefined ? { key: parsed.data.key } : {}),
      ...(parsed.data.namespace !== undefined ? { namespace: parsed.data.namespace } : {}),
    });
    return { purged };
  });
}
