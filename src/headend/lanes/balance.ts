// Load balance between channel workers (pure): which running channels to move, after a reload
// or a cluster change left the lanes uneven (channels removed from one, say). Channels of a
// lane that read one source form a group that moves whole (its input is received once). While
// the spread between the most and the least loaded open lane is larger than a group of the most
// loaded could shrink, the group whose load is nearest half the spread moves (of equals, the
// one of fewer channels); at most MAX_MOVES groups a time, each move a handed-over output
// (output-handoff.ts), so receivers see one stream go on. The daemon moves them after a reload
// (daemon.ts balance): a moved channel is rebuilt, so its source is opened again.

/** A lane as the balance sees it. */
export interface LaneLoad {
  lane: number;
  /** Whether it takes channels (a lane given up on does not). */
  open: boolean;
  channels: { slug: string; bits: number; sources: readonly string[] }[];
}

export interface BalanceMove {
  slugs: string[];
  from: number;
  to: number;
}

/** Groups moved in one go at most. */
export const MAX_MOVES = 8;

interface Group {
  slugs: string[];
  bits: number;
}

/** A lane's channels in groups that share a source. */
function groups(l: LaneLoad): Group[] {
  const out: { keys: Set<string>; g: Group }[] = [];
  for (const c of l.channels) {
    const hits = out.filter((x) => c.sources.some((k) => x.keys.has(k)));
    const merged = { keys: new Set(c.sources), g: { slugs: [c.slug], bits: c.bits } };
    for (const h of hits) {
      for (const k of h.keys) merged.keys.add(k);
      merged.g.slugs.unshift(...h.g.slugs);
      merged.g.bits += h.g.bits;
      out.splice(out.indexOf(h), 1);
    }
    out.push(merged);
  }
  return out.map((x) => x.g);
}

export function balanceMoves(lanes: readonly LaneLoad[], maxMoves = MAX_MOVES): BalanceMove[] {
  const open = lanes.filter((l) => l.open);
  if (open.length < 2) return [];
  const state = open.map((l) => ({
    lane: l.lane,
    groups: groups(l),
    bits: l.channels.reduce((s, c) => s + c.bits, 0),
  }));
  const moves: BalanceMove[] = [];
  while (moves.length < maxMoves) {
    const hi = state.reduce((a, b) => (b.bits > a.bits ? b : a));
    const lo = state.reduce((a, b) => (b.bits < a.bits ? b : a));
    const spread = hi.bits - lo.bits;
    // A group helps only when it is smaller than the spread; best near half of it.
    let best: Group | undefined;
    // Ties: the group of fewer channels (fewer outputs handed over).
    const off = (g: Group): number => Math.abs(spread / 2 - g.bits);
    for (const g of hi.groups) {
      if (g.bits >= spread) continue;
      if (
        !best ||
        off(g) < off(best) ||
        (off(g) === off(best) && g.slugs.length < best.slugs.length)
      )
        best = g;
    }
    if (!best) break;
    hi.groups.splice(hi.groups.indexOf(best), 1);
    lo.groups.push(best);
    hi.bits -= best.bits;
    lo.bits += best.bits;
    moves.push({ slugs: best.slugs, from: hi.lane, to: lo.lane });
  }
  return moves;
}
