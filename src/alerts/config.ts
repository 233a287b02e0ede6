import { createHash } from "node:crypto";
import { z } from "zod";
import { type AlertWebhook, WEBHOOK_FORMATS, WEBHOOK_SCOPES } from "./webhooks.ts";

/** `alerts` in the config file: webhooks declared there (beside those under /api/alerts/webhooks). */
export const AlertsSectionSchema = z.strictObject({
  webhooks: z
    .array(
      z
        .strictObject({
          /** Identifies the webhook across restarts (its deliveries are keyed on it). */
          name: z.string().min(1).max(200),
          url: z.url({ protocol: /^https?$/ }),
          format: z.enum(WEBHOOK_FORMATS).default("json"),
          secret: z.string().min(1).optional(),
          scopeType: z.enum(WEBHOOK_SCOPES).default("global"),
          scopeId: z.string().min(1).optional(),
          enabled: z.boolean().default(true),
        })
        .refine((w) => (w.scopeType === "global") === (w.scopeId === undefined), {
          message: "scopeId is required for a customer, team, developer or key scope, and not allowed for global",
          path: ["scopeId"],
        }),
    )
    .optional(),
  /** Spend-rate anomaly alerts (alerts/spend-anomalies.ts): a key spending `factor`× its 7-day hourly average. */
  spendAnomalies: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Current-hour spend above factor × the key's average hourly spend over the previous 7 days. Default 5. */
      factor: z.number().gt(1).max(1000).default(5),
      /** …and at least this much in the hour (USD), so small keys do not page anyone. Default 1. */
      minSpendUsd: z.number().min(0).default(1),
      /** How often the hourly rollup is checked. Default 300. */
      checkIntervalSeconds: z.number().int().min(10).max(3600).default(300),
    })
    .optional(),
});

export type AlertsSection = z.infer<typeof AlertsSectionSchema>;

/** A config webhook takes alerts up to this old at start (those a restart interrupted), not the whole backlog. */
const CONFIG_BACKLOG_MS = 24 * 3_600_000;

/** Config-file webhooks as the dispatcher uses them; ids are derived from the names, so they survive restarts. */
export function configWebhooks(section: AlertsSection | undefined, startedAt: number): AlertWebhook[] {
  const seen = new Set<string>();
  const hooks: AlertWebhook[] = [];
  for (const w of section?.webhooks ?? []) {
    if (seen.has(w.name)) throw new Error(`alerts.webhooks: the name "${w.name}" is used twice`);
    seen.add(w.name);
    hooks.push({
      id: `cfg_${createHash("sha256").update(w.name).digest("hex").slice(0, 24)}`,
      name: w.name,
      url: w.url,
      format: w.format,
      secret: w.secret ?? null,
      scopeType: w.scopeType,
      scopeId: w.scopeId ?? null,
      enabled: w.enabled,
      createdAt: startedAt - CONFIG_BACKLOG_MS,
      updatedAt: startedAt,
    });
  }
  return hooks;
}
