import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Dialect } from "../dialects/dialect.ts";
import type { GatewayError } from "../errors/catalog.ts";
import { upstreamFailure } from "../passthrough/upstream-errors.ts";
import { UpstreamExchange } from "../passthrough/upstream-exchange.ts";
import { CommitDetector } from "../routing/commit-point.ts";
import type { CallState } from "./call-state.ts";
import type { Relay } from "./relay-body.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { failBeforeUpstream, settleClientGone } from "./settle.ts";

/** What a relay may ask of the exchange: resume a paused upstream, or stop it (a budget cut). */
export interface ExchangeControls {
  resume: () => void;
  stop: () => void;
}

export interface UpstreamCall {
  request: { origin: string; path: string; method: "POST"; headers: Record<string, string>; body: Buffer };
  relay: (status: number, headers: IncomingHttpHeaders, controls: ExchangeControls) => Relay;
}

/** Why an attempt was given up before anything reached the client. */
export interface AttemptFailure {
  /** The upstream's status, or null when it never answered (connect error, timeout, reset). */
  status: number | null;
  headers: IncomingHttpHeaders | null;
  /** `upstream_429`, `TG_UPSTREAM_UNREACHABLE`, `overloaded_error` … (for the attempt record). */
  reason: string;
  /** The mapped error for a failure without a reply (to answer with when no attempt is left). */
  error: GatewayError | null;
}

/** `done`: the call is over and answered (its row is queued or will be). `failed`: nothing was sent; try again. */
export type ExchangeOutcome = { kind: "done" } | { kind: "failed"; failure: AttemptFailure };

export const DONE: ExchangeOutcome = { kind: "done" };

/**
 * Retry questions the attempt loop answers synchronously, at the moment a failure is seen: true means "drop this
 * reply, another attempt follows"; false means "relay it to the client as it is" (the last attempt, or a reply
 * that is not worth retrying). Absent: a single attempt, relayed whatever happens.
 */
export interface RetryHooks {
  /** The upstream answered `status` (not yet relayed). */
  retryStatus(status: number, headers: IncomingHttpHeaders): boolean;
  /** The call failed before any reply, or a stream failed before its first content event. */
  retryFailure(failure: AttemptFailure): boolean;
  /**
   * The SSE dialect of the upstream's stream, to hold its preamble until the first content event (the commit point);
   * null when the reply is not SSE the gateway can read (AWS event streams) or not a stream.
   */
  commitDialect: Dialect | null;
}

/**
 * Sends one upstream request and drives the relay `call.relay` builds for its reply; resolves when the call is over
 * (its row queued) or, with retry hooks, when it failed in a way the caller retries (nothing sent to the client).
 * The client leaving aborts the upstream call.
 */
export function exchange(
  rt: GatewayRuntime,
  state: CallState,
  res: ServerResponse,
  providerName: string,
  requestBytes: number,
  call: UpstreamCall,
  hooks: RetryHooks | null = null,
): Promise<ExchangeOutcome> {
  return new Promise<ExchangeOutcome>((resolve) => {
    let relay: Relay | null = null;
    /** A stream whose preamble is held until the commit point (retry hooks with an SSE dialect only). */
    let gate: { detector: CommitDetector; held: Buffer[]; status: number; headers: IncomingHttpHeaders } | null = null;
    let settled = false;
    const finish = (outcome: ExchangeOutcome) => {
      if (settled) return;
      settled = true;
      res.off("close", onClose);
      resolve(outcome);
    };
    const giveUp = (failure: AttemptFailure) => {
      ended();
      upstream.abort();
      finish({ kind: "failed", failure });
    };
    // Upstream time (metrics): dispatch until the response ended, however it ended; set before the relay settles.
    const ended = () => {
      if (state.upstreamEnd === 0) state.upstreamEnd = performance.now();
    };
    const controls: ExchangeControls = {
      resume: () => upstream.resume(),
      stop: () => {
        ended();
        upstream.abort();
        finish(DONE);
      },
    };
    /** The commit point: the held preamble goes to a relay built now, then the stream flows. */
    const commit = (): boolean => {
      if (gate === null) return true;
      const { held, status, headers } = gate;
      gate = null;
      relay = call.relay(status, headers, controls);
      let flowing = true;
      for (const chunk of held) flowing = relay.onData(chunk);
      return flowing;
    };
    const upstream = new UpstreamExchange({
      onStart(status, headers) {
        if (hooks !== null && status >= 400 && hooks.retryStatus(status, headers)) {
          giveUp({ status, headers, reason: `upstream_${status}`, error: null });
          return;
        }
        if (hooks?.commitDialect && status < 300 && isEventStream(headers)) {
          gate = { detector: new CommitDetector(hooks.commitDialect), held: [], status, headers };
          return;
        }
        relay = call.relay(status, headers, controls);
      },
      onData(chunk) {
        if (gate === null) return relay?.onData(chunk) ?? true;
        gate.held.push(chunk);
        const verdict = gate.detector.push(chunk);
        if (verdict.kind === "pending") return true;
        if (verdict.kind === "failed") {
          const failure = { status: gate.status, headers: gate.headers, reason: verdict.reason, error: null };
          if (hooks?.retryFailure(failure)) {
            giveUp(failure);
            return false;
          }
        }
        return commit();
      },
      onEnd() {
        ended();
        if (gate !== null) {
          const verdict = gate.detector.end();
          if (verdict.kind === "failed") {
            const failure = { status: gate.status, headers: gate.headers, reason: verdict.reason, error: null };
            if (hooks?.retryFailure(failure)) return finish({ kind: "failed", failure });
          }
          commit();
        }
        relay?.onEnd();
        finish(DONE);
      },
      onError(err, started) {
        ended();
        const error = upstreamFailure(err, providerName);
        if (!started || gate !== null) {
          const failure = { status: gate?.status ?? null, headers: gate?.headers ?? null, reason: error.code, error };
          if (hooks?.retryFailure(failure)) return finish({ kind: "failed", failure });
          if (gate !== null) commit();
        }
        if (relay) relay.onError(err);
        else failBeforeUpstream(rt, state, res, error);
        finish(DONE);
      },
    });
    // The client leaving aborts the upstream call at once: no more tokens are generated (or billed) for nobody.
    function onClose(): void {
      if (settled || res.writableFinished) return;
      ended();
      upstream.abort();
      if (relay) relay.clientGone();
      else settleClientGone(rt, state, requestBytes);
      finish(DONE);
    }
    res.once("close", onClose);
    state.upstreamStart = performance.now();
    state.upstreamEnd = 0;
    upstream.dispatch(rt.upstream, call.request);
  });
}

function isEventStream(headers: IncomingHttpHeaders): boolean {
  const ct = headers["content-type"];
  return typeof ct === "string" && ct.includes("text/event-stream");
}
