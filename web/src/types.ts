/** Shapes of the management API's answers, as the dashboard reads them. */

export interface SpendTotals {
  requests: number | string;
  unpricedRequests: number | string;
  costNanoUsd: number | string;
  costUsd: string;
  tokens: Record<"input" | "cacheRead" | "cacheWrite5m" | "cacheWrite1h" | "output" | "reasoning", number | string>;
  cacheSavingsUsd: string;
}

export interface SpendAnswer {
  from: number;
  to: number;
  groupBy: string[];
  data: (SpendTotals & { group: Record<string, string | null> })[];
  totals: SpendTotals;
}

export interface Attempt {
  provider: string;
  providerKeyId: string | null;
  model: string;
  status: number | null;
  latencyMs: number;
  error: string | null;
}

export interface LogRecord {
  id: string;
  startedAt: number;
  dialect: string;
  endpoint: string;
  stream: boolean;
  provider: string | null;
  providerKeyId: string | null;
  requestedModel: string | null;
  servedModel: string | null;
  status: number;
  errorCode: string | null;
  errorMessage: string | null;
  latencyMs: number;
  ttftMs: number | null;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costNanoUsd: number | null;
  priceVersion: string | null;
  usageEstimated: boolean;
  sessionId: string | null;
  agent: string | null;
  agentVersion: string | null;
  labels: Record<string, string>;
  virtualKeyId: string | null;
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  upstreamDialect: string | null;
  warnings: string[];
  routingRule: string | null;
  attempts: Attempt[];
  cacheHit: string | null;
  cacheSavedNanoUsd: number | null;
}

export interface VirtualKey {
  id: string;
  name: string;
  description: string | null;
  displayPrefix: string;
  status: "active" | "inactive" | "expired" | "revoked";
  active: boolean;
  expiresAt: number | null;
  revokedAt: number | null;
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  allowedProviders: string[] | null;
  allowedModels: string[] | null;
  createdAt: number;
}

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
