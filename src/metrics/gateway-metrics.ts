import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { MetricsConfig } from "../config/load.ts";
import { ERROR_CATALOG } from "../errors/catalog.ts";
import type { MetricsSink, RequestTimings } from "../pipeline/runtime.ts";
import type { RequestLogRecord } from "../store/log-record.ts";
import { BUDGET_LABELS, type BudgetGauges } from "./budget-gauges.ts";
import { type HistogramData, newHistogramData, observeInto, SeriesHistogram } from "./histogram.ts";
import { promLabelName } from "./label-names.ts";

// Model calls run from well under a second to many minutes (long agent turns, slow reasoning).
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60];
// The gateway's own share is meant to be sub-millisecond; admission waiting on Redis shows up in the upper buckets.
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const TOKEN_TYPES = ["input", "output", "cache_read", "cache_write", "reasoning"] as const;
/** Label value of every label of the series that takes the label combinations past `maxSeries`. */
export const OVERFLOW_LABEL = "_other";
const SEP = "\u0001";
/** Costs are summed as numbers until this; then moved into a BigInt (exact beyond 2^53 nano-USD ≈ $9M). */
const CARRY_AT = 2 ** 52;

interface TimingSeries {
  labels: Readonly<Record<string, string>>;
  duration: HistogramData;
  upstream: HistogramData;
  ttft: HistogramData;
  overhead: HistogramData;
}

/** Everything counted for one label combination; plain numbers, turned into prom-client values at scrape time. */
interface RequestSeries {
  labels: Readonly<Record<string, string>>;
  /** `labels` plus each token `type`, made at the first scrape. */
  typed: Readonly<Record<string, string>>[] | null;
  requests: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  costNano: number;
  costCarry: bigint;
  unpriced: number;
  /** Response-cache hits and what they saved (the original calls' cost), per layer: [exact, semantic]. */
  hits: [number, number];
  saved: [NanoSum, NanoSum];
  /** `labels` plus each cache `layer`, made at the first scrape. */
  layered: Readonly<Record<string, string>>[] | null;
  timing: TimingSeries;
}

/** Integer nano-dollars: a number until CARRY_AT, then carried into a BigInt (exact). */
interface NanoSum {
  nano: number;
  carry: bigint;
}

const CACHE_LAYERS = ["exact", "semantic"] as const;

interface CountSeries {
  labels: Readonly<Record<string, string>>;
  count: number;
}

export interface GatewayMetricsOptions {
  config: MetricsConfig;
  /** Budget gauges (read from the counters at scrape time); null: not exported. */
  budgets: BudgetGauges | null;
  warn: (message: string) => void;
  /** Node.js process metrics (CPU, memory, event loop lag, GC); default true. */
  processMetrics?: boolean;
}

/**
 * The gateway's Prometheus metrics. `observe` runs once per finished request on the hot path: one label-key string,
 * one Map lookup, number increments and histogram bucket increments — no prom-client calls (those validate and
 * hash labels per call, ~0.5 µs each). prom-client renders the exposition: counters and gauges are filled from the
 * accumulators in their `collect` callbacks, histograms by SeriesHistogram. Cost is summed in integer nano-dollars
 * and divided once at scrape time, so the counter equals the request log's sum exactly.
 */
export class GatewayMetrics implements MetricsSink {
  readonly registry = new Registry();
  readonly #warn: (message: string) => void;
  readonly #maxSeries: number;
  readonly #keyLabels: boolean;
  readonly #developerLabels: boolean;
  /** Raw `x-tollgate-label-*` names, in label order. */
  readonly #custom: readonly string[];
  readonly #labelNames: readonly string[];
  readonly #requests = new Map<string, RequestSeries>();
  readonly #timings = new Map<string, TimingSeries>();
  readonly #rejections = new Map<string, CountSeries>();
  readonly #upstreamErrors = new Map<string, CountSeries>();
  #started = 0;
  #finished = 0;
  #overflowWarned = false;

  constructor(options: GatewayMetricsOptions) {
    const { config } = options;
    this.#warn = options.warn;
    this.#maxSeries = config.maxSeries;
    this.#keyLabels = config.keyLabels;
    this.#developerLabels = config.developerLabels;
    this.#custom = config.labels;
    const custom = config.labels.map(promLabelName);
    if (new Set(custom).size !== custom.length)
      throw new Error(`metrics.labels: ${config.labels.join(", ")} give the same Prometheus label name twice`);
    this.#labelNames = [
      "provider",
      "model",
      "team",
      "customer",
      "agent",
      "status",
      ...(config.keyLabels ? ["key"] : []),
      ...(config.developerLabels ? ["developer"] : []),
      ...custom,
    ];
    this.#register(options.budgets);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  started(): void {
    this.#started++;
  }

  observe(r: RequestLogRecord, timings: RequestTimings): void {
    try {
      this.#finished++;
      const provider = r.provider ?? "";
      // A model name is a label only once a provider took it: unknown names sent by clients stay out.
      const model = provider === "" ? "" : (r.servedModel ?? r.requestedModel ?? "");
      const status = statusClass(r.status);
      let key = `${provider}${SEP}${model}${SEP}${r.teamId ?? ""}${SEP}${r.customerId ?? ""}${SEP}${r.agent ?? ""}${SEP}${status}`;
      if (this.#keyLabels) key += SEP + (r.virtualKeyId ?? "");
      if (this.#developerLabels) key += SEP + (r.developerId ?? "");
      for (const name of this.#custom) key += SEP + (r.labels[name] ?? "");
      const s = this.#requests.get(key) ?? this.#newSeries(key, r, provider, model, status);
      s.requests++;
      const cacheWrite = r.cacheWrite5mTokens + r.cacheWrite1hTokens;
      s.input += r.inputTokens;
      s.output += r.outputTokens;
      s.cacheRead += r.cacheReadTokens;
      s.cacheWrite += cacheWrite;
      s.reasoning += r.reasoningTokens;
      const cost = r.costNanoUsd;
      if (cost !== null) {
        s.costNano += cost;
        if (s.costNano >= CARRY_AT) {
          s.costCarry += BigInt(s.costNano);
          s.costNano = 0;
        }
      } else if (r.inputTokens + r.cacheReadTokens + cacheWrite + r.outputTokens > 0) {
        // Tokens were used but their price is unknown (as the spend API counts unpriced requests).
        s.unpriced++;
      }
      if (r.cacheHit !== null) {
        const layer = r.cacheHit === "exact" ? 0 : 1;
        s.hits[layer]++;
        if (r.cacheSavedNanoUsd !== null) addNano(s.saved[layer], r.cacheSavedNanoUsd);
      }
      const t = s.timing;
      observeInto(t.duration, DURATION_BUCKETS, timings.durationMs / 1000);
      const upstreamMs = timings.upstreamMs;
      if (upstreamMs !== null) {
        observeInto(t.upstream, DURATION_BUCKETS, upstreamMs / 1000);
        observeInto(t.overhead, OVERHEAD_BUCKETS, Math.max(0, timings.durationMs - upstreamMs) / 1000);
      }
      if (r.ttftMs !== null) observeInto(t.ttft, TTFT_BUCKETS, r.ttftMs / 1000);
      if (r.errorCode !== null) this.#countError(r, upstreamMs !== null, key, s, provider, model);
    } catch (err) {
      this.#warn(`metrics: could not count a request: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /** Refused by the gateway before the provider (auth, budget, limits, bad input), or failed at or by the provider. */
  #countError(
    r: RequestLogRecord,
    dispatched: boolean,
    seriesKey: string,
    s: RequestSeries,
    provider: string,
    model: string,
  ): void {
    const code = r.errorCode ?? "";
    // The provider's token endpoint refusing (Vertex AI) is the provider failing, though nothing was dispatched.
    if (!dispatched && code !== "TG_PROVIDER_AUTH") {
      const reason = rejectionReason(code);
      if (reason === null) return;
      const key = `${seriesKey}${SEP}${reason}`;
      const c = this.#rejections.get(key) ?? this.#newCount(this.#rejections, key, () => ({ ...s.labels, reason }));
      c.count++;
      return;
    }
    const reason = upstreamErrorReason(code, r.status);
    if (reason === null) return;
    const key = `${provider}${SEP}${model}${SEP}${reason}`;
    const c =
      this.#upstreamErrors.get(key) ?? this.#newCount(this.#upstreamErrors, key, () => ({ provider, model, reason }));
    c.count++;
  }

  #newSeries(key: string, r: RequestLogRecord, provider: string, model: string, status: string): RequestSeries {
    if (this.#requests.size >= this.#maxSeries) {
      this.#overflow("tollgate_requests_total");
      const overflow = this.#requests.get(OVERFLOW_LABEL);
      if (overflow) return overflow;
      key = OVERFLOW_LABEL;
    }
    const labels: Record<string, string> = {};
    if (key === OVERFLOW_LABEL) {
      for (const name of this.#labelNames) labels[name] = OVERFLOW_LABEL;
    } else {
      labels.provider = provider;
      labels.model = model;
      labels.team = r.teamId ?? "";
      labels.customer = r.customerId ?? "";
      labels.agent = r.agent ?? "";
      labels.status = status;
      if (this.#keyLabels) labels.key = r.virtualKeyId ?? "";
      if (this.#developerLabels) labels.developer = r.developerId ?? "";
      for (const name of this.#custom) labels[promLabelName(name)] = r.labels[name] ?? "";
    }
    const series: RequestSeries = {
      labels,
      typed: null,
      requests: 0,
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite: 0,
      reasoning: 0,
      costNano: 0,
      costCarry: 0n,
      unpriced: 0,
      hits: [0, 0],
      saved: [
        { nano: 0, carry: 0n },
        { nano: 0, carry: 0n },
      ],
      layered: null,
      timing: this.#timingSeries(labels.provider ?? "", labels.model ?? "", labels.status ?? ""),
    };
    this.#requests.set(key, series);
    return series;
  }

  /** Histograms are labelled by provider, model and status class only (each series is ~17 lines). */
  #timingSeries(provider: string, model: string, status: string): TimingSeries {
    let key = `${provider}${SEP}${model}${SEP}${status}`;
    let t = this.#timings.get(key);
    if (t) return t;
    let labels = { provider, model, status };
    if (this.#timings.size >= this.#maxSeries) {
      this.#overflow("tollgate_request_duration_seconds");
      key = OVERFLOW_LABEL;
      labels = { provider: OVERFLOW_LABEL, model: OVERFLOW_LABEL, status: OVERFLOW_LABEL };
      t = this.#timings.get(key);
      if (t) return t;
    }
    t = {
      labels,
      duration: newHistogramData(DURATION_BUCKETS),
      upstream: newHistogramData(DURATION_BUCKETS),
      ttft: newHistogramData(TTFT_BUCKETS),
      overhead: newHistogramData(OVERHEAD_BUCKETS),
    };
    this.#timings.set(key, t);
    return t;
  }

  #newCount(map: Map<string, CountSeries>, key: string, labels: () => Readonly<Record<string, string>>): CountSeries {
    if (map.size >= this.#maxSeries) {
      this.#overflow("error counters");
      const overflow = map.get(OVERFLOW_LABEL);
      if (overflow) return overflow;
      const all: Record<string, string> = {};
      for (const name of Object.keys(labels())) all[name] = OVERFLOW_LABEL;
      const c = { labels: all, count: 0 };
      map.set(OVERFLOW_LABEL, c);
      return c;
    }
    const c = { labels: labels(), count: 0 };
    map.set(key, c);
    return c;
  }

  #overflow(what: string): void {
    if (this.#overflowWarned) return;
    this.#overflowWarned = true;
    this.#warn(
      `metrics: ${what} reached metrics.maxSeries (${this.#maxSeries}) label combinations; further ones are counted with every label "${OVERFLOW_LABEL}" (turn opt-in labels off or raise the limit)`,
    );
  }

  #register(budgets: BudgetGauges | null): void {
    const registers = [this.registry];
    const labelNames = this.#labelNames;
    const requests = this.#requests;
    const counter = (name: string, help: string, fill: (c: Counter<string>) => void, names = labelNames) => {
      const c: Counter<string> = new Counter({
        name,
        help,
        labelNames: names,
        registers,
        collect: () => {
          c.reset();
          fill(c);
        },
      });
    };
    counter("tollgate_requests_total", "Model requests finished (every status).", (c) => {
      for (const s of requests.values()) c.inc(s.labels, s.requests);
    });
    counter(
      "tollgate_tokens_total",
      "Tokens by billing bucket (the request log's buckets; cache_write = 5 min + 1 h writes; reasoning is part of output).",
      (c) => {
        for (const s of requests.values()) {
          s.typed ??= TOKEN_TYPES.map((type) => ({ ...s.labels, type }));
          const typed = s.typed;
          const values = [s.input, s.output, s.cacheRead, s.cacheWrite, s.reasoning];
          for (let i = 0; i < typed.length; i++) c.inc(typed[i] ?? {}, values[i] ?? 0);
        }
      },
      [...labelNames, "type"],
    );
    counter("tollgate_cost_usd_total", "Spend in USD (exactly the request log's sum of cost).", (c) => {
      for (const s of requests.values()) c.inc(s.labels, usdOf(s));
    });
    counter("tollgate_unpriced_requests_total", "Requests that used tokens of a model without a known price.", (c) => {
      for (const s of requests.values()) c.inc(s.labels, s.unpriced);
    });
    const layered = (s: RequestSeries) => {
      s.layered ??= CACHE_LAYERS.map((layer) => ({ ...s.labels, layer }));
      return s.layered;
    };
    counter(
      "tollgate_cache_hits_total",
      "Requests answered from the response cache, by layer (exact, semantic).",
      (c) => {
        for (const s of requests.values()) {
          const l = layered(s);
          for (let i = 0; i < l.length; i++) c.inc(l[i] ?? {}, s.hits[i] ?? 0);
        }
      },
      [...labelNames, "layer"],
    );
    counter(
      "tollgate_cache_saved_usd_total",
      "What response-cache hits saved in USD: the original calls' cost (exactly the request log's sum of cache_saved_nano_usd).",
      (c) => {
        for (const s of requests.values()) {
          const l = layered(s);
          for (let i = 0; i < l.length; i++) c.inc(l[i] ?? {}, nanoToUsd(s.saved[i] as NanoSum));
        }
      },
      [...labelNames, "layer"],
    );
    counter(
      "tollgate_rejections_total",
      "Requests the gateway refused before the provider, by error kind (authentication 401, permission 403, budget_exhausted 402, rate_limited 429, invalid_request 400 …).",
      (c) => {
        for (const e of this.#rejections.values()) c.inc(e.labels, e.count);
      },
      [...labelNames, "reason"],
    );
    counter(
      "tollgate_upstream_errors_total",
      "Provider calls that failed: unreachable, reset, timeout, bad_response, stream_incomplete (cut), http_4xx, http_5xx, stream_error, provider_auth.",
      (c) => {
        for (const e of this.#upstreamErrors.values()) c.inc(e.labels, e.count);
      },
      ["provider", "model", "reason"],
    );

    const inFlight: Gauge<string> = new Gauge({
      name: "tollgate_in_flight_requests",
      help: "Model requests being served.",
      registers,
      collect: () => inFlight.set(this.#started - this.#finished),
    });

    const histogram = (
      name: string,
      help: string,
      buckets: readonly number[],
      pick: (t: TimingSeries) => HistogramData,
    ) =>
      new SeriesHistogram({
        name,
        help,
        labelNames: ["provider", "model", "status"],
        buckets,
        registry: this.registry,
        source: function* (timings: Map<string, TimingSeries>) {
          for (const t of timings.values()) yield { labels: t.labels, data: pick(t) };
        }.bind(null, this.#timings),
      });
    histogram(
      "tollgate_request_duration_seconds",
      "Time from the request's arrival to its end (last byte sent).",
      DURATION_BUCKETS,
      (t) => t.duration,
    );
    histogram(
      "tollgate_upstream_duration_seconds",
      "Time from dispatch to the provider until its response ended.",
      DURATION_BUCKETS,
      (t) => t.upstream,
    );
    histogram(
      "tollgate_time_to_first_token_seconds",
      "Time until the first model token was sent to the client.",
      TTFT_BUCKETS,
      (t) => t.ttft,
    );
    histogram(
      "tollgate_overhead_seconds",
      "Gateway time of requests that reached the provider: duration minus upstream time.",
      OVERHEAD_BUCKETS,
      (t) => t.overhead,
    );

    if (budgets === null) return;
    const gauge = (name: string, help: string, value: (v: { usedRatio: number; remainingUsd: number }) => number) => {
      const g: Gauge<string> = new Gauge({
        name,
        help,
        labelNames: BUDGET_LABELS,
        registers,
        collect: async () => {
          const values = await budgets.read();
          g.reset();
          for (const v of values) g.set(v.labels, value(v));
        },
      });
    };
    gauge(
      "tollgate_budget_used_ratio",
      "Committed spend of the budget's current window divided by its limit.",
      (v) => v.usedRatio,
    );
    gauge(
      "tollgate_budget_remaining_usd",
      "Budget left in the current window: limit minus committed and reserved spend, at least 0.",
      (v) => v.remainingUsd,
    );
  }
}

/** USD from integer nano-dollars, rounded once (a safe integer ÷ 1e9 is the nearest double to the exact decimal). */
function usdOf(s: RequestSeries): number {
  if (s.costCarry === 0n) return s.costNano / 1e9;
  const nano = s.costCarry + BigInt(s.costNano);
  return Number(`${nano / 1_000_000_000n}.${(nano % 1_000_000_000n).toString().padStart(9, "0")}`);
}

function addNano(sum: NanoSum, nano: number): void {
  sum.nano += nano;
  if (sum.nano >= CARRY_AT) {
    sum.carry += BigInt(sum.nano);
    sum.nano = 0;
  }
}

function nanoToUsd(sum: NanoSum): number {
  if (sum.carry === 0n) return sum.nano / 1e9;
  const nano = sum.carry + BigInt(sum.nano);
  return Number(`${nano / 1_000_000_000n}.${(nano % 1_000_000_000n).toString().padStart(9, "0")}`);
}

export function statusClass(status: number): string {
  if (status >= 200 && status < 300) return "2xx";
  if (status >= 400 && status < 500) return "4xx";
  if (status >= 500 && status < 600) return "5xx";
  if (status >= 300 && status < 400) return "3xx";
  return "other";
}

/** A refusal by the gateway (its own error before dispatch): the error kind; null for anything else. */
export function rejectionReason(code: string): string | null {
  if (code === "TG_CLIENT_CLOSED" || code === "TG_INTERNAL") return null;
  const kind = (ERROR_CATALOG as Record<string, { kind: string } | undefined>)[code]?.kind;
  if (kind === undefined) return null;
  // "upstream_unavailable" (503) covers two gateway-side causes: no provider key, counters (Redis) down.
  return kind === "upstream_unavailable" ? code.slice(3).toLowerCase() : kind;
}

/** After dispatch: the provider's failure; null for the gateway's own ends (client left, budget cut). */
export function upstreamErrorReason(code: string, status: number): string | null {
  if (code.startsWith("TG_UPSTREAM_")) return code.slice(12).toLowerCase();
  if (code === "TG_PROVIDER_AUTH") return "provider_auth";
  if (code.startsWith("TG_")) return null;
  if (status >= 500) return "http_5xx";
  if (status >= 400) return "http_4xx";
  return "stream_error";
}
