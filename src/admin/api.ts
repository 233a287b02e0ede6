import type { FastifyInstance } from "fastify";
import { registerAlertDeliveryRoutes } from "../alerts/routes.ts";
import { registerAlertRoutes } from "./alerts-routes.ts";
import { registerCacheRoutes } from "./cache-routes.ts";
import type { AdminContext } from "./context.ts";
import { registerGovernanceRoutes } from "./governance-routes.ts";
import { registerLogRoutes } from "./logs-routes.ts";
import { registerPricingRoutes } from "./pricing-routes.ts";
import { registerProviderRoutes } from "./providers-routes.ts";
import { registerRoutingRoutes } from "./routing-routes.ts";
import { registerSessionRoutes } from "./sessions-routes.ts";
import { registerSpendRoutes } from "./spend-routes.ts";
import { isAdmin } from "./token.ts";
import { registerUiSupportRoutes } from "./ui-support-routes.ts";

/**
 * The management API under `/api`, behind `Authorization: Bearer <admin token>`. Bodies are JSON (the server keeps
 * raw bytes for the data plane, so this scope parses them itself). Unknown `/api/…` paths answer a JSON 404.
 */
export async function registerAdminApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  await app.register(
    async (api) => {
      api.removeAllContentTypeParsers();
      api.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
        if (body === "") return done(null, undefined);
        try {
          done(null, JSON.parse(body as string));
        } catch {
          // Not the parser's message: it quotes the start of the body, which may hold a secret being stored.
          const e = new Error("The request body is not valid JSON.") as Error & { statusCode: number };
          e.statusCode = 400;
          done(e, undefined);
        }
      });
      api.addHook("onRequest", async (req, reply) => {
        if (!isAdmin(req.headers.authorization, ctx.adminToken)) {
          return reply.code(401).send({
            error: {
              type: "authentication_error",
              message: "Missing or invalid admin token (Authorization: Bearer <TOLLGATE_ADMIN_TOKEN>).",
            },
          });
        }
      });
      api.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
        const status = typeof err.statusCode === "number" && err.statusCode >= 400 ? err.statusCode : 500;
        if (status >= 500) ctx.runtime.warn(`management API error: ${err.stack ?? err.message}`);
        return reply.code(status).send({
          error: {
            type: status >= 500 ? "internal_error" : "invalid_request",
            message: status >= 500 ? "Internal error." : err.message,
          },
        });
      });
      api.setNotFoundHandler((req, reply) =>
        reply.code(404).send({
          error: { type: "not_found", message: `No management route ${req.method} ${req.url.split("?")[0]}.` },
        }),
      );
      registerLogRoutes(api, ctx.database.db, () => ctx.logWriter.flush());
      registerAlertRoutes(api, ctx.database.db, async () => ctx.alerts?.flush());
      registerAlertDeliveryRoutes(api, ctx);
      registerPricingRoutes(api, ctx);
      registerSpendRoutes(api, ctx);
      registerSessionRoutes(api, ctx);
      registerCacheRoutes(api, ctx);
      registerRoutingRoutes(api, ctx);
      registerUiSupportRoutes(api, ctx);
      await registerProviderRoutes(api, ctx);
      await registerGovernanceRoutes(api, ctx, ctx.governance);
    },
    { prefix: "/api" },
  );
}
