import type { FastifyInstance } from "fastify";
import type { AdminContext } from "./context.ts";

/** `/api/pricing`: the catalog version and overrides (full CRUD lands with the providers API helper). */
export function registerPricingRoutes(api: FastifyInstance, ctx: AdminContext): void {
  api.get("/pricing", () => ({ version: ctx.prices.version, catalogVersion: ctx.prices.catalogVersion, overrides: ctx.prices.overrides }));
}
