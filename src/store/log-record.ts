import type { Dialect } from "../dialects/dialect.ts";

/**
 * One row of the request log: everything Tollgate knows about one client request once it has ended.
 * Token buckets follow `Usage` (metering/usage.ts). Money is integer nano-dollars (1e-9 USD); null means the price
 * is unknown, never zero.
 */
export interface RequestLogRecord {
  /** Time-ordered unique id (UUIDv7), also the `x-tollgate-request-id` header. */
  id: string;
  /** Request start, milliseconds since the epoch. */
  startedAt: number;
  /** The client's wire format. */
  dialect: Dialect;
  /** The route path the client called, without the query string. */
  endpoint: string;
  stream: boolean;
  /** Provider that served (or was meant to serve) the request; null when none was resolved. */
  provider: string | null;
  /** Id of the provider API key used (never the secret). */
  providerKeyId: string | null;
  requestedModel: string | null;
  servedModel: string | null;
  /** HTTP status returned to the client (for streams, the status sent before the body). */
  status: number;
  /** Stable error code from the error catalog, or the upstream's error type; null on success. */
  errorCode: string | null;
  errorMessage: string | null;
  /** Total time until the response ended, ms. */
  latencyMs: number;
  /** Time until the first model token was forwarded, ms; null when none was. */
  ttftMs: number | null;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Integer nano-dollars, or null when the price is unknown. */
  costNanoUsd: number | null;
  /** Version of the price catalog the cost was computed with. */
  priceVersion: string | null;
  /** True when usage (or part of it) was estimated rather than reported by the provider. */
  usageEstimated: boolean;
  /** Coding-agent session id, when the client sends one. */
  sessionId: string | null;
  /** claude-code | codex | gemini-cli | opencode | cursor | <sdk name> | unknown. */
  agent: string | null;
  agentVersion: string | null;
  /** Claude Code subagent id and its parent. */
  agentId: string | null;
  parentAgentId: string | null;
  /** Codex turn id and workspace, when sent. */
  turnId: string | null;
  workspace: string | null;
  /** Free labels from `x-tollgate-label-<name>` headers. */
  labels: Record<string, string>;
  clientIp: string | null;
  userAgent: string | null;
  /** The virtual key that authenticated the request; null in anonymous mode. */
  virtualKeyId: string | null;
  /** The key's team, customer and developer when the request was served. */
  teamId: string | null;
  customerId: string | null;
  developerId: string | null;
  /** The provider's wire format when the request was translated into it; null for passthrough. */
  upstreamDialect: Dialect | null;
  /** What translation could not carry across (a dropped tool, an unsupported parameter …); empty when nothing. */
  warnings: string[];
  /** The routing rule that chose the target (its name); null when no rule matched. */
  routingRule: string | null;
  /** Every upstream attempt in order, when there was more than one or a rule/fallback was involved; else empty. */
  attempts: UpstreamAttempt[];
  /** A response-cache hit's layer; null when the request was not served from the cache. */
  cacheHit: "exact" | "semantic" | null;
  /** What a cache hit saved (the cached request's cost), nano-dollars; null when not a hit or the price is unknown. */
  cacheSavedNanoUsd: number | null;
}

/** One try at an upstream: which provider, key and model, how it ended and how long it took. */
export interface UpstreamAttempt {
  provider: string;
  /** Provider API key id (never the secret); null when none was used. */
  providerKeyId: string | null;
  model: string;
  /** HTTP status the upstream answered; null when it never answered (connect error, timeout, reset). */
  status: number | null;
  latencyMs: number;
  /** Why this attempt failed (`upstream_429`, `connect_refused`, `overloaded_before_content` …); null when it served. */
  error: string | null;
}
