import { createHistogram, performance } from "node:perf_hooks";
import { Client } from "undici";
import type { LoadTarget, Phase } from "./load.ts";

// An open-loop load generator: requests leave at evenly spaced times whatever the server's speed, so latency is
// measured below saturation. autocannon's `overallRate` cannot do this: it gives each connection a per-second quota
// that the connection spends back to back at the start of every second, so all connections burst together and the
// burst is measured at saturation again (p50 ~3 ms instead of ~0.4 ms against the mock at 1,000 req/s).

export interface PacedPhase extends Phase {
  /** Requests that found all connections busy and had to wait for one: a sign the rate was not sustained. */
  waitedForConnection: number;
}

const timeoutCodes = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const requestTimeoutMs = 30_000;

/**
 * Sends exactly `amount` requests at `ratePerSecond`, spaced evenly, over `target.connections` keep-alive
 * connections used in turn, and waits for every answer. Latency runs from handing a request to a connection to the
 * end of its response body. `bytes` counts response bodies only (headers are not visible here).
 */
export function runPacedPhase(
  target: LoadTarget,
  ratePerSecond: number,
  amount: number,
  guardMs: number,
): Promise<PacedPhase> {
  const url = new URL(target.url);
  const path = `${url.pathname}${url.search}`;
  const clients = Array.from(
    { length: Math.min(target.connections, amount) },
    () => new Client(url.origin, { pipelining: 1, headersTimeout: requestTimeoutMs, bodyTimeout: requestTimeoutMs }),
  );
  // First-in first-out, so every connection takes its turn (as with autocannon's fixed set of connections).
  const idle = [...clients];
  const latencyMicros = createHistogram();
  const counts = { responses: 0, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, bytes: 0, waited: 0 };
  let scheduled = 0;
  /** Requests that are due but found no idle connection; sent as connections free up. */
  let queued = 0;
  let settled = 0;
  let lastResponseAt = 0;
  let stoppedByGuard = false;
  let finished = false;
  let pacer: NodeJS.Timeout | undefined;
  const intervalMs = 1000 / ratePerSecond;
  const startedAt = performance.now();

  return new Promise<PacedPhase>((resolve) => {
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      clearTimeout(pacer);
      const closing = clients.map((c) => (stoppedByGuard ? c.destroy() : c.close()).catch(() => undefined));
      void Promise.all(closing).then(() =>
        resolve({
          responses: counts.responses,
          non2xx: counts.non2xx,
          errors: counts.errors,
          timeouts: counts.timeouts,
          mismatches: counts.mismatches,
          elapsedMs: (lastResponseAt || performance.now()) - startedAt,
          bytes: counts.bytes,
          latencyMicros,
          stoppedByGuard,
          waitedForConnection: counts.waited,
        }),
      );
    };

    const send = async (client: Client): Promise<void> => {
      const sentAt = performance.now();
      try {
        const response = await client.request({ path, method: "POST", headers: target.headers, body: target.body });
        const body = await response.body.text();
        if (finished) return;
        const now = performance.now();
        counts.responses++;
        counts.bytes += Buffer.byteLength(body);
        lastResponseAt = now;
        latencyMicros.record(Math.max(1, Math.round((now - sentAt) * 1000)));
        if (response.statusCode < 200 || response.statusCode > 299) counts.non2xx++;
        else if (!target.verifyBody(body)) counts.mismatches++;
      } catch (error) {
        if (finished) return;
        counts.errors++;
        const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
        if (typeof code === "string" && timeoutCodes.has(code)) counts.timeouts++;
      }
      settled++;
      if (settled === amount) {
        finish();
      } else if (queued > 0) {
        queued--;
        void send(client);
      } else {
        idle.push(client);
      }
    };

    // Sends every request that is due by now; a late timer catches up, so the average rate holds.
    const tick = (): void => {
      const due = Math.min(amount, Math.floor((performance.now() - startedAt) / intervalMs) + 1);
      for (; scheduled < due; scheduled++) {
        const client = idle.shift();
        if (client) {
          void send(client);
        } else {
          counts.waited++;
          queued++;
        }
      }
      if (scheduled < amount)
        pacer = setTimeout(tick, Math.max(0, startedAt + scheduled * intervalMs - performance.now()));
    };

    const guard = setTimeout(() => {
      stoppedByGuard = true;
      finish();
    }, guardMs);
    tick();
  });
}
