// headend_cluster_* metrics (cluster mode, headend.cluster): this node's membership, the live
// nodes and their load, each channel's owner, the channels no node sends, fences, joins and
// takeovers. Read at scrape time from the coordinator's status (cluster/coordinator.ts).

import type { Metric } from 'prom-client';
import { scrapeMetric } from './scrape-metric.js';
import type { ClusterStatus } from '../cluster/coordinator.js';

const STATES = ['connecting', 'member', 'fenced', 'stopped'];

export function clusterMetrics(read: () => ClusterStatus | null | undefined): Metric[] {
  const gauge = (
    name: string,
    help: string,
    values: (s: ClusterStatus) => { labels: Record<string, string>; value: number }[],
    type: 'gauge' | 'counter' = 'gauge',
  ): Metric =>
    scrapeMetric({
      name,
      help,
      type,
      collect: () => {
        const s = read();
        return s ? values(s) : [];
      },
    });
  return [
    gauge('headend_cluster_state', 'This node in the cluster: 1 for its state now.', (s) =>
      STATES.map((state) => ({
        labels: { node: s.node, state },
        value: s.state === state ? 1 : 0,
      })),
    ),
    gauge('headend_cluster_nodes', 'Live nodes of the cluster as this node sees them.', (s) => [
      { labels: {}, value: s.nodes.length },
    ]),
    gauge(
      'headend_cluster_node_channels',
      'Channels each live node sends (agrees: its config is the cluster’s).',
      (s) =>
        s.nodes.map((n) => ({
          labels: { node: n.name, agrees: n.agrees ? 'true' : 'false' },
          value: n.channels,
        })),
    ),
    gauge(
      'headend_cluster_node_bitrate_bps',
      'Nominal bitrate of the channels each node sends.',
      (s) => s.nodes.map((n) => ({ labels: { node: n.name }, value: n.bitrate })),
    ),
    gauge('headend_cluster_channel_owner', 'The node that sends each channel: 1 per pair.', (s) =>
      Object.entries(s.owners).map(([channel, node]) => ({ labels: { channel, node }, value: 1 })),
    ),
    gauge(
      'headend_cluster_unowned_channels',
      'Channels of the config that no node sends now (as this node sees the cluster).',
      (s) => [{ labels: {}, value: s.unowned.length }],
    ),
    gauge(
      'headend_cluster_fences_total',
      'Times this node stopped its channels because etcd did not answer within its lease.',
      (s) => [{ labels: { node: s.node }, value: s.fences }],
      'counter',
    ),
    gauge(
      'headend_cluster_takeovers_total',
      'Channels this node started after claiming them from no owner.',
      (s) => [{ labels: { node: s.node }, value: s.takeovers }],
      'counter',
    ),
  ];
}
