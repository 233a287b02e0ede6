import { Histogram, type Registry } from "prom-client";

/** One label combination's observations: per-bucket counts (not cumulative; +Inf implied), sum and count. */
export interface HistogramData {
  counts: Float64Array;
  sum: number;
  count: number;
}

export function newHistogramData(bounds: readonly number[]): HistogramData {
  return { counts: new Float64Array(bounds.length), sum: 0, count: 0 };
}

/** A linear scan: the bucket lists are short (≤ 16) and most values land in the first few. */
export function observeInto(h: HistogramData, bounds: readonly number[], value: number): void {
  let i = 0;
  const n = bounds.length;
  while (i < n && value > (bounds[i] as number)) i++;
  if (i < n) h.counts[i] = (h.counts[i] as number) + 1;
  h.sum += value;
  h.count++;
}

export interface HistogramSeries {
  labels: Readonly<Record<string, string>>;
  data: HistogramData;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  /** prom-client's own shape (its `get()` merges these into `labels`); always empty here. */
  sharedLabels: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A prom-client Histogram whose values come from the gateway's own per-series accumulators (`observeInto` on the
 * request path: one array increment instead of prom-client's label validation and hashing per observation). The
 * Registry renders what `getForPromString` returns; prom-client's own Histogram keeps its observations there too.
 */
export class SeriesHistogram extends Histogram<string> {
  readonly #bounds: readonly number[];
  readonly #source: () => Iterable<HistogramSeries>;
  readonly #name: string;
  readonly #help: string;

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly string[];
    buckets: readonly number[];
    registry: Registry;
    source: () => Iterable<HistogramSeries>;
  }) {
    super({
      name: options.name,
      help: options.help,
      labelNames: options.labelNames,
      buckets: [...options.buckets],
      registers: [options.registry],
    });
    this.#bounds = options.buckets;
    this.#source = options.source;
    this.#name = options.name;
    this.#help = options.help;
  }

  async getForPromString(): Promise<{
    name: string;
    help: string;
    type: "histogram";
    values: ExportedValue[];
    aggregator: "sum";
  }> {
    const values: ExportedValue[] = [];
    const bucket = `${this.#name}_bucket`;
    for (const { labels, data } of this.#source()) {
      if (data.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += data.counts[i] as number;
        values.push(entry({ ...labels, le: this.#bounds[i] as number }, cumulative, bucket));
      }
      values.push(entry({ ...labels, le: "+Inf" }, data.count, bucket));
      values.push(entry({ ...labels }, data.sum, `${this.#name}_sum`));
      values.push(entry({ ...labels }, data.count, `${this.#name}_count`));
    }
    return { name: this.#name, help: this.#help, type: "histogram", values, aggregator: "sum" };
  }
}

function entry(labels: Record<string, string | number>, value: number, metricName: string): ExportedValue {
  return { labels, sharedLabels: NO_LABELS, value, metricName };
}
