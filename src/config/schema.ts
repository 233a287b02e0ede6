import { z } from "zod";

/** A provider API key in a config file: the secret alone, or with a stable id and a label. */
const ProviderKeyEntry = z.union([
  z.string().min(1),
  z.strictObject({ id: z.string().min(1).optional(), key: z.string().min(1), label: z.string().optional() }),
]);

const HttpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http(s) URL");

export const ProviderEntrySchema = z.strictObject({
  /** A built-in preset to start from (defaults to the entry's own name when that is a preset). */
  preset: z.string().optional(),
  /** For a provider with no preset: its wire family. */
  kind: z.enum(["anthropic", "openai", "gemini"]).optional(),
  baseUrl: HttpUrl.optional(),
  apiKeys: z.array(ProviderKeyEntry).optional(),
  models: z.array(z.string().min(1)).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /** Provider id in the price catalog, for custom providers reselling a known provider's models. */
  pricingId: z.string().nullable().optional(),
});

export const TimeoutsSchema = z.strictObject({
  connectMs: z.number().int().positive().optional(),
  firstByteMs: z.number().int().positive().optional(),
  idleMs: z.number().int().positive().optional(),
});

export const ConfigFileSchema = z.strictObject({
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  dataDir: z.string().optional(),
  databaseUrl: z.string().optional(),
  redisUrl: z.string().optional(),
  adminToken: z.string().min(16, "adminToken must be at least 16 characters").optional(),
  maxBodyBytes: z.number().int().positive().optional(),
  timeouts: TimeoutsSchema.optional(),
  providers: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "provider names are lowercase [a-z0-9_-]"), ProviderEntrySchema)
    .optional(),
  pricing: z.strictObject({ overrides: z.array(z.unknown()).optional(), refreshUrl: z.string().optional() }).optional(),
  /** auto: keys required once one exists or when not bound to loopback; always; never (anonymous allowed). */
  requireKey: z.enum(["auto", "always", "never"]).optional(),
  labels: z
    .strictObject({
      maxCount: z.number().int().min(0).max(64).optional(),
      maxValueLength: z.number().int().min(1).max(1024).optional(),
    })
    .optional(),
});

export type ConfigFile = z.infer<typeof ConfigFileSchema>;
export type ProviderEntry = z.infer<typeof ProviderEntrySchema>;
