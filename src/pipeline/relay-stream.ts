import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Dialect, StreamMeter } from "../dialects/dialect.ts";
import { renderStreamError } from "../dialects/errors.ts";
import { createStreamMeter } from "../dialects/meters.ts";
import type { GatewayError } from "../errors/catalog.ts";
import { type BudgetHold, streamCutError } from "../governance/budget-gate.ts";
import { totalInputTokens } from "../metering/usage.ts";
import { clientResponseHeaders } from "../passthrough/headers.ts";
import { upstreamFailure } from "../passthrough/upstream-errors.ts";
import { UsageChunkFilter } from "../passthrough/usage-chunk-filter.ts";
import type { CallState } from "./call-state.ts";
import type { Relay } from "./relay-body.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { finish, settleStream } from "./settle.ts";

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
  readonly #stop: () => void;
  /** The start of an event whose end has not arrived yet: held back so a cut or an error lands between events. */
  #tail: Buffer | null = null;
  /** Set while the stream waits for a top-up: the event that ran past the hold, and what arrived meanwhile. */
  #waiting: { unwritten: Buffer; parked: Buffer[]; ended: boolean } | null = null;
  #ended = false;

  constructor(
    rt: GatewayRuntime,
    state: CallState,
    dialect: Dialect,
    res: ServerResponse,
    upstream: { status: number; headers: IncomingHttpHeaders },
    options: { requestBytes: number; injectedUsage: boolean; resume: () => void; stop: () => void },
  ) {
    this.#rt = rt;
    this.#state = state;
    this.#dialect = dialect;
    this.#res = res;
    this.#requestBytes = options.requestBytes;
    this.#meter = createStreamMeter(dialect);
    this.#filter = options.injectedUsage ? new UsageChunkFilter() : null;
    this.#resume = options.resume;
    this.#stop = options.stop;
    const headers = clientResponseHeaders(upstream.headers);
    headers["x-tollgate-request-id"] = state.record.id;
    state.record.status = upstream.status;
    res.writeHead(upstream.status, headers);
    res.flushHeaders();
  }

  onData(chunk: Buffer): boolean {
    if (this.#waiting !== null) {
      // Bytes already on their way when the upstream was paused: kept for when the counters answer.
      this.#waiting.parked.push(chunk);
      return false;
    }
    return this.#take(chunk);
  }

  onEnd(): void {
    if (this.#waiting !== null) {
      this.#waiting.ended = true;
      return;
    }
    const rest = this.#filter ? this.#filter.end() : this.#tail;
    this.#tail = null;
    if (rest !== null && rest.length > 0 && !this.#res.destroyed) this.#res.write(rest);
    this.#settle(null, false);
  }

  onError(err: Error): void {
    this.#waiting = null;
    const failure = upstreamFailure(err, this.#state.record.provider ?? "upstream");
    // An event cut in half by the failure is dropped, so the error event that follows parses.
    this.#tail = null;
    if (!this.#res.destroyed) this.#res.write(renderStreamError(this.#dialect, failure));
    this.#settle(failure, false);
  }

  clientGone(): void {
    this.#waiting = null;
    this.#settle(null, true);
  }

  /** Meters and forwards one upstream chunk; false asks the upstream to pause. */
  #take(chunk: Buffer): boolean {
    const hold = this.#state.hold;
    if (hold?.mayOverrun(chunk.length)) {
      // This chunk could take the stream past what it holds: meter it event by event, to stop between two.
      const stop = this.#meterEvents(chunk, hold);
      if (stop !== null) {
        this.#write(chunk.subarray(0, stop.start));
        if (stop.verdict === "cut") {
          this.#cut(hold);
          return true;
        }
        // Ran up to its hold while a top-up is in flight: wait for the answer before writing more.
        this.#waiting = {
          unwritten: chunk.subarray(stop.start, stop.end),
          parked: stop.end < chunk.length ? [chunk.subarray(stop.end)] : [],
          ended: false,
        };
        void hold.settled().then(() => this.#afterWait(hold));
        return false;
      }
      return this.#write(chunk);
    }
    this.#meter.push(chunk);
    if (hold !== null || this.#state.record.ttftMs === null) this.#observe(hold);
    return this.#write(chunk);
  }

  /** The counters answered a top-up the stream was waiting for: go on, wait again, or cut. */
  #afterWait(hold: BudgetHold): void {
    const waiting = this.#waiting;
    if (waiting === null || this.#ended) return;
    const verdict = this.#observe(hold);
    if (verdict === "wait") {
      void hold.settled().then(() => this.#afterWait(hold));
      return;
    }
    if (verdict === "cut") {
      this.#waiting = null;
      this.#cut(hold);
      return;
    }
    this.#waiting = null;
    let flowing = this.#write(waiting.unwritten);
    for (let i = 0; i < waiting.parked.length; i++) {
      const again = this.#currentWait();
      if (again !== null) {
        // Waiting again: the rest stays parked, in order.
        again.parked.push(...waiting.parked.slice(i));
        break;
      }
      if (this.#ended) return;
      flowing = this.#take(waiting.parked[i] as Buffer) && flowing;
    }
    const again = this.#currentWait();
    if (again !== null) {
      if (waiting.ended) again.ended = true;
      return;
    }
    if (waiting.ended) this.onEnd();
    else if (flowing) this.#resume();
  }

  /** Read through a method: #take may start a new wait, which TypeScript's narrowing cannot see. */
  #currentWait(): { unwritten: Buffer; parked: Buffer[]; ended: boolean } | null {
    return this.#waiting;
  }

  /**
   * Meters `chunk` one event at a time. Null: all of it may be written. Otherwise where the event the budget
   * stopped at starts and ends, and whether to wait for the counters or cut.
   */
  #meterEvents(chunk: Buffer, hold: BudgetHold): { verdict: "wait" | "cut"; start: number; end: number } | null {
    let start = 0;
    for (let end = nextEventEnd(chunk, 0); end > 0; end = nextEventEnd(chunk, start)) {
      this.#meter.push(chunk.subarray(start, end));
      const verdict = this.#observe(hold);
      if (verdict !== "ok") return { verdict, start, end };
      start = end;
    }
    if (start === chunk.length) return null;
    this.#meter.push(chunk.subarray(start));
    const verdict = this.#observe(hold);
    return verdict === "ok" ? null : { verdict, start, end: chunk.length };
  }

  /** Reads the meter: time to first token, and the budget's verdict on the usage so far. */
  #observe(hold: BudgetHold | null): "ok" | "wait" | "cut" {
    const m = this.#meter.result();
    if (this.#state.record.ttftMs === null && m.contentStarted) {
      this.#state.record.ttftMs = Math.round(performance.now() - this.#state.t0);
    }
    return hold === null ? "ok" : hold.progress(m.usage, totalInputTokens(m.usage) > 0, m.estimated);
  }

  /** Writes whole events only (the usage filter forwards whole events too); false when the client is slow. */
  #write(bytes: Buffer): boolean {
    const out = this.#filter ? this.#filter.push(bytes) : this.#aligned(bytes);
    if (out.length === 0 || this.#res.destroyed) return true;
    if (this.#res.write(out)) return true;
    this.#res.once("drain", this.#resume);
    return false;
  }

  /** The budget cannot pay for more: end the stream in the client's dialect and stop the upstream generating. */
  #cut(hold: BudgetHold): void {
    const err = streamCutError(hold, this.#rt.clock.now());
    this.#tail = null;
    this.#stop();
    if (!this.#res.destroyed) this.#res.write(renderStreamError(this.#dialect, err));
    this.#settle(err, false);
  }

  /** The complete events in `bytes` (with any held-back start before them); keeps the unfinished end. */
  #aligned(bytes: Buffer): Buffer {
    const data = this.#tail === null ? bytes : Buffer.concat([this.#tail, bytes]);
    const end = eventBoundary(data);
    this.#tail = end < data.length ? data.subarray(end) : null;
    return end === data.length ? data : data.subarray(0, end);
  }

  #settle(failure: GatewayError | null, clientGone: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#meter.end();
    settleStream(this.#rt, this.#state, this.#meter.result(), {
      failure,
      clientGone,
      requestBytes: this.#requestBytes,
    });
    if (!this.#res.destroyed) this.#res.end();
    finish(this.#rt, this.#state);
  }
}

const LF = 0x0a;
const CR = 0x0d;

/** Where the first SSE event at or after `from` ends (just past its blank line); -1 when none does. */
export function nextEventEnd(data: Buffer, from: number): number {
  const lf = data.indexOf("\n\n", from);
  const crlf = data.indexOf("\n\r\n", from);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 3;
  return lf < 0 ? -1 : lf + 2;
}

/** Where the last complete SSE event of `data` ends (just past its blank line); 0 when none has. */
export function eventBoundary(data: Buffer): number {
  for (let i = data.length - 1; i > 0; i--) {
    if (data[i] !== LF) continue;
    if (data[i - 1] === LF) return i + 1;
    if (data[i - 1] === CR && i >= 2 && data[i - 2] === LF) return i + 1;
  }
  return 0;
}
