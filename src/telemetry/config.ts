import { z } from "zod";

export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

/** Resolved OTLP trace export; null in GatewayConfig.telemetry means tracing is off (the default). */
export interface TelemetryConfig {
  /** Where spans are sent: the full traces URL for HTTP (…/v1/traces), `scheme://host:port` for gRPC. */
  url: string;
  protocol: OtlpProtocol;
  serviceName: string;
}

const PROTOCOLS = ["http/protobuf", "http/json", "grpc"] as const;

/** The config file's `telemetry` section. */
export const TelemetrySectionSchema = z.strictObject({
  /** OTLP endpoint base, e.g. http://localhost:4318 (HTTP) or http://localhost:4317 (gRPC). */
  otlpEndpoint: z.string().url().optional(),
  protocol: z.enum(PROTOCOLS).optional(),
  serviceName: z.string().min(1).optional(),
});
export type TelemetrySection = z.infer<typeof TelemetrySectionSchema>;

/**
 * Tracing is on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT or the file's
 * `telemetry.otlpEndpoint`) or OTEL_TRACES_EXPORTER=otlp; OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true turn
 * it off. Env wins over the file, as for every other setting.
 */
export function resolveTelemetry(
  env: NodeJS.ProcessEnv,
  file: TelemetrySection | undefined,
  invalid: (message: string) => Error,
): TelemetryConfig | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return null;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  if (exporters.includes("none")) return null;
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || null;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || file?.otlpEndpoint || null;
  if (!tracesEndpoint && !endpoint && !exporters.includes("otlp")) return null;
  const protocol = parseProtocol(
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || file?.protocol,
    invalid,
  );
  const grpc = protocol === "grpc";
  const base = (endpoint ?? (grpc ? "http://localhost:4317" : "http://localhost:4318")).replace(/\/+$/, "");
  // A signal-specific endpoint is used as given; the generic one gets the signal's path (HTTP only).
  const url = tracesEndpoint ?? (grpc ? base : `${base}/v1/traces`);
  return { url, protocol, serviceName: env.OTEL_SERVICE_NAME || file?.serviceName || "tollgate" };
}

function parseProtocol(value: string | undefined, invalid: (message: string) => Error): OtlpProtocol {
  if (value === undefined || value === "") return "http/protobuf";
  const v = value.trim().toLowerCase();
  if ((PROTOCOLS as readonly string[]).includes(v)) return v as OtlpProtocol;
  throw invalid(`OTEL_EXPORTER_OTLP_PROTOCOL must be one of ${PROTOCOLS.join(", ")} (got "${value}").`);
}
