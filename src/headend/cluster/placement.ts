// Where each channel of a cluster runs (pure: every node computes the same answer from the
// same file, the same live nodes and the same owners, so only the chosen node claims).
//
// Channels whose primary sources share an opened source (one tuner's transponder, one MPTS,
// one UDP group) form a placement group: they run on one node, so the input is received once.
// A group's load is its channels' bitrate (CBR: the mux rate; VBR: VBR_LOAD_BPS) and count,
// each as a share of the cluster's total, over the node's capacity.
//
// place(): groups already owned stay where they are (a node that comes back steals nothing);
// the others go, those with prefer or avoid first, then the largest first, to a preferred live
// node when the group prefers any, never to
// an avoided one unless no other is up, then to the node whose weighted load stays lowest
// (ties: fewer channels, then the name). ideal(): the same with nothing owned, which is where
// a hand-back (rebalance.ts) moves channels to once the cluster is quiet.

import type { ChannelSpec } from '../config/index.js';

/** The load a VBR channel counts for (it has no configured rate). */
export const VBR_LOAD_BPS = 4_000_000;

export interface PlacementGroup {
  /** The slug of its first channel in the file. */
  id: string;
  slugs: string[];
  bits: number;
  prefer: string[];
  avoid: string[];
}

export interface PlacementNode {
  name: string;
  capacity: number;
}

type Placeable = Pick<ChannelSpec, 'slug' | 'bitrate' | 'prefer' | 'avoid' | 'sources'>;

/** The channels in groups that share a primary source (or a tuner), in file order. */
export function placementGroups(channels: readonly Placeable[]): PlacementGroup[] {
  const parent = channels.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const bySource = new Map<string, number>();
  channels.forEach((c, i) => {
    const s = c.sources[0];
    if (!s) return;
    for (const key of [s.key, ...(s.tuner ? [`tuner:${s.tuner.id}`] : [])]) {
      const j = bySource.get(key);
      if (j === undefined) bySource.set(key, i);
      else parent[Math.max(find(i), find(j))] = Math.min(find(i), find(j));
    }
  });
  const groups = new Map<number, PlacementGroup>();
  channels.forEach((c, i) => {
    const root = find(i);
    let g = groups.get(root);
    if (!g) {
      g = { id: c.slug, slugs: [], bits: 0, prefer: [], avoid: [] };
      groups.set(root, g);
    }
    g.slugs.push(c.slug);
    g.bits += c.bitrate ?? VBR_LOAD_BPS;
    for (const n of c.prefer ?? []) if (!g.prefer.includes(n)) g.prefer.push(n);
    for (const n of c.avoid ?? []) if (!g.avoid.includes(n)) g.avoid.push(n);
  });
  return [...groups.values()];
}

/** A node's load: bits and channels placed on it. */
interface Load {
  bits: number;
  count: number;
}

/**
 * Group id → node: owned groups (a live node owns one of its channels) where they are, the
 * rest placed by the rules above. A group with no live node to go to is left out.
 */
export function place(
  groups: readonly PlacementGroup[],
  nodes: readonly PlacementNode[],
  owners: ReadonlyMap<string, string>,
): Map<string, string> {
  const out = new Map<string, string>();
  if (nodes.length === 0) return out;
  const live = new Map(nodes.map((n) => [n.name, n]));
  const load = new Map<string, Load>(nodes.map((n) => [n.name, { bits: 0, count: 0 }]));
  const totalBits = groups.reduce((s, g) => s + g.bits, 0) || 1;
  const totalCount = groups.reduce((s, g) => s + g.slugs.length, 0) || 1;
  const add = (g: PlacementGroup, node: string): void => {
    out.set(g.id, node);
    const l = load.get(node)!;
    l.bits += g.bits;
    l.count += g.slugs.length;
  };
  const free: PlacementGroup[] = [];
  for (const g of groups) {
    const owner = g.slugs.map((s) => owners.get(s)).find((n) => n !== undefined && live.has(n));
    if (owner !== undefined) add(g, owner);
    else free.push(g);
  }
  // Groups with prefer or avoid first (they have fewer places to go), then the largest.
  const bound = (g: PlacementGroup): number => (g.prefer.length > 0 || g.avoid.length > 0 ? 0 : 1);
  free.sort(
    (a, b) =>
      bound(a) - bound(b) || b.bits - a.bits || b.slugs.length - a.slugs.length || cmp(a.id, b.id),
  );
  const score = (n: PlacementNode, g: PlacementGroup): number => {
    const l = load.get(n.name)!;
    return ((l.bits + g.bits) / totalBits + (l.count + g.slugs.length) / totalCount) / n.capacity;
  };
  for (const g of free) {
    let candidates = nodes.filter((n) => g.prefer.includes(n.name));
    if (candidates.length === 0) candidates = [...nodes];
    const allowed = candidates.filter((n) => !g.avoid.includes(n.name));
    if (allowed.length > 0) candidates = allowed;
    let best = candidates[0]!;
    for (const n of candidates.slice(1)) {
      const d = score(n, g) - score(best, g);
      if (d < -1e-12) best = n;
      else if (Math.abs(d) <= 1e-12) {
        const c = load.get(n.name)!.count - load.get(best.name)!.count;
        if (c < 0 || (c === 0 && cmp(n.name, best.name) < 0)) best = n;
      }
    }
    add(g, best.name);
  }
  return out;
}

/** Where the balance alone would put every group (nothing owned). */
export function ideal(
  groups: readonly PlacementGroup[],
  nodes: readonly PlacementNode[],
): Map<string, string> {
  return place(groups, nodes, new Map());
}

/** Each node's share: bits, channel count and the groups' ids, for status and metrics. */
export function loads(
  groups: readonly PlacementGroup[],
  placed: ReadonlyMap<string, string>,
): Map<string, { bits: number; channels: number }> {
  const out = new Map<string, { bits: number; channels: number }>();
  for (const g of groups) {
    const n = placed.get(g.id);
    if (n === undefined) continue;
    const l = out.get(n) ?? { bits: 0, channels: 0 };
    l.bits += g.bits;
    l.channels += g.slugs.length;
    out.set(n, l);
  }
  return out;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
