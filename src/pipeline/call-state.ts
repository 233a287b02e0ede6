import { performance } from "node:perf_hooks";
import type { FastifyRequest } from "fastify";
import { detectAgent } from "../attribution/agent.ts";
import { extractLabels } from "../attribution/labels.ts";
import type { BudgetHold } from "../governance/budget-gate.ts";
import type { RateTicket } from "../governance/rate-gate.ts";
import type { SessionHold } from "../governance/session-gate.ts";
import type { ProviderConfig } from "../providers/types.ts";
import { uuidv7 } from "../store/ids.ts";
import type { RequestLogRecord, UpstreamAttempt } from "../store/log-record.ts";
import type { RouteSpec } from "./ingress.ts";
import type { GatewayRuntime } from "./runtime.ts";

/** Per-request state threaded through the pipeline; `record` becomes the log row at the end. */
export interface CallState {
  record: RequestLogRecord;
  /** performance.now() at the start, for latency and time to first token. */
  t0: number;
  provider: ProviderConfig | null;
  upstreamModel: string | null;
  /** What this request holds on its budgets until it settles. */
  hold: BudgetHold | null;
  /** Concurrency slots and token windows this request holds until it settles. */
  ticket: RateTicket | null;
  /** The session spend cap's hold. */
  sessionHold: SessionHold | null;
  /** performance.now() when the upstream request was dispatched (0: never) and when its response ended (0: not yet). */
  /** The upstream attempt in flight (pipeline/attempts.ts); finish() completes it from the row. */
  openAttempt: UpstreamAttempt | null;
  /** performance.now() at each attempt's dispatch, parallel to record.attempts (for trace spans). */
  attemptStarts: number[];
  upstreamStart: number;
  upstreamEnd: number;
  /** performance.now() around admission; kept only when tracing is on. */
  admission?: { start: number; end: number; refused: boolean };
}

export function newCallState(rt: GatewayRuntime, spec: RouteSpec, req: FastifyRequest): CallState {
  rt.metrics.started();
  const agent = detectAgent(req.headers, req.url);
  const ua = req.headers["user-agent"];
  const q = req.url.indexOf("?");
  const record: RequestLogRecord = {
    id: uuidv7(rt.clock),
    startedAt: rt.clock.now(),
    dialect: spec.dialect,
    endpoint: q < 0 ? req.url : req.url.slice(0, q),
    stream: false,
    provider: null,
    providerKeyId: null,
    requestedModel: null,
    servedModel: null,
    status: 0,
    errorCode: null,
    errorMessage: null,
    latencyMs: 0,
    ttftMs: null,
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    costNanoUsd: null,
    priceVersion: null,
    usageEstimated: false,
    sessionId: null,
    agent: agent.name,
    agentVersion: agent.version,
    agentId: null,
    parentAgentId: null,
    turnId: null,
    workspace: null,
    labels: extractLabels(req.headers, rt.config.labels),
    clientIp: req.ip ?? null,
    userAgent: typeof ua === "string" ? ua.slice(0, 300) : null,
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
  };
  return {
    record,
    t0: performance.now(),
    provider: null,
    upstreamModel: null,
    hold: null,
    ticket: null,
    sessionHold: null,
    openAttempt: null,
    attemptStarts: [],
    upstreamStart: 0,
    upstreamEnd: 0,
  };
}
