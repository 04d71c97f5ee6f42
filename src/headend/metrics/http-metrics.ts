// headend_http_* metrics: requests the access rules refused (by surface and reason), and the
// HTTP MPEG-TS clients (per channel now, 0 for a channel nobody reads, so that a sum is 0 and
// not "no data"; dropped for falling behind; refused by a limit).
// Read at scrape time.

import type { Metric } from 'prom-client';
import { scrapeMetric } from './scrape-metric.js';
import type { StreamStats } from '../http/ts-stream.js';

export interface HttpMetricsInput {
  /** Denials by `surface reason` (access/guard.ts). */
  denied: ReadonlyMap<string, number>;
  /** HTTP-TS figures; undefined when HTTP is off. */
  streams?: StreamStats;
  /** The channels' slugs: each has a clients series, 0 while nobody reads it. */
  channels?: readonly string[];
}

/** Clients per channel: every channel's (0 when none), then any other stream's (a relay). */
function clientSeries(
  i: HttpMetricsInput | undefined,
): { labels: { channel: string }; value: number }[] {
  const now = i?.streams?.clients;
  if (!now) return [];
  const out = (i.channels ?? []).map((channel) => ({
    labels: { channel },
    value: now.get(channel) ?? 0,
  }));
  const listed = new Set(i.channels ?? []);
  for (const [channel, value] of now)
    if (!listed.has(channel)) out.push({ labels: { channel }, value });
  return out;
}

export function httpMetrics(read: () => HttpMetricsInput | undefined): Metric[] {
  return [
    scrapeMetric({
      name: 'headend_http_denied_total',
      help: 'Requests refused by the access rules (HTTP, RTSP), by surface and reason.',
      type: 'counter',
      collect: () =>
        [...(read()?.denied ?? [])].map(([key, value]) => {
          const [surface, reason] = key.split(' ');
          return { labels: { surface: surface!, reason: reason! }, value };
        }),
    }),
    scrapeMetric({
      name: 'headend_http_stream_clients',
      help: 'HTTP MPEG-TS clients of a channel now.',
      type: 'gauge',
      collect: () => clientSeries(read()),
    }),
    scrapeMetric({
      name: 'headend_http_stream_dropped_total',
      help: 'HTTP MPEG-TS clients dropped because they fell further behind than client_buffer.',
      type: 'counter',
      collect: () => {
        const s = read()?.streams;
        return s ? [{ labels: {}, value: s.dropped }] : [];
      },
    }),
    scrapeMetric({
      name: 'headend_http_stream_refused_total',
      help: 'HTTP MPEG-TS requests refused by a client limit (503).',
      type: 'counter',
      collect: () => {
        const s = read()?.streams;
        return s ? [{ labels: {}, value: s.refused }] : [];
      },
    }),
  ];
}
