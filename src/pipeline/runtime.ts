import type { Dispatcher } from "undici";
import type { ResponseCache } from "../cache/response-cache.ts";
import type { Clock } from "../clock.ts";
import type { GatewayConfig } from "../config/load.ts";
import type { BudgetGate } from "../governance/budget-gate.ts";
import type { GovernanceSnapshot } from "../governance/entities/index.ts";
import type { RateGate } from "../governance/rate-gate.ts";
import type { SessionGate } from "../governance/session-gate.ts";
import type { UnpricedModels } from "../metering/unpriced.ts";
import type { Usage } from "../metering/usage.ts";
import type { ProviderRegistry } from "../providers/registry.ts";
import type { ProviderHealth } from "../routing/provider-health.ts";
import type { Router } from "../routing/rules/index.ts";
import type { SessionAffinity } from "../routing/session-affinity.ts";
import type { RequestLogRecord } from "../store/log-record.ts";
import type { CallState } from "./call-state.ts";
import type { ResponseStore } from "./stored-responses.ts";

/** Where finished requests go (store/log-writer.ts); `write` is synchronous and never throws. */
export interface LogSink {
  write(record: RequestLogRecord): void;
}

export interface PriceQuote {
  costNanoUsd: number | null;
  priceVersion: string;
  warnings: string[];
}

/** Prices a request's usage (metering/pricing). Pure in-memory lookup: runs on the hot path. */
export interface Pricer {
  cost(provider: string, model: string, usage: Usage): PriceQuote;
}

/** How long one finished request took; `upstreamMs` from dispatch to the upstream response's end, null if never sent. */
export interface RequestTimings {
  durationMs: number;
  upstreamMs: number | null;
}

/** Prometheus metrics (metrics/gateway-metrics.ts). Both calls are synchronous, cheap and never throw. */
export interface MetricsSink {
  /** A request entered the pipeline (the in-flight gauge); every start is followed by one `observe`. */
  started(): void;
  /** A request ended, with its log row. */
  observe(record: RequestLogRecord, timings: RequestTimings): void;
}

/** OpenTelemetry traces (telemetry/tracing.ts). Off by default: callers check `enabled` and then do nothing. */
export interface CallTracer {
  readonly enabled: boolean;
  /** A model call ended (its row is final); `endPerf` is performance.now() at the end. Never throws. */
  ended(state: CallState, endPerf: number): void;
  /** Exports what is queued; called on shutdown. */
  close(): Promise<void>;
}

/**
 * Everything the data plane needs, held in memory. `registry` is replaced wholesale when providers change, so a
 * request keeps the snapshot it started with.
 */
export interface GatewayRuntime {
  readonly config: GatewayConfig;
  registry: ProviderRegistry;
  /** Routing rules (routing/rules/), compiled; replaced wholesale when rules change. */
  router: Router;
  /** Virtual keys and their owners, budgets and limits; replaced wholesale when they change. */
  governance: GovernanceSnapshot;
  /** Budget admission and settlement over the counter store. */
  readonly budgets: BudgetGate;
  /** Request, token and concurrency limits over the counter store. */
  readonly rates: RateGate;
  /** Per-session caps and the loop guard. */
  readonly sessions: SessionGate;
  readonly prices: Pricer;
  readonly logs: LogSink;
  readonly upstream: Dispatcher;
  readonly clock: Clock;
  /** Models served without a known price (shown by /api/pricing). */
  readonly unpriced: UnpricedModels;
  readonly metrics: MetricsSink;
  /** The exact response cache (cache/); null or absent when no store is open. */
  readonly cache?: ResponseCache | null;
  /** Responses API state for calls translated to another provider (pipeline/stored-responses.ts); null or absent: none. */
  readonly responses?: ResponseStore | null;
  readonly tracer: CallTracer;
  /** Key cooldowns and flags, latency/error averages and circuit breakers (routing/provider-health.ts). */
  readonly health: ProviderHealth;
  /** Session → provider and key that served it last (routing/session-affinity.ts). */
  readonly affinity: SessionAffinity;
  /** Randomness for weighted targets and backoff jitter; tests pass a seeded one. */
  readonly random: () => number;
  /** Waits between retries; tests pass one that moves a ManualClock instead of sleeping. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Called with a warning meant for operators (unknown prices, dropped labels …); deduplicated by the caller. */
  readonly warn: (message: string) => void;
}
