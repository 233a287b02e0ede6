import { z } from "zod";

/** Resolved DogStatsD export; absent from GatewayConfig.metrics when off (the default). */
export interface DogStatsdConfig {
  host: string;
  port: number;
  /** Prepended to every metric name, ending in "." (default "tollgate."). */
  prefix: string;
  /** Tags added to every metric (hot-shots also adds env/service/version from DD_ENV, DD_SERVICE, DD_VERSION, DD_TAGS). */
  globalTags: Record<string, string>;
}

export const DOGSTATSD_DEFAULTS = { host: "127.0.0.1", port: 8125, prefix: "tollgate." } as const;

/** The config file's `metrics.dogstatsd` section; its presence turns the export on unless `enabled: false`. */
export const DogStatsdSectionSchema = z.strictObject({
  enabled: z.boolean().optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  prefix: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/, "metrics.dogstatsd.prefix: letters, digits, _ and .")
    .optional(),
  globalTags: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.\-/]{0,99}$/), z.string().max(200)).optional(),
});
export type DogStatsdSection = z.infer<typeof DogStatsdSectionSchema>;

/**
 * On with `TOLLGATE_DOGSTATSD=1` or a `metrics.dogstatsd` section in the file; `TOLLGATE_DOGSTATSD=0` turns it off.
 * DD_AGENT_HOST alone does not turn it on: the Datadog admission controller and dd-trace set-ups put it in every
 * pod, and custom metrics are billed per tag combination, so sending them needs an explicit opt-in. Once on, the
 * standard DD_AGENT_HOST / DD_DOGSTATSD_PORT win over the file (as the OTEL_* variables do for traces): the
 * platform sets them per node, which a config file cannot know.
 */
export function resolveDogStatsd(
  env: NodeJS.ProcessEnv,
  file: DogStatsdSection | undefined,
  invalid: (message: string) => Error,
): DogStatsdConfig | null {
  const flag = env.TOLLGATE_DOGSTATSD?.trim().toLowerCase();
  let on: boolean;
  if (flag === undefined || flag === "") on = file !== undefined && file.enabled !== false;
  else if (flag === "1" || flag === "true") on = true;
  else if (flag === "0" || flag === "false") on = false;
  else throw invalid(`TOLLGATE_DOGSTATSD must be 1 or 0, got "${env.TOLLGATE_DOGSTATSD}"`);
  if (!on) return null;
  const host = env.DD_AGENT_HOST?.trim() || file?.host || DOGSTATSD_DEFAULTS.host;
  let port = file?.port ?? DOGSTATSD_DEFAULTS.port;
  const envPort = env.DD_DOGSTATSD_PORT?.trim();
  if (envPort) {
    const n = Number(envPort);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw invalid(`DD_DOGSTATSD_PORT must be a port number, got "${envPort}"`);
    port = n;
  }
  let prefix = file?.prefix ?? DOGSTATSD_DEFAULTS.prefix;
  if (!prefix.endsWith(".")) prefix += ".";
  return { host, port, prefix, globalTags: { ...file?.globalTags } };
}
