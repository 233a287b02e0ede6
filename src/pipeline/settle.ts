import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { StreamMetering } from "../dialects/dialect.ts";
import { errorFamilyOf } from "../dialects/dialect.ts";
import { renderError } from "../dialects/errors.ts";
import { GatewayError } from "../errors/catalog.ts";
import { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
import { emptyUsage, totalInputTokens, type Usage } from "../metering/usage.ts";
import type { CallState } from "./call-state.ts";
import type { GatewayRuntime } from "./runtime.ts";

/** Usage and cost onto the record. Unknown price stays null (never $0) and is surfaced as a warning. */
export function applyUsage(
  rt: GatewayRuntime,
  state: CallState,
  usage: Usage,
  servedModel: string | null,
  estimated: boolean,
): void {
  const r = state.record;
  r.servedModel = servedModel ?? state.upstreamModel;
  r.inputTokens = usage.input;
  r.cacheReadTokens = usage.cacheRead;
  r.cacheWrite5mTokens = usage.cacheWrite5m;
  r.cacheWrite1hTokens = usage.cacheWrite1h;
  r.outputTokens = usage.output;
  r.reasoningTokens = usage.reasoning;
  r.usageEstimated = estimated;
  const provider = state.provider;
  if (!provider) return;
  // Bedrock answers with Anthropic's short model name; its price depends on the inference profile (global or
  // regional) that only the requested id names.
  const model = (provider.kind === "bedrock" ? state.upstreamModel : null) ?? r.servedModel ?? r.requestedModel ?? "";
  const quote = rt.prices.cost(provider.pricingId ?? provider.name, model, usage);
  r.costNanoUsd = quote.costNanoUsd;
  r.priceVersion = quote.priceVersion;
  if (quote.costNanoUsd === null) rt.unpriced.record(provider.name, model, r.startedAt);
  for (const w of quote.warnings) rt.warn(w);
}

/** Ends the request: latency, then the log row (the writer only queues it) and the metrics. */
export function finish(rt: GatewayRuntime, state: CallState): void {
  const now = performance.now();
  const durationMs = now - state.t0;
  state.record.latencyMs = Math.round(durationMs);
  const attempt = state.openAttempt;
  if (attempt !== null) {
    // The attempt that answered the client ends with the request.
    state.openAttempt = null;
    attempt.status = state.record.status;
    attempt.latencyMs = Math.round(now - (state.upstreamStart || now));
    attempt.error = state.record.status >= 400 || state.record.errorCode !== null ? state.record.errorCode : null;
  }
  rt.logs.write(state.record);
  const r = state.record;
  const start = state.upstreamStart;
  rt.metrics.observe(r, { durationMs, upstreamMs: start === 0 ? null : (state.upstreamEnd || now) - start });
  if (rt.tracer.enabled) rt.tracer.ended(state, now);
  const tokens = r.inputTokens + r.cacheReadTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens + r.outputTokens;
  const hold = state.hold;
  if (hold) {
    state.hold = null;
    // Nothing billed (refused, failed before the provider answered): free the hold; else commit what it cost.
    void (tokens > 0
      ? rt.budgets.settle(hold, r.costNanoUsd, r.usageEstimated ? null : usageOf(r), r.sessionId)
      : rt.budgets.release(hold));
  }
  const sessionHold = state.sessionHold;
  if (sessionHold) {
    state.sessionHold = null;
    void rt.sessions.settle(sessionHold, r.costNanoUsd, tokens > 0);
  }
  const ticket = state.ticket;
  if (ticket) {
    state.ticket = null;
    void rt.rates.settle(ticket, tokens);
  }
}

function usageOf(r: CallState["record"]): Usage {
  return {
    input: r.inputTokens,
    cacheRead: r.cacheReadTokens,
    cacheWrite5m: r.cacheWrite5mTokens,
    cacheWrite1h: r.cacheWrite1hTokens,
    output: r.outputTokens,
    reasoning: r.reasoningTokens,
  };
}

/**
 * Ends a streamed reply from what its meter saw: the reason it ended (client gone, a failure, an in-band error, no
 * final event) on the record, usage (input estimated from the request when the stream never reported it), the row.
 */
export function settleStream(
  rt: GatewayRuntime,
  state: CallState,
  m: StreamMetering,
  ending: { failure: { code: string; message: string } | null; clientGone: boolean; requestBytes: number },
): void {
  const { record } = state;
  if (ending.clientGone) {
    record.errorCode = "TG_CLIENT_CLOSED";
    record.errorMessage = "The client disconnected before the stream ended; the upstream call was aborted.";
  } else if (ending.failure) {
    record.errorCode = ending.failure.code;
    record.errorMessage = ending.failure.message;
  } else if (m.error) {
    record.errorCode = m.error.type;
    record.errorMessage = m.error.message;
  } else if (!m.finished) {
    record.errorCode = "TG_UPSTREAM_STREAM_INCOMPLETE";
    record.errorMessage = "The upstream stream ended before its final event.";
  }
  const usage = { ...m.usage };
  const estimated = m.estimated || !m.finished;
  // Input unknown until the end (OpenAI, Gemini): estimate it from the request rather than record nothing.
  if (estimated && totalInputTokens(usage) === 0)
    usage.input = estimateInputTokensFromRequestBytes(ending.requestBytes);
  applyUsage(rt, state, usage, m.servedModel, estimated);
}

/** The client left before the upstream answered: nothing to send; the prompt may be billed, so estimate it. */
export function settleClientGone(rt: GatewayRuntime, state: CallState, requestBytes: number): void {
  state.record.status = 499;
  state.record.errorCode = "TG_CLIENT_CLOSED";
  state.record.errorMessage = "The client disconnected before the response; the upstream call was aborted.";
  const usage = emptyUsage();
  usage.input = estimateInputTokensFromRequestBytes(requestBytes);
  applyUsage(rt, state, usage, null, true);
  finish(rt, state);
}

/** An error Tollgate answers itself, in the client's dialect, with a log row. */
export function failBeforeUpstream(rt: GatewayRuntime, state: CallState, res: ServerResponse, err: unknown): void {
  const gerr = err instanceof GatewayError ? err : new GatewayError("TG_INTERNAL", "Internal error.");
  if (!(err instanceof GatewayError)) rt.warn(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  const out = renderError(errorFamilyOf(state.record.dialect), gerr);
  state.record.status = out.status;
  state.record.errorCode = gerr.code;
  state.record.errorMessage = gerr.message;
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(out.status, {
      ...out.headers,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(out.body),
      "x-tollgate-request-id": state.record.id,
    });
    res.end(out.body);
  } else if (!res.destroyed) {
    res.end();
  }
  finish(rt, state);
}
