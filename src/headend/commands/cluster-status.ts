// `headend status --cluster [--url URL] [--json]`: the cluster as the running daemon sees it
// (GET /api/cluster): this node, its lease, every node with its config hash and load, and
// which node sends each channel. Exit 0, or 1 when the daemon cannot be reached or is not in a
// cluster.

import { HeadendError, isHeadendError } from '../errors.js';
import { callDaemon } from './daemon-api.js';
import type { CommandIo } from './io.js';
import type { ClusterStatus } from '../cluster/coordinator.js';

export async function clusterStatusCommand(
  o: { url: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const r = await callDaemon(o.url, 'GET', 'api/cluster', 10_000);
  if (isHeadendError(r)) {
    io.error(r);
    return 1;
  }
  const doc = r.body as ClusterStatus & { message?: string };
  if (r.status !== 200 || !doc || !Array.isArray(doc.nodes)) {
    io.error(
      new HeadendError(
        'E_NET',
        r.status === 404
          ? `${doc?.message ?? 'this headend is not in a cluster'}`
          : `unexpected answer to GET /api/cluster (HTTP ${r.status}): ${JSON.stringify(r.body).slice(0, 200)}`,
      ),
    );
    return 1;
  }
  io.out(o.json ? JSON.stringify(doc) + '\n' : formatClusterStatus(doc));
  return 0;
}

/** This node and its lease, one line per node, then the channels by owner. */
export function formatClusterStatus(s: ClusterStatus): string {
  const lease = s.lease
    ? `lease ${s.lease.id} (ttl ${s.lease.ttl_ms / 1000} s, last keep-alive ${(s.lease.since_keepalive_ms / 1000).toFixed(1)} s ago)`
    : 'no lease';
  const lines = [
    `node ${s.node}: ${s.state}, ${lease}; config ${s.hash.slice(0, 12)}${s.cluster_hash && s.cluster_hash !== s.hash ? ` (the cluster runs ${s.cluster_hash.slice(0, 12)})` : ''}; hand-back ${s.handback}`,
  ];
  const w = Math.max(4, ...s.nodes.map((n) => n.name.length));
  for (const n of s.nodes)
    lines.push(
      `  ${n.name.padEnd(w)}  lease ${n.lease}  ${String(n.channels).padStart(4)} ch  ${(n.bitrate / 1e6).toFixed(1).padStart(7)} Mbit/s  capacity ${n.capacity}${n.agrees ? '' : '  CONFIG DIFFERS'}`,
    );
  const by = new Map<string, string[]>();
  for (const [slug, node] of Object.entries(s.owners))
    by.set(node, [...(by.get(node) ?? []), slug]);
  for (const [node, slugs] of [...by].sort()) lines.push(`  ${node}: ${slugs.join(', ')}`);
  if (s.unowned.length > 0) lines.push(`  NO OWNER: ${s.unowned.join(', ')}`);
  return lines.join('\n') + '\n';
}
