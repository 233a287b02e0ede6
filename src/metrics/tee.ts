import type { MetricsSink, RequestTimings } from "../pipeline/runtime.ts";
import type { RequestLogRecord } from "../store/log-record.ts";

/** Both sinks see every request (Prometheus and DogStatsD); each is synchronous and never throws. */
export function teeMetrics(a: MetricsSink, b: MetricsSink): MetricsSink {
  return {
    started() {
      a.started();
      b.started();
    },
    observe(record: RequestLogRecord, timings: RequestTimings) {
      a.observe(record, timings);
      b.observe(record, timings);
    },
  };
}
