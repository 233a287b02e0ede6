import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { BodyMetering } from "../dialects/dialect.ts";
import { meterBody } from "../dialects/meters.ts";
import { emptyUsage } from "../metering/usage.ts";
import { clientResponseHeaders } from "../passthrough/headers.ts";
import { upstreamErrorSummary, upstreamFailure } from "../passthrough/upstream-errors.ts";
import type { CallState } from "./call-state.ts";
import type { RouteSpec } from "./ingress.ts";
import { formatUsd } from "./money.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { applyUsage, failBeforeUpstream, finish, settleClientGone } from "./settle.ts";

/** The part of a relay the pipeline drives: upstream events, and the client going away. */
export interface Relay {
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  onError(err: Error): void;
  clientGone(): void;
}

/**
 * A non-streaming reply (or any upstream error reply): collected whole, metered, priced, then sent with
 * `x-tollgate-cost-usd`. The bytes sent are the upstream's bytes.
 */
export class BodyRelay implements Relay {
  readonly #rt: GatewayRuntime;
  readonly #state: CallState;
  readonly #spec: RouteSpec;
  readonly #res: ServerResponse;
  readonly #status: number;
  readonly #headers: IncomingHttpHeaders;
  readonly #requestBytes: number;
  readonly #chunks: Buffer[] = [];

  constructor(
    rt: GatewayRuntime,
    state: CallState,
    spec: RouteSpec,
    res: ServerResponse,
    upstream: { status: number; headers: IncomingHttpHeaders },
    requestBytes: number,
  ) {
    this.#rt = rt;
    this.#state = state;
    this.#spec = spec;
    this.#res = res;
    this.#status = upstream.status;
    this.#headers = upstream.headers;
    this.#requestBytes = requestBytes;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onEnd(): void {
    const { record } = this.#state;
    const buf = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const metering = this.#meter(buf);
    applyUsage(this.#rt, this.#state, metering.usage, metering.servedModel, metering.estimated);
    const headers = clientResponseHeaders(this.#headers);
    headers["content-length"] = buf.length;
    headers["x-tollgate-request-id"] = record.id;
    headers["x-tollgate-cost-usd"] = record.costNanoUsd === null ? "unknown" : formatUsd(record.costNanoUsd);
    record.status = this.#status;
    if (!this.#res.destroyed) {
      this.#res.writeHead(this.#status, headers);
      this.#res.end(buf);
    }
    finish(this.#rt, this.#state);
  }

  onError(err: Error): void {
    failBeforeUpstream(
      this.#rt,
      this.#state,
      this.#res,
      upstreamFailure(err, this.#state.record.provider ?? "upstream"),
    );
  }

  clientGone(): void {
    settleClientGone(this.#rt, this.#state, this.#requestBytes);
  }

  #meter(buf: Buffer): BodyMetering {
    const none: BodyMetering = { usage: emptyUsage(), servedModel: null, estimated: false };
    const { record } = this.#state;
    if (this.#status >= 300) {
      const summary = upstreamErrorSummary(this.#status, buf);
      record.errorCode = summary.code;
      record.errorMessage = summary.message;
      return none;
    }
    // Token counting is free: its reply is a count, not usage.
    if (this.#spec.op === "count_tokens" || this.#spec.op === "countTokens") return none;
    try {
      return meterBody(this.#spec.dialect, JSON.parse(buf.toString("utf8")));
    } catch {
      record.errorCode = "TG_UPSTREAM_BAD_RESPONSE";
      record.errorMessage = "The upstream's success response was not valid JSON; usage unknown.";
      return none;
    }
  }
}
