import { uuidv7 } from "../../src/store/ids.ts";
import type { RequestLogRecord } from "../../src/store/log-record.ts";

export const BASE_TIME = Date.UTC(2026, 0, 1);

/** A complete success record; override what the test cares about. */
export function makeRecord(overrides: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    id: uuidv7(),
    startedAt: BASE_TIME,
    dialect: "anthropic",
    endpoint: "/anthropic/v1/messages",
    stream: true,
    provider: "anthropic",
    providerKeyId: null,
    requestedModel: "claude-sonnet-4-5",
    servedModel: "claude-sonnet-4-5-20250929",
    status: 200,
    errorCode: null,
    errorMessage: null,
    latencyMs: 1200,
    ttftMs: 300,
    inputTokens: 100,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 50,
    reasoningTokens: 0,
    costNanoUsd: 1_050_000,
    priceVersion: "test",
    usageEstimated: false,
    sessionId: null,
    agent: "claude-code",
    agentVersion: null,
    agentId: null,
    parentAgentId: null,
    turnId: null,
    workspace: null,
    labels: {},
    clientIp: null,
    userAgent: null,
    virtualKeyId: null,
    teamId: null,
    customerId: null,
    developerId: null,
    upstreamDialect: null,
    warnings: [],
    routingRule: null,
    attempts: [],
    cacheHit: null,
    cacheSavedNanoUsd: null,
    ...overrides,
  };
}

/** Polls a condition on real event-loop turns (for async work started by fake timers); not a time assertion. */
export async function until(condition: () => boolean, what: string, attempts = 5000): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`gave up waiting for ${what}`);
}
