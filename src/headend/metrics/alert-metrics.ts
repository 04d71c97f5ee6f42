// headend_alert_* metrics: whether the emergency override is on (per zone, and overall), the
// channels under it, and how many times each trigger changed it. Read at scrape time.

import type { Metric } from 'prom-client';
import { scrapeMetric } from './scrape-metric.js';

export interface AlertMetricsInput {
  /** Zones under an alert now ('*': every channel). */
  zones: readonly string[];
  /** Channels showing the alert now. */
  channels: number;
  /** Changes of the alert state by trigger (serial, contact, http, cli). */
  changes: ReadonlyMap<string, number>;
}

/** Every trigger, so each counter exists (at 0) from the start. */
const TRIGGERS = ['serial', 'contact', 'http', 'cli'];

export function alertMetrics(read: () => AlertMetricsInput | undefined): Metric[] {
  return [
    scrapeMetric({
      name: 'headend_alert_active',
      help: 'Whether an emergency alert is on: 1 or 0 (zone "" overall, "*" every channel, or the zone).',
      type: 'gauge',
      collect: () => {
        const a = read();
        if (!a) return [];
        return [
          { labels: { zone: '' }, value: a.zones.length > 0 ? 1 : 0 },
          ...a.zones.map((zone) => ({ labels: { zone }, value: 1 })),
        ];
      },
    }),
    scrapeMetric({
      name: 'headend_alert_channels',
      help: 'Channels showing the emergency alert now.',
      type: 'gauge',
      collect: () => {
        const a = read();
        return a ? [{ labels: {}, value: a.channels }] : [];
      },
    }),
    scrapeMetric({
      name: 'headend_alert_changes_total',
      help: 'Changes of the emergency alert state (on or off), by trigger.',
      type: 'counter',
      collect: () => {
        const a = read();
        return a
          ? TRIGGERS.map((t) => ({ labels: { trigger: t }, value: a.changes.get(t) ?? 0 }))
          : [];
      },
    }),
  ];
}
