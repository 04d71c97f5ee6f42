// Turns an externally accumulated histogram (HistogramSnapshot) into the series of a
// Prometheus histogram: name_bucket{le=…} cumulative, le="+Inf" = count, name_sum, name_count.

import type { HistogramSnapshot } from './types.js';
import type { Labels, Sample } from './scrape-metric.js';

/** Why a snapshot cannot be exposed, or null when it is well-formed. */
export function histogramProblem(h: HistogramSnapshot): string | null {
  if (h.buckets.length !== h.counts.length)
    return `${h.buckets.length} bucket bounds but ${h.counts.length} counts`;
  for (let i = 0; i < h.buckets.length; i++) {
    if (!Number.isFinite(h.buckets[i]!)) return `bucket bound ${i} is not a finite number`;
    if (i > 0 && !(h.buckets[i]! > h.buckets[i - 1]!)) return 'bucket bounds are not ascending';
    if (!(h.counts[i]! >= (i > 0 ? h.counts[i - 1]! : 0)))
      return 'bucket counts are not cumulative';
  }
  const last = h.counts.length > 0 ? h.counts[h.counts.length - 1]! : 0;
  if (!(h.count >= last)) return 'count is below the last bucket count';
  if (!Number.isFinite(h.sum)) return 'sum is not a finite number';
  return null;
}

/** Appends the series of one histogram (its labels plus le) to out. */
export function histogramSamples(
  name: string,
  labels: Labels,
  h: HistogramSnapshot,
  out: Sample[],
): void {
  for (let i = 0; i < h.buckets.length; i++) {
    out.push({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(h.buckets[i]) },
      value: h.counts[i]!,
    });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
}
