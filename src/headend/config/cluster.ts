// Cluster mode in channels.yaml (headend/cluster/): several headends share the channels out
// through etcd, each channel sent by exactly one of them, taken over when its node dies.
//
//   headend:
//     cluster:
//       etcd: [http://10.0.0.1:2379, http://10.0.0.2:2379]
//                                 the etcd cluster's client URLs (required)
//       node: box-a               this node's name: letters, digits, - and _ (default: the
//                                 machine's host name). Every node reads the same file, so
//                                 HEADEND_NODE in a node's environment (`headend run --node
//                                 box-a` sets it) wins over this key
//       ttl: 5s                   lease time to live, 2s-60s (default 5s): a node that dies
//                                 or loses etcd is taken over after about this long, and a
//                                 node that cannot reach etcd stops sending before it ends
//       capacity: { box-a: 2 }    each node's share of the load, relative to the others'
//                                 (0.1-1000; default 1 for a node not listed)
//       prefix: /headend          etcd key prefix of this cluster (default /headend)
//       config: file              file (the default): every node runs its own copy of this
//                                 file, and nodes whose copies differ (by hash) say so and
//                                 claim no channels; etcd: the file is kept in etcd under
//                                 <prefix>/config, a reload on any node stores it there and
//                                 every node applies it
//       handback: 60s             how long the cluster must be quiet (no node joined or left)
//                                 before channels move back to where the balance puts them;
//                                 'HH:MM' (local time) for a daily moment instead; never:
//                                 they stay where they are (default 60s)
//       standalone_fallback: false   etcd unreachable at start: run every channel alone
//                                 (true: can make two senders; default false: wait for etcd)
//   channels:
//     - prefer: [box-a]           nodes this channel should run on when one of them is up
//       avoid: [box-c]            nodes it runs on only when no other node is up

import { hostname } from 'node:os';
import { z } from 'zod';
import { boolean, describe, duration, invalid, leaf, type Invalid } from './values.js';
import { parseDuration } from '../units.js';

const NODE_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** A node name: the key of its lease and its channels in etcd. */
export function nodeName() {
  return leaf((v) =>
    typeof v === 'string' && NODE_RE.test(v)
      ? v
      : invalid(`expected a node name (letters, digits, - and _, at most 63), got ${describe(v)}`),
  );
}

/** A list of node names (prefer, avoid); one name needs no list. */
export const nodeList = () =>
  z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(nodeName()));

/** An etcd client URL: http(s)://host:port. */
function etcdUrl() {
  return leaf((v) => {
    if (typeof v !== 'string')
      return invalid(`expected an etcd URL such as http://10.0.0.1:2379, got ${describe(v)}`);
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return invalid(`not a URL: ${describe(v)} (expected http://host:2379)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      return invalid(`an etcd URL is http:// or https://, got ${describe(v)}`);
    if (u.pathname !== '/' || u.search !== '' || u.hash !== '')
      return invalid(`an etcd URL is scheme://host:port only, got ${describe(v)}`);
    return `${u.protocol}//${u.host}`;
  });
}

const HHMM_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** handback: a quiet time (1s-1d), 'HH:MM' daily, or never. */
function handbackValue() {
  return leaf((v): HandbackSpec | Invalid => {
    const expected = `expected a quiet time such as 60s, a daily time 'HH:MM' (00:00-23:59), or never, got ${describe(v)}`;
    if (v === 'never') return { kind: 'never' };
    if (typeof v === 'string') {
      const m = HHMM_RE.exec(v);
      if (m) return { kind: 'daily', minute: Number(m[1]) * 60 + Number(m[2]) };
      if (/^\d+:\d+$/.test(v)) return invalid(expected);
    }
    if (typeof v !== 'string' && typeof v !== 'number') return invalid(expected);
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (typeof ms !== 'number') return invalid(expected);
    if (ms < 1_000 || ms > 86_400_000)
      return invalid(`a quiet time is 1s to 1d, got ${describe(v)}`);
    return { kind: 'quiet', ms };
  });
}

export const clusterSchema = z.strictObject({
  etcd: z.preprocess(
    (v) => (typeof v === 'string' ? [v] : v),
    z.array(etcdUrl()).min(1, { error: 'at least one etcd URL' }),
  ),
  node: nodeName().optional(),
  ttl: duration(2_000, 60_000).optional(),
  capacity: z
    .record(
      z.string().regex(NODE_RE, { error: 'a node name: letters, digits, - and _' }),
      leaf((v) =>
        typeof v === 'number' && v >= 0.1 && v <= 1000
          ? v
          : invalid(`expected a capacity from 0.1 to 1000, got ${describe(v)}`),
      ),
    )
    .optional(),
  prefix: leaf((v) =>
    typeof v === 'string' && /^\/[A-Za-z0-9/_.-]*$/.test(v) && !v.endsWith('/')
      ? v
      : invalid(`expected a key prefix such as /headend, got ${describe(v)}`),
  ).optional(),
  config: z.enum(['file', 'etcd'], { error: 'expected file or etcd' }).optional(),
  handback: handbackValue().optional(),
  standalone_fallback: boolean().optional(),
});
export type RawCluster = z.infer<typeof clusterSchema>;

/** When channels go back to where the balance puts them (cluster/rebalance.ts). */
export type HandbackSpec =
  { kind: 'never' } | { kind: 'quiet'; ms: number } | { kind: 'daily'; minute: number };

export interface ClusterSpec {
  etcd: string[];
  node: string;
  ttlMs: number;
  /** Node → its share of the load (1 when not listed). */
  capacity: Record<string, number>;
  prefix: string;
  config: 'file' | 'etcd';
  handback: HandbackSpec;
  standaloneFallback: boolean;
}

export const DEFAULT_CLUSTER_TTL_MS = 5_000;
export const DEFAULT_HANDBACK_MS = 60_000;

/** The machine's host name as a node name (characters it cannot hold become -). */
export function defaultNodeName(): string {
  const h = hostname().split('.')[0] ?? 'headend';
  const n = h.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return n === '' ? 'headend' : n.slice(0, 63);
}

export function resolveCluster(raw: RawCluster | undefined): ClusterSpec | null {
  if (!raw) return null;
  const handback: HandbackSpec = raw.handback ?? { kind: 'quiet', ms: DEFAULT_HANDBACK_MS };
  return {
    etcd: raw.etcd,
    node: process.env.HEADEND_NODE || raw.node || defaultNodeName(),
    ttlMs: raw.ttl ?? DEFAULT_CLUSTER_TTL_MS,
    capacity: raw.capacity ?? {},
    prefix: raw.prefix ?? '/headend',
    config: raw.config ?? 'file',
    handback,
    standaloneFallback: raw.standalone_fallback ?? false,
  };
}
