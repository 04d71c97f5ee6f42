// Cluster placement (src/headend/cluster/placement.ts): channels sharing a primary source (or a
// tuner) form one group; free groups go to preferred nodes, never to avoided ones while
// another is up, then to the least loaded by bitrate and count over capacity; owned groups
// stay where they are; every node computes the same answer.
import t from 'tap';
import { ideal, loads, place, placementGroups } from '../../../src/headend/cluster/placement.js';
import { channelSpec } from '../../helpers/channel-spec.js';
import type { ChannelSpec } from '../../../src/headend/config/types.js';

const ch = (
  n: number,
  source: string,
  o: { bitrate?: number; prefer?: string[]; avoid?: string[]; tuner?: string } = {},
): ChannelSpec => ({
  ...channelSpec(n, `C${n}`, `c${n}`, `239.1.1.${n}`),
  sources: [
    {
      key: source,
      url: source,
      ...(o.tuner ? { tuner: { id: o.tuner } as never } : {}),
    },
  ],
  ...(o.bitrate !== undefined ? { bitrate: o.bitrate } : {}),
  ...(o.prefer ? { prefer: o.prefer } : {}),
  ...(o.avoid ? { avoid: o.avoid } : {}),
});

const nodes = (...names: string[]) => names.map((name) => ({ name, capacity: 1 }));

t.test('channels that share a source or a tuner form one group', async (t) => {
  const g = placementGroups([
    ch(1, 'udp://239.9.0.1:5000', { bitrate: 4e6 }),
    ch(2, 'udp://239.9.0.2:5000', { bitrate: 4e6, tuner: 'sat1' }),
    ch(3, 'udp://239.9.0.1:5000', { bitrate: 2e6 }),
    ch(4, 'dvb://x', { tuner: 'sat1' }),
    ch(5, 'udp://239.9.0.5:5000', { prefer: ['b'] }),
  ]);
  t.same(
    g.map((x) => [x.id, x.slugs, x.bits]),
    [
      ['c1', ['c1', 'c3'], 6e6],
      ['c2', ['c2', 'c4'], 8e6],
      ['c5', ['c5'], 4e6],
    ],
    'a VBR channel counts 4 Mbit/s; a group is named by its first channel',
  );
  t.same(g[2]!.prefer, ['b']);
});

t.test('free groups spread by load; the same answer whatever the order of nodes', async (t) => {
  const groups = placementGroups([1, 2, 3, 4, 5, 6].map((n) => ch(n, `s${n}`, { bitrate: 4e6 })));
  const a = place(groups, nodes('a', 'b', 'c'), new Map());
  const b = place(groups, nodes('c', 'a', 'b'), new Map());
  t.same([...a].sort(), [...b].sort(), 'deterministic');
  const l = loads(groups, a);
  t.same(
    [...l.values()].map((x) => x.channels),
    [2, 2, 2],
    'two each',
  );
});

t.test('capacity weighs the share', async (t) => {
  const groups = placementGroups([1, 2, 3, 4, 5, 6].map((n) => ch(n, `s${n}`, { bitrate: 4e6 })));
  const p = place(
    groups,
    [
      { name: 'big', capacity: 2 },
      { name: 'small', capacity: 1 },
    ],
    new Map(),
  );
  t.same(loads(groups, p).get('big')?.channels, 4, 'twice the capacity, twice the channels');
});

t.test('prefer and avoid', async (t) => {
  const groups = placementGroups([
    ch(1, 's1', { prefer: ['c'] }),
    ch(2, 's2', { avoid: ['a', 'b'] }),
    ch(3, 's3', { avoid: ['a', 'b', 'c'] }),
    ch(4, 's4', { prefer: ['gone'] }),
  ]);
  const p = place(groups, nodes('a', 'b', 'c'), new Map());
  t.equal(p.get('c1'), 'c', 'a preferred node that is up');
  t.equal(p.get('c2'), 'c', 'never an avoided node while another is up');
  t.ok(p.get('c3'), 'avoided everywhere: still placed somewhere');
  t.ok(['a', 'b', 'c'].includes(p.get('c4')!), 'a preferred node that is down: the balance');
  const only = place(groups, nodes('a'), new Map());
  t.equal(only.get('c2'), 'a', 'the only node up takes even what avoids it');
});

t.test('groups with fewer places to go are placed first', async (t) => {
  // Placed by size alone, one and big would take a and b and two (avoiding c) would join one
  // of them, leaving c idle.
  const groups = placementGroups([
    ch(1, 's1', { bitrate: 1e6 }),
    ch(2, 's2', { bitrate: 1e6, avoid: ['c'] }),
    ch(3, 's3', { bitrate: 2e6 }),
  ]);
  const p = place(groups, nodes('a', 'b', 'c'), new Map());
  t.equal(new Set(p.values()).size, 3, `one group each: ${JSON.stringify([...p])}`);
  t.not(p.get('c2'), 'c');
});

t.test('owned groups stay; ideal ignores owners', async (t) => {
  const groups = placementGroups([1, 2, 3, 4].map((n) => ch(n, `s${n}`)));
  // Node b came back: a owns everything; nothing moves until the hand-back.
  const owners = new Map(['c1', 'c2', 'c3', 'c4'].map((s) => [s, 'a']));
  const p = place(groups, nodes('a', 'b'), owners);
  t.same([...p.values()], ['a', 'a', 'a', 'a'], 'no steal');
  const i = ideal(groups, nodes('a', 'b'));
  t.same(
    [...loads(groups, i).values()].map((x) => x.channels),
    [2, 2],
    'the balance alone: two each',
  );
  // An owner that is not live does not hold its groups.
  const q = place(groups, nodes('b'), owners);
  t.same([...q.values()], ['b', 'b', 'b', 'b']);
  t.equal(place(groups, [], owners).size, 0, 'no node: nothing placed');
});
