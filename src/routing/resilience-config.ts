import { z } from "zod";

/**
 * The config file's retry, key-cooldown and circuit-breaker settings (the `routing` section beside its `rules`) and
 * their resolved defaults (GatewayConfig.routing), read by routing/retry-policy.ts and routing/provider-health.ts.
 */

const Ms = z.number().int().min(0);

/** Fields of the config file's `routing` object owned here. */
export const RESILIENCE_FIELDS = {
  retries: z
    .strictObject({
      /** Total time one call may spend retrying (default 30 000 ms); a longer `retry-after` returns the 429. */
      budgetMs: Ms.optional(),
      /** Attempts per target, the first included (default 3). */
      maxAttempts: z.number().int().min(1).max(20).optional(),
      /** Backoff ceiling of the first retry (default 500 ms), doubling up to maxDelayMs (default 8000 ms). */
      baseDelayMs: Ms.optional(),
      maxDelayMs: Ms.optional(),
    })
    .optional(),
  /** How long a key that returned 429 without `retry-after` stays out (default 60 000 ms). */
  keyCooldownMs: Ms.optional(),
  breaker: z
    .strictObject({
      /** Consecutive 5xx/connect/timeout failures that open a provider's circuit (default 5). */
      failureThreshold: z.number().int().min(1).optional(),
      /** How long it stays open before one probe is let through (default 30 000 ms). */
      openMs: Ms.optional(),
    })
    .optional(),
};

const ResilienceSection = z.strictObject(RESILIENCE_FIELDS);
export type ResilienceSection = z.infer<typeof ResilienceSection>;

export interface ResilienceConfig {
  retries: { budgetMs: number; maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  keyCooldownMs: number;
  breaker: { failureThreshold: number; openMs: number };
}

export function resolveResilience(section: ResilienceSection | undefined): ResilienceConfig {
  return {
    retries: {
      budgetMs: section?.retries?.budgetMs ?? 30_000,
      maxAttempts: section?.retries?.maxAttempts ?? 3,
      baseDelayMs: section?.retries?.baseDelayMs ?? 500,
      maxDelayMs: section?.retries?.maxDelayMs ?? 8000,
    },
    keyCooldownMs: section?.keyCooldownMs ?? 60_000,
    breaker: {
      failureThreshold: section?.breaker?.failureThreshold ?? 5,
      openMs: section?.breaker?.openMs ?? 30_000,
    },
  };
}
