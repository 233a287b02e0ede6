import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import type { Database } from "../store/database.ts";
import { VERSION } from "../version.ts";

/** `HEAD /` (Claude Code's connectivity probe), `/health` (liveness) and `/ready` (database reachable). */
export function registerHealthRoutes(app: FastifyInstance, rt: GatewayRuntime, database: Database): void {
  // Connectivity probes: Claude Code sends `HEAD /` (or HEAD of its base URL, which may carry a dialect prefix).
  for (const path of ["/", "/anthropic", "/openai", "/genai", "/cursor"])
    app.head(path, (_req, reply) => reply.code(200).send());
  app.get("/health", () => ({ status: "ok", version: VERSION }));
  app.get("/ready", async (_req, reply) => {
    try {
      await sql`select 1`.execute(database.db);
    } catch (err) {
      return reply.code(503).send({ ready: false, reason: `database: ${(err as Error).message}` });
    }
    return { ready: true, providers: rt.registry.list().map((p) => p.name) };
  });
}
