import { performance } from "node:perf_hooks";
import {
  type Attributes,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from "@opentelemetry/sdk-trace";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import type { CallState } from "../pipeline/call-state.ts";
import type { CallTracer } from "../pipeline/runtime.ts";
import type { ProviderConfig } from "../providers/types.ts";
import { VERSION } from "../version.ts";
import type { TelemetryConfig } from "./config.ts";

/** Tracing off: the pipeline checks `enabled` once and builds nothing. */
export const NO_TRACER: CallTracer = { enabled: false, ended() {}, async close() {} };

export function createTracer(config: TelemetryConfig | null): CallTracer {
  return config ? new OtlpCallTracer(config) : NO_TRACER;
}

/**
 * One trace per model call, built when the call ends from the timings the pipeline kept (so the hot path only
 * records numbers): the call span (GenAI semantic conventions), with children for admission, the upstream attempt
 * (an HTTP client span) and, for streams, a first-token event. Exported in batches over OTLP.
 */
export class OtlpCallTracer implements CallTracer {
  readonly enabled = true;
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;

  constructor(config: TelemetryConfig) {
    this.#provider = new TracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: VERSION }),
      spanProcessors: [new BatchSpanProcessor({ exporter: exporterFor(config) })],
    });
    this.#tracer = this.#provider.getTracer("tollgate", VERSION);
  }

  ended(state: CallState, endPerf: number): void {
    try {
      this.#call(state, endPerf);
    } catch {
      // A span that cannot be built is lost; the request it describes is not.
    }
  }

  #call(state: CallState, endPerf: number): void {
    const r = state.record;
    const model = r.requestedModel ?? state.upstreamModel;
    const operation = operationOf(r.endpoint);
    const system = state.provider ? genAiProvider(state.provider) : null;
    const attributes: Attributes = {
      "gen_ai.operation.name": operation,
      "tollgate.request_id": r.id,
      "tollgate.dialect": r.dialect,
      "tollgate.stream": r.stream,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: r.status,
    };
    if (system) {
      attributes["gen_ai.provider.name"] = system;
      attributes["gen_ai.system"] = system;
      attributes["tollgate.provider"] = r.provider ?? "";
    }
    if (model) attributes["gen_ai.request.model"] = model;
    if (r.servedModel) attributes["gen_ai.response.model"] = r.servedModel;
    // GenAI semconv: input_tokens counts every input token, cached ones included; the cache parts are given apart.
    const cacheWrite = r.cacheWrite5mTokens + r.cacheWrite1hTokens;
    attributes["gen_ai.usage.input_tokens"] = r.inputTokens + r.cacheReadTokens + cacheWrite;
    attributes["gen_ai.usage.output_tokens"] = r.outputTokens;
    attributes["gen_ai.usage.cache_read.input_tokens"] = r.cacheReadTokens;
    attributes["gen_ai.usage.cache_creation.input_tokens"] = cacheWrite;
    if (r.reasoningTokens > 0) attributes["gen_ai.usage.reasoning.output_tokens"] = r.reasoningTokens;
    if (r.costNanoUsd !== null) attributes["tollgate.cost_usd"] = r.costNanoUsd / 1e9;
    if (r.usageEstimated) attributes["tollgate.usage_estimated"] = true;
    setIf(attributes, "tollgate.virtual_key_id", r.virtualKeyId);
    setIf(attributes, "tollgate.team_id", r.teamId);
    setIf(attributes, "tollgate.customer_id", r.customerId);
    setIf(attributes, "tollgate.developer_id", r.developerId);
    setIf(attributes, "session.id", r.sessionId);
    setIf(attributes, "tollgate.session_id", r.sessionId);
    setIf(attributes, "tollgate.agent", r.agent);
    setIf(attributes, "gen_ai.agent.id", r.agentId);
    setIf(attributes, "tollgate.parent_agent_id", r.parentAgentId);
    if (r.errorCode) attributes[ATTR_ERROR_TYPE] = r.errorCode;

    const call = this.#tracer.startSpan(
      model ? `${operation} ${model}` : operation,
      { kind: SpanKind.SERVER, startTime: epoch(state.t0), attributes },
      ROOT_CONTEXT,
    );
    const parent = trace.setSpan(ROOT_CONTEXT, call);
    const admission = state.admission;
    if (admission) {
      const span = this.#tracer.startSpan("admission", { startTime: epoch(admission.start) }, parent);
      if (admission.refused) span.setStatus({ code: SpanStatusCode.ERROR, message: r.errorCode ?? "refused" });
      span.end(epoch(admission.end));
    }
    this.#failedAttempts(state, parent);
    if (state.upstreamStart > 0) this.#attempt(state, parent, endPerf);
    if (r.ttftMs !== null) {
      call.addEvent("gen_ai.first_token", { "tollgate.ttft_ms": r.ttftMs }, epoch(state.t0 + r.ttftMs));
    }
    if (r.status >= 400 || r.errorCode) setError(call, r.errorCode ?? `HTTP ${r.status}`, r.errorMessage);
    call.end(epoch(endPerf));
  }

  /** Attempts given up before the one that answered (retries, fallbacks): one client span each, with its error. */
  #failedAttempts(state: CallState, parent: ReturnType<typeof trace.setSpan>): void {
    const attempts = state.record.attempts;
    for (let i = 0; i < attempts.length - 1; i++) {
      const attempt = attempts[i];
      const start = state.attemptStarts[i];
      if (attempt === undefined || start === undefined) continue;
      const attributes: Attributes = {
        [ATTR_HTTP_REQUEST_METHOD]: "POST",
        "tollgate.attempt": i + 1,
        "tollgate.provider": attempt.provider,
        "gen_ai.request.model": attempt.model,
      };
      if (attempt.status !== null) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = attempt.status;
      const span = this.#tracer.startSpan(
        `POST ${attempt.provider}`,
        { kind: SpanKind.CLIENT, startTime: epoch(start), attributes },
        parent,
      );
      setError(span, attempt.error ?? "failed", null);
      span.end(epoch(start + attempt.latencyMs));
    }
  }

  /** The upstream HTTP request: from dispatch to the end of its response, with the status the provider answered. */
  #attempt(state: CallState, parent: ReturnType<typeof trace.setSpan>, endPerf: number): void {
    const r = state.record;
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: "POST",
      "tollgate.attempt": Math.max(1, r.attempts.length),
    };
    const server = state.provider ? serverOf(state.provider.baseUrl) : null;
    if (server) {
      attributes[ATTR_SERVER_ADDRESS] = server.host;
      if (server.port) attributes[ATTR_SERVER_PORT] = server.port;
    }
    // TG_UPSTREAM_* codes: the provider never answered (timeout, reset, unreachable); else its status is the call's.
    const transport = r.errorCode?.startsWith("TG_UPSTREAM_") ?? false;
    if (!transport && r.status > 0 && r.status !== 499) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = r.status;
    const span = this.#tracer.startSpan(
      `POST ${state.provider?.name ?? "upstream"}`,
      { kind: SpanKind.CLIENT, startTime: epoch(state.upstreamStart), attributes },
      parent,
    );
    if (transport) setError(span, r.errorCode ?? "upstream", r.errorMessage);
    else if (r.status >= 400 && r.status !== 499) setError(span, String(r.status), r.errorMessage);
    span.end(epoch(state.upstreamEnd || endPerf));
  }

  /** Exports what is queued (shutdown). */
  async close(): Promise<void> {
    await this.#provider.shutdown();
  }
}

function exporterFor(config: TelemetryConfig): SpanExporter {
  switch (config.protocol) {
    case "grpc":
      return new GrpcExporter({ url: config.url });
    case "http/json":
      return new JsonExporter({ url: config.url });
    default:
      return new ProtoExporter({ url: config.url });
  }
}

function setError(span: Span, type: string, message: string | null): void {
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
}

function setIf(attributes: Attributes, name: string, value: string | null): void {
  if (value !== null && value !== "") attributes[name] = value;
}

/** performance.now() → epoch milliseconds (what span times are given in). */
function epoch(perf: number): number {
  return performance.timeOrigin + perf;
}

/** GenAI operation names: chat for the chat dialects' endpoints, embeddings and token counting by path. */
function operationOf(endpoint: string): string {
  if (endpoint.includes("embed")) return "embeddings";
  if (endpoint.includes("count_tokens") || endpoint.includes("countTokens")) return "count_tokens";
  if (endpoint.endsWith("/completions") && !endpoint.endsWith("/chat/completions")) return "text_completion";
  return "chat";
}

/** Well-known gen_ai.provider.name values; OpenAI-compatible providers go by their own name. */
function genAiProvider(provider: ProviderConfig): string {
  switch (provider.kind) {
    case "anthropic":
      return "anthropic";
    case "gemini":
      return "gcp.gemini";
    case "vertex":
      return "gcp.vertex_ai";
    case "bedrock":
      return "aws.bedrock";
    case "azure":
      return "azure.ai.openai";
    default:
      return provider.name;
  }
}

function serverOf(baseUrl: string): { host: string; port: number | null } | null {
  try {
    const u = new URL(baseUrl);
    return { host: u.hostname, port: u.port ? Number(u.port) : null };
  } catch {
    return null;
  }
}
