import type { FastifyInstance } from "fastify";
import type { AdminContext } from "./context.ts";

/** `/api/providers`: configured providers without their secrets. */
export async function registerProviderRoutes(api: FastifyInstance, ctx: AdminContext): Promise<void> {
  api.get("/providers", () => ({
    data: ctx.runtime.registry.list().map((p) => ({
      name: p.name,
      kind: p.kind,
      baseUrl: p.baseUrl,
      dialects: p.dialects,
      models: p.models,
      source: p.source,
      keys: p.keys.map((k) => ({ id: k.id, label: k.label, source: k.source })),
    })),
  }));
}
