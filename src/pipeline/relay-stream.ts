import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Dialect, StreamMeter } from "../dialects/dialect.ts";
import { renderStreamError } from "../dialects/errors.ts";
import { createStreamMeter } from "../dialects/meters.ts";
import type { GatewayError } from "../errors/catalog.ts";
import { estimateInputTokensFromRequestBytes } from "../metering/estimate.ts";
import { totalInputTokens } from "../metering/usage.ts";
import { clientResponseHeaders } from "../passthrough/headers.ts";
import { upstreamFailure } from "../passthrough/upstream-errors.ts";
import { UsageChunkFilter } from "../passthrough/usage-chunk-filter.ts";
import type { CallState } from "./call-state.ts";
import type { Relay } from "./relay-body.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { applyUsage, finish } from "./settle.ts";

/**
 * A streaming reply: each upstream chunk is written to the client as it arrives, then handed to the dialect's
 * meter (a side parse of a copy). Backpressure from a slow client pauses the upstream. Whatever ends the stream
 * — its final event, a cut, an idle timeout, the client leaving — the row is metered from what was seen.
 */
export class StreamRelay implements Relay {
  readonly #rt: GatewayRuntime;
  readonly #state: CallState;
  readonly #dialect: Dialect;
  readonly #res: ServerResponse;
  readonly #requestBytes: number;
  readonly #meter: StreamMeter;
  readonly #filter: UsageChunkFilter | null;
  readonly #resume: () => void;
  #ended = false;

  constructor(
    rt: GatewayRuntime,
    state: CallState,
    dialect: Dialect,
    res: ServerResponse,
    upstream: { status: number; headers: IncomingHttpHeaders },
    options: { requestBytes: number; injectedUsage: boolean; resume: () => void },
  ) {
    this.#rt = rt;
    this.#state = state;
    this.#dialect = dialect;
    this.#res = res;
    this.#requestBytes = options.requestBytes;
    this.#meter = createStreamMeter(dialect);
    this.#filter = options.injectedUsage ? new UsageChunkFilter() : null;
    this.#resume = options.resume;
    const headers = clientResponseHeaders(upstream.headers);
    headers["x-tollgate-request-id"] = state.record.id;
    state.record.status = upstream.status;
    res.writeHead(upstream.status, headers);
    res.flushHeaders();
  }

  onData(chunk: Buffer): boolean {
    const out = this.#filter ? this.#filter.push(chunk) : chunk;
    const flowing = out.length === 0 || this.#res.write(out);
    this.#meter.push(chunk);
    if (this.#state.record.ttftMs === null && this.#meter.result().contentStarted) {
      this.#state.record.ttftMs = Math.round(performance.now() - this.#state.t0);
    }
    if (!flowing) this.#res.once("drain", this.#resume);
    return flowing;
  }

  onEnd(): void {
    if (this.#filter) {
      const rest = this.#filter.end();
      if (rest.length > 0 && !this.#res.destroyed) this.#res.write(rest);
    }
    this.#settle(null, false);
  }

  onError(err: Error): void {
    const failure = upstreamFailure(err, this.#state.record.provider ?? "upstream");
    if (!this.#res.destroyed) this.#res.write(renderStreamError(this.#dialect, failure));
    this.#settle(failure, false);
  }

  clientGone(): void {
    this.#settle(null, true);
  }

  #settle(failure: GatewayError | null, clientGone: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#meter.end();
    const m = this.#meter.result();
    const { record } = this.#state;
    if (clientGone) {
      record.errorCode = "TG_CLIENT_CLOSED";
      record.errorMessage = "The client disconnected before the stream ended; the upstream call was aborted.";
    } else if (failure) {
      record.errorCode = failure.code;
      record.errorMessage = failure.message;
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
      usage.input = estimateInputTokensFromRequestBytes(this.#requestBytes);
    applyUsage(this.#rt, this.#state, usage, m.servedModel, estimated);
    if (!this.#res.destroyed) this.#res.end();
    finish(this.#rt, this.#state);
  }
}
