// Prometheus metrics of the headend (served on /metrics of the HTTP surface): one Registry per
// daemon (never prom-client's global one), prom-client's process and Node.js defaults prefixed
// headend_, and our own metrics collected at scrape time from injected readers, so the packet
// path does nothing for them. Names and meanings: channel-metrics.ts and headend-metrics.ts.

import { Registry, collectDefaultMetrics } from 'prom-client';
import { channelMetrics } from './channel-metrics.js';
import { headendMetrics } from './headend-metrics.js';
import { tunerMetrics } from './tuner-metrics.js';
import { alertMetrics } from './alert-metrics.js';
import { httpMetrics } from './http-metrics.js';
import { clusterMetrics } from './cluster-metrics.js';
import { ChildCpu, clockTicks } from './proc-cpu.js';
import type { Labels } from './scrape-metric.js';
import type { ChannelMetricsInput, Metrics, MetricsOptions } from './types.js';

export type {
  ChannelMetricsInput,
  HistogramSnapshot,
  Metrics,
  MetricsOptions,
  RtspSessionCounts,
} from './types.js';
export { CHANNEL_STATES, RTSP_TRANSPORTS } from './channel-metrics.js';

export function createMetrics(o: MetricsOptions): Metrics {
  const register = new Registry();
  if (o.defaultMetrics !== false) collectDefaultMetrics({ register, prefix: 'headend_' });

  // The channels reader runs once per scrape, however many metrics read it.
  let scrape: readonly ChannelMetricsInput[] | null = null;
  const reported = new Set<string>();
  const cpu = new ChildCpu(clockTicks(o.log), o.procRoot);
  const metrics = [
    ...channelMetrics({
      channels: () => (scrape ??= o.channels()),
      now: o.now ?? Date.now,
      badHistogram: (metric: string, labels: Labels, problem: string) => {
        const key = `${metric}|${labels.channel}|${labels.table ?? ''}`;
        if (reported.has(key)) return;
        reported.add(key);
        o.log?.log('warn', 'metrics-bad-histogram', {
          metric,
          channel: `${labels.channel} ${labels.name}`,
          message: `histogram left out of /metrics: ${problem}`,
        });
      },
    }),
    ...headendMetrics({ pacing: o.pacing, ffmpegChildren: o.ffmpegChildren, cpu }),
    ...tunerMetrics(() => o.tuners?.() ?? []),
    ...alertMetrics(() => o.alerts?.()),
    ...httpMetrics(() => o.http?.()),
    ...clusterMetrics(() => o.cluster?.()),
  ];
  for (const m of metrics) register.registerMetric(m);

  let queue: Promise<unknown> = Promise.resolve();
  return {
    contentType: register.contentType,
    has: (name) => register.getSingleMetric(name) !== undefined,
    render(names?: readonly string[]): Promise<string> {
      // Scrapes run one at a time so each sees one consistent reading of the channels.
      const run = queue.then(async () => {
        scrape = null;
        try {
          if (names === undefined) return await register.metrics();
          // Only these (a cheap look at a few figures, often): each collected and rendered alone.
          const texts: string[] = [];
          for (const name of names) texts.push(await register.getSingleMetricAsString(name));
          return texts.join('\n') + '\n';
        } finally {
          scrape = null;
        }
      });
      // The caller gets the failure through `run`; the queue only needs to know it settled.
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
