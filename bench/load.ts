import { createHistogram, performance, type RecordableHistogram } from "node:perf_hooks";
import autocannon from "autocannon";

export interface LoadTarget {
  /** Full URL, always on 127.0.0.1. */
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  connections: number;
  /** False marks a response as a mismatch (e.g. a stream without its final event). */
  verifyBody: (body: string) => boolean;
}

/** What one autocannon run measured. */
export interface Phase {
  /** Responses received (any status). */
  responses: number;
  non2xx: number;
  /** Connection errors and timeouts (timeouts are also counted separately). */
  errors: number;
  timeouts: number;
  mismatches: number;
  /** From the first request to the last response. */
  elapsedMs: number;
  /** Response bytes including headers. */
  bytes: number;
  /** Latency of every response, in microseconds. */
  latencyMicros: RecordableHistogram;
  /** True when the time guard had to stop the run (requests in flight were aborted). */
  stoppedByGuard: boolean;
}

/** One or more consecutive phases, summed up. */
export interface PhaseResult {
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  elapsedMs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Mean response size including headers, to spot a gateway that changes what it forwards. */
  meanResponseBytes: number;
  stoppedByGuard: boolean;
}

export function summarizePhases(phases: readonly Phase[]): PhaseResult {
  const sum = (pick: (p: Phase) => number): number => phases.reduce((total, p) => total + pick(p), 0);
  const latency = createHistogram();
  for (const phase of phases) latency.add(phase.latencyMicros);
  const responses = sum((p) => p.responses);
  const elapsedMs = sum((p) => p.elapsedMs);
  const ms = (micros: number): number => (responses > 0 ? micros / 1000 : 0);
  return {
    responses,
    non2xx: sum((p) => p.non2xx),
    errors: sum((p) => p.errors),
    timeouts: sum((p) => p.timeouts),
    mismatches: sum((p) => p.mismatches),
    elapsedMs,
    requestsPerSecond: elapsedMs > 0 ? (responses * 1000) / elapsedMs : 0,
    p50Ms: ms(latency.percentile(50)),
    p99Ms: ms(latency.percentile(99)),
    meanMs: ms(latency.mean),
    maxMs: ms(latency.max),
    meanResponseBytes: responses > 0 ? sum((p) => p.bytes) / responses : 0,
    stoppedByGuard: phases.some((p) => p.stoppedByGuard),
  };
}

/**
 * Sends exactly `amount` requests over `target.connections` keep-alive connections and waits for every answer.
 * A fixed count rather than a fixed duration, so no request is left in flight when the phase ends: the gateway's
 * request log can then be compared to the responses one for one. `guardMs` bounds the phase in time regardless.
 */
export function runPhase(target: LoadTarget, amount: number, guardMs: number): Promise<Phase> {
  const connections = Math.min(target.connections, amount);
  // autocannon's own latency histogram has 1 ms resolution; sub-millisecond overhead needs microseconds.
  const latencyMicros = createHistogram();
  let responses = 0;
  let bytes = 0;
  let lastResponseAt = 0;
  let stoppedByGuard = false;
  const startedAt = performance.now();

  return new Promise<Phase>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: "POST",
        headers: target.headers,
        body: target.body,
        connections,
        amount,
        timeout: 30,
        // Checked this often for the end of the run; the default (1 s) would pad every phase.
        sampleInt: 50,
        verifyBody: target.verifyBody,
      },
      (error, result) => {
        clearTimeout(guard);
        if (error) {
          reject(error);
          return;
        }
        resolve({
          responses,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches,
          elapsedMs: (lastResponseAt || performance.now()) - startedAt,
          bytes,
          latencyMicros,
          stoppedByGuard,
        });
      },
    );
    instance.on("response", (_client: unknown, _status: number, resBytes: number, responseTimeMs: number) => {
      responses++;
      bytes += resBytes;
      lastResponseAt = performance.now();
      latencyMicros.record(Math.max(1, Math.round(responseTimeMs * 1000)));
    });
    const guard = setTimeout(() => {
      stoppedByGuard = true;
      instance.stop();
    }, guardMs);
  });
}
