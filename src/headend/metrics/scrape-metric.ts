// A metric whose series are produced at scrape time by a function, in the shape prom-client's
// Registry renders (Prometheus text exposition 0.0.4). Needed because prom-client's own Counter
// can only be incremented and its Histogram only observed, while our counters and histograms are
// accumulated elsewhere (channel stats, the pacing worker) and must be exposed as they are.

import type { Metric } from 'prom-client';

export type Labels = Record<string, string>;
export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  labels: Labels;
  value: number;
  /** For a histogram's parts: name_bucket, name_sum, name_count. */
  metricName?: string;
}

export interface ScrapeMetricSpec {
  name: string;
  help: string;
  type: MetricKind;
  collect(): Sample[];
}

/** A prom-client-compatible metric object; register it with registry.registerMetric(). */
export function scrapeMetric(spec: ScrapeMetricSpec): Metric {
  const m = {
    name: spec.name,
    help: spec.help,
    type: spec.type,
    aggregator: 'sum',
    collect: undefined,
    reset(): void {},
    get: async () => ({
      name: spec.name,
      help: spec.help,
      type: spec.type,
      aggregator: 'sum',
      values: spec.collect(),
    }),
  };
  // prom-client types registerMetric() as taking its own classes; the Registry only reads
  // name, help, type and get() (lib/registry.js), which this object provides.
  return m as unknown as Metric;
}
