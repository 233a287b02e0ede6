/** Shapes of the management API's answers, as the dashboard reads them. */

export interface SpendTotals {
  requests: number | string;
  unpricedRequests: number | string;
  costNanoUsd: number | string;
  costUsd: string;
  tokens: Record<"input" | "cacheRead" | "cacheWrite5m" | "cacheWrite1h" | "output" | "reasoning", number | string>;
  cacheSavingsUsd: string;
  /** Requests answered from the response cache, and what they would have cost. */
  cacheHits: number | string;
  responseCacheSavingsUsd: string;
}

export interface SpendAnswer {
  from: number;
  to: number;
  groupBy: string[];
  data: (SpendTotals & { group: Record<string, string | null> })[];
  totals: SpendTotals;
}

/** `/api/virtual-keys` answers the governance store's keys as they are. */
export type { VirtualKey } from "../../src/governance/entities/types.ts";
/** A request log row: `/api/logs` answers the store's records as they are (all JSON-safe: numbers, strings, null). */
export type { RequestLogRecord as LogRecord } from "../../src/store/log-record.ts";

export interface RoutingRule {
  id: string;
  name: string;
  description: string | null;
  scope: { type: "global" | "customer" | "team" | "developer" | "key"; id: string | null };
  priority: number;
  enabled: boolean;
  expression: string;
  targets: { provider: string | null; model: string; key: string | null; weight: number }[];
  fallbacks: { provider: string | null; model: string; key: string | null }[];
  source: "api" | "config";
  createdAt: number | string;
  updatedAt: number | string;
}

/** USD decimal string → nano-dollars as a number (exact enough for display and sorting). */
export function nano(v: number | string): number {
  return Number(v);
}
