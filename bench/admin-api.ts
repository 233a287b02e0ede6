import { performance } from "node:perf_hooks";
import { request } from "undici";

// The one management API call the governed workload needs: creating a virtual key (README "Virtual keys").

/** What `POST /api/virtual-keys` takes, as far as the bench uses it. */
export interface KeyCreateRequest {
  name: string;
  budgets: Array<{ name: string; limitUsd: string; period: string }>;
  rateLimits: Array<{ name: string; window?: string; maxRequests?: number; maxConcurrent?: number }>;
}

/** The fields of the 201 reply the bench reads; the secret is shown only in this reply. */
export interface CreatedKey {
  id: string;
  secret: string;
}

/**
 * The governed workload's key: one daily budget and a requests-per-minute and a concurrency limit, all far above
 * what the bench sends, so every request is admitted, counted and settled but none is refused.
 */
export function benchKeyRequest(name: string): KeyCreateRequest {
  return {
    name,
    budgets: [{ name: "daily", limitUsd: "1000000", period: "1d" }],
    rateLimits: [
      { name: "rpm", window: "1m", maxRequests: 100_000_000 },
      { name: "conc", maxConcurrent: 1000 },
    ],
  };
}

const timeoutMs = 120_000;

/** Creates a key through the API; resolves with its id, secret and how long the call took. */
export async function createVirtualKey(
  baseUrl: string,
  adminToken: string,
  body: KeyCreateRequest,
): Promise<CreatedKey & { elapsedMs: number }> {
  const startedAt = performance.now();
  const response = await request(`${baseUrl}/api/virtual-keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await response.body.text();
  const elapsedMs = performance.now() - startedAt;
  if (response.statusCode !== 201) {
    throw new Error(`POST /api/virtual-keys answered ${response.statusCode}: ${text.slice(0, 300)}`);
  }
  const parsed: unknown = JSON.parse(text);
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !("id" in parsed) ||
    typeof parsed.id !== "string" ||
    !("secret" in parsed) ||
    typeof parsed.secret !== "string"
  ) {
    throw new Error(`POST /api/virtual-keys answered 201 without an id and a secret: ${text.slice(0, 300)}`);
  }
  return { id: parsed.id, secret: parsed.secret, elapsedMs };
}
