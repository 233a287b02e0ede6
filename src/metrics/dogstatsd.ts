import StatsDClient, { type StatsD } from "hot-shots";
import type { MetricsConfig } from "../config/load.ts";
import type { MetricsSink, RequestTimings } from "../pipeline/runtime.ts";
import type { RequestLogRecord } from "../store/log-record.ts";
import type { DogStatsdConfig } from "./dogstatsd-config.ts";
import { OVERFLOW_LABEL, rejectionReason, statusClass, upstreamErrorReason } from "./gateway-metrics.ts";
import { promLabelName } from "./label-names.ts";

const TOKEN_TYPES = ["input", "output", "cache_read", "cache_write", "reasoning"] as const;
const CACHE_LAYERS = ["exact", "semantic"] as const;
const SEP = "\u0001";
/**
 * One UDP datagram holds up to this many bytes of metric lines: the Agent's default `dogstatsd_buffer_size`.
 * hot-shots appends lines to a string and sends when it is full or every `FLUSH_MS`.
 */
const MAX_DATAGRAM = 8192;
const FLUSH_MS = 1000;
/** Counts are summed here and sent as one delta per series this often (the Agent's own flush interval). */
const COUNT_FLUSH_MS = 10_000;

/** Tag lists for one label combination, built once (hot-shots formats arrays of `name:value` as they are). */
interface SeriesTags {
  base: string[];
  typed: string[][];
  layered: string[][];
  /** provider, model, status_class: distributions carry only these (as the Prometheus histograms). */
  timing: string[];
}

/** Counts of one tag combination since the last flush; plain numbers, as in the Prometheus accumulators. */
interface CountSeries {
  tags: SeriesTags;
  requests: number;
  /** By TOKEN_TYPES. */
  tokens: number[];
  /** Integer nano-dollars, divided once when sent. */
  costNano: number;
  unpriced: number;
  /** By CACHE_LAYERS. */
  hits: number[];
  savedNano: number[];
  /** Rejection reason → count. */
  rejections: Map<string, number>;
}

export interface DogStatsdMetricsOptions {
  config: MetricsConfig;
  dogstatsd: DogStatsdConfig;
  warn: (message: string) => void;
}

/**
 * Per-request metrics sent to a Datadog Agent over DogStatsD (hot-shots, UDP, buffered). Same tags and cardinality
 * rules as the Prometheus metrics: provider, model, team and customer ids, agent, status class, key/developer only
 * with the opt-in flags, the configured `x-tollgate-label-*` names; never session or request ids; tag combinations
 * past `metrics.maxSeries` are tagged `_other`.
 *
 * hot-shots formats and merges tags on every call (~2–3 µs each), so counts are not sent per request: they are
 * summed per tag combination (one Map lookup and additions, as the Prometheus sink does) and sent as deltas every
 * 10 s and on close — Datadog sums count deltas, so the totals are the same. Durations are distributions (seconds),
 * sent per request into hot-shots' buffer. Never throws into the request: errors go to `warn`, once.
 */
export class DogStatsdMetrics implements MetricsSink {
  readonly #client: StatsD;
  readonly #warn: (message: string) => void;
  readonly #maxSeries: number;
  readonly #keyLabels: boolean;
  readonly #developerLabels: boolean;
  readonly #custom: readonly string[];
  readonly #series = new Map<string, CountSeries>();
  /** provider/model/reason → count of provider failures since the last flush. */
  readonly #upstreamErrors = new Map<string, { tags: string[]; count: number }>();
  readonly #timer: NodeJS.Timeout;
  #warned = false;
  #closed: Promise<void> | null = null;

  constructor(options: DogStatsdMetricsOptions) {
    const { config, dogstatsd } = options;
    this.#warn = options.warn;
    this.#maxSeries = config.maxSeries;
    this.#keyLabels = config.keyLabels;
    this.#developerLabels = config.developerLabels;
    this.#custom = config.labels;
    this.#client = new StatsDClient({
      host: dogstatsd.host,
      port: dogstatsd.port,
      prefix: dogstatsd.prefix,
      globalTags: dogstatsd.globalTags,
      maxBufferSize: MAX_DATAGRAM,
      bufferFlushInterval: FLUSH_MS,
      // One DNS lookup per minute rather than one per datagram when the Agent is named (datadog-agent, a node name).
      cacheDns: true,
      errorHandler: (err) => this.#error(err),
    });
    this.#timer = setInterval(() => this.flushCounts(), COUNT_FLUSH_MS);
    this.#timer.unref();
  }

  started(): void {}

  observe(r: RequestLogRecord, timings: RequestTimings): void {
    if (this.#closed) return;
    try {
      const provider = r.provider ?? "";
      // As in Prometheus: a model is a tag only once a provider took it (unknown names sent by clients stay out).
      const model = provider === "" ? "" : (r.servedModel ?? r.requestedModel ?? "");
      const status = statusClass(r.status);
      let key = `${provider}${SEP}${model}${SEP}${r.teamId ?? ""}${SEP}${r.customerId ?? ""}${SEP}${r.agent ?? ""}${SEP}${status}`;
      if (this.#keyLabels) key += SEP + (r.virtualKeyId ?? "");
      if (this.#developerLabels) key += SEP + (r.developerId ?? "");
      for (const name of this.#custom) key += SEP + (r.labels[name] ?? "");
      const s = this.#series.get(key) ?? this.#newSeries(key, r, provider, model, status);

      s.requests++;
      const cacheWrite = r.cacheWrite5mTokens + r.cacheWrite1hTokens;
      const tokens = s.tokens;
      tokens[0] = (tokens[0] ?? 0) + r.inputTokens;
      tokens[1] = (tokens[1] ?? 0) + r.outputTokens;
      tokens[2] = (tokens[2] ?? 0) + r.cacheReadTokens;
      tokens[3] = (tokens[3] ?? 0) + cacheWrite;
      tokens[4] = (tokens[4] ?? 0) + r.reasoningTokens;
      if (r.costNanoUsd !== null) s.costNano += r.costNanoUsd;
      else if (r.inputTokens + r.cacheReadTokens + cacheWrite + r.outputTokens > 0) s.unpriced++;
      if (r.cacheHit !== null) {
        const layer = r.cacheHit === "exact" ? 0 : 1;
        s.hits[layer] = (s.hits[layer] ?? 0) + 1;
        if (r.cacheSavedNanoUsd !== null) s.savedNano[layer] = (s.savedNano[layer] ?? 0) + r.cacheSavedNanoUsd;
      }
      if (r.errorCode !== null) this.#countError(r, timings.upstreamMs !== null, s, provider, model);

      const c = this.#client;
      const timing = s.tags.timing;
      c.distribution("request.duration", timings.durationMs / 1000, timing);
      if (timings.upstreamMs !== null) c.distribution("upstream.duration", timings.upstreamMs / 1000, timing);
      if (r.ttftMs !== null) c.distribution("time_to_first_token", r.ttftMs / 1000, timing);
    } catch (err) {
      this.#error(err);
    }
  }

  /** Sends the counts summed since the last flush (every 10 s, and on close); off the request path. */
  flushCounts(): void {
    try {
      const c = this.#client;
      for (const s of this.#series.values()) {
        if (s.requests === 0 && s.rejections.size === 0) continue;
        const t = s.tags;
        if (s.requests > 0) c.increment("requests", s.requests, t.base);
        for (let i = 0; i < TOKEN_TYPES.length; i++) {
          const n = s.tokens[i] ?? 0;
          if (n > 0) c.increment("tokens", n, t.typed[i]);
        }
        if (s.costNano > 0) c.increment("cost_usd", s.costNano / 1e9, t.base);
        if (s.unpriced > 0) c.increment("unpriced_requests", s.unpriced, t.base);
        for (let i = 0; i < CACHE_LAYERS.length; i++) {
          const hits = s.hits[i] ?? 0;
          if (hits > 0) c.increment("cache_hits", hits, t.layered[i]);
          const saved = s.savedNano[i] ?? 0;
          if (saved > 0) c.increment("cache_saved_usd", saved / 1e9, t.layered[i]);
        }
        for (const [reason, n] of s.rejections) c.increment("rejections", n, [...t.base, `reason:${reason}`]);
        s.requests = s.costNano = s.unpriced = 0;
        s.tokens.fill(0);
        s.hits.fill(0);
        s.savedNano.fill(0);
        s.rejections.clear();
      }
      for (const e of this.#upstreamErrors.values()) {
        if (e.count === 0) continue;
        c.increment("upstream_errors", e.count, e.tags);
        e.count = 0;
      }
    } catch (err) {
      this.#error(err);
    }
  }

  /** Sends the counts and what is buffered, then closes the socket; later observations are dropped. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      clearInterval(this.#timer);
      this.flushCounts();
      try {
        this.#client.close((err) => {
          if (err) this.#error(err);
          resolve();
        });
      } catch (err) {
        this.#error(err);
        resolve();
      }
    });
    return this.#closed;
  }

  /** The same split as the Prometheus counters: refused before dispatch (`rejections`) or failed at the provider. */
  #countError(r: RequestLogRecord, dispatched: boolean, s: CountSeries, provider: string, model: string): void {
    const code = r.errorCode ?? "";
    if (!dispatched && code !== "TG_PROVIDER_AUTH") {
      const reason = rejectionReason(code);
      if (reason !== null) s.rejections.set(reason, (s.rejections.get(reason) ?? 0) + 1);
      return;
    }
    const reason = upstreamErrorReason(code, r.status);
    if (reason === null) return;
    const key = `${provider}${SEP}${model}${SEP}${reason}`;
    let e = this.#upstreamErrors.get(key);
    if (!e) {
      if (this.#upstreamErrors.size >= this.#maxSeries) return;
      const tags = [`reason:${reason}`];
      if (provider !== "") tags.push(`provider:${provider}`);
      if (model !== "") tags.push(`model:${model}`);
      e = { tags, count: 0 };
      this.#upstreamErrors.set(key, e);
    }
    e.count++;
  }

  #newSeries(key: string, r: RequestLogRecord, provider: string, model: string, status: string): CountSeries {
    if (this.#series.size >= this.#maxSeries) {
      const overflow = this.#series.get(OVERFLOW_LABEL);
      if (overflow) return overflow;
      this.#warn(
        `dogstatsd: reached metrics.maxSeries (${this.#maxSeries}) tag combinations; further ones are tagged "${OVERFLOW_LABEL}"`,
      );
      const names = ["provider", "model", "team", "customer", "agent", "status_class"];
      if (this.#keyLabels) names.push("key");
      if (this.#developerLabels) names.push("developer");
      for (const n of this.#custom) names.push(promLabelName(n));
      return this.#add(
        OVERFLOW_LABEL,
        names.map((n) => `${n}:${OVERFLOW_LABEL}`),
      );
    }
    // Empty values are left out: a DogStatsD tag `team:` would be its own value in Datadog.
    const base: string[] = [];
    const add = (name: string, value: string | null | undefined) => {
      if (value) base.push(`${name}:${value}`);
    };
    add("provider", provider);
    add("model", model);
    add("team", r.teamId);
    add("customer", r.customerId);
    add("agent", r.agent);
    add("status_class", status);
    if (this.#keyLabels) add("key", r.virtualKeyId);
    if (this.#developerLabels) add("developer", r.developerId);
    for (const name of this.#custom) add(promLabelName(name), r.labels[name]);
    return this.#add(key, base);
  }

  #add(key: string, base: string[]): CountSeries {
    const s: CountSeries = {
      tags: seriesTags(base),
      requests: 0,
      tokens: TOKEN_TYPES.map(() => 0),
      costNano: 0,
      unpriced: 0,
      hits: [0, 0],
      savedNano: [0, 0],
      rejections: new Map(),
    };
    this.#series.set(key, s);
    return s;
  }

  #error(err: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#warn(`dogstatsd: metrics not sent: ${(err as Error)?.message ?? String(err)} (further errors not reported)`);
  }
}

function seriesTags(base: string[]): SeriesTags {
  return {
    base,
    typed: TOKEN_TYPES.map((type) => [...base, `type:${type}`]),
    layered: CACHE_LAYERS.map((layer) => [...base, `layer:${layer}`]),
    timing: base.filter((tag) => /^(provider|model|status_class):/.test(tag)),
  };
}
