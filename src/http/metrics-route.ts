import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";

export interface MetricsEndpoint {
  readonly contentType: string;
  scrape(): Promise<string>;
}

export interface MetricsRouteOptions {
  /** Bearer token scrapers must send; null: open. */
  token: string | null;
  /** The address the gateway listens on: open metrics beyond loopback get a warning. */
  host: string;
  warn: (message: string) => void;
}

/** `GET /metrics`: the Prometheus exposition; with a token configured, only for `Authorization: Bearer <token>`. */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: MetricsEndpoint,
  options: MetricsRouteOptions,
): void {
  const { token, host } = options;
  if (token === null && !(host === "localhost" || host === "::1" || host.startsWith("127.")))
    options.warn(
      `GET /metrics is open to anyone who can reach ${host} (spend by team and customer): set TOLLGATE_METRICS_TOKEN or metrics.token`,
    );
  const want = token === null ? null : Buffer.from(token);
  app.get("/metrics", async (req, reply) => {
    if (want !== null && !bearerMatches(req.headers.authorization, want)) {
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="tollgate-metrics"')
        .type("application/json")
        .send({
          error: {
            type: "authentication_error",
            message: "Missing or invalid metrics token (Authorization: Bearer <TOLLGATE_METRICS_TOKEN>).",
          },
        });
    }
    const body = await metrics.scrape();
    return reply.code(200).header("cache-control", "no-store").type(metrics.contentType).send(body);
  });
}

function bearerMatches(authorization: string | undefined, want: Buffer): boolean {
  if (!authorization?.startsWith("Bearer ")) return false;
  const given = Buffer.from(authorization.slice(7).trim());
  return given.length === want.length && timingSafeEqual(given, want);
}
