// Load balance between channel workers (src/headend/lanes/balance.ts): what moves after a
// reload left the lanes uneven; groups that share a source move whole; nothing moves that
// would not shrink the spread; a lane given up on takes nothing.
import t from 'tap';
import { balanceMoves, type LaneLoad } from '../../../src/headend/lanes/balance.js';

const ch = (slug: string, bits = 4e6, sources = [slug]) => ({ slug, bits, sources });
const lane = (n: number, channels: LaneLoad['channels'], open = true): LaneLoad => ({
  lane: n,
  open,
  channels,
});

t.test('an emptied lane gets its share back', async (t) => {
  const m = balanceMoves([lane(0, []), lane(1, [ch('a'), ch('b'), ch('c')])]);
  t.same(m, [{ slugs: ['a'], from: 1, to: 0 }], 'one channel: 8 against 4 Mbit/s');
  const m4 = balanceMoves([lane(0, []), lane(1, [ch('a'), ch('b'), ch('c'), ch('d')])]);
  t.same(
    m4.map((x) => x.slugs),
    [['a'], ['b']],
    'four: two move',
  );
});

t.test('channels that share a source move together, or not at all', async (t) => {
  const shared = ['udp://239.1.1.1:5000'];
  const m = balanceMoves([
    lane(0, []),
    lane(1, [ch('a', 4e6, shared), ch('b', 4e6, shared), ch('c', 4e6, shared), ch('d', 4e6)]),
  ]);
  t.same(m, [{ slugs: ['d'], from: 1, to: 0 }], 'the lone one moves, the group stays');
  t.same(
    balanceMoves([lane(0, []), lane(1, [ch('a', 4e6, shared), ch('b', 4e6, shared)])]),
    [],
    'a group as large as the spread stays (it would only swap the lanes)',
  );
});

t.test('even lanes, one lane, or a lane given up on: nothing moves there', async (t) => {
  t.same(balanceMoves([lane(0, [ch('a')]), lane(1, [ch('b')])]), []);
  t.same(balanceMoves([lane(0, [ch('a'), ch('b')])]), []);
  t.same(balanceMoves([lane(0, [], false), lane(1, [ch('a'), ch('b'), ch('c')])]), []);
  t.same(
    balanceMoves([lane(0, [ch('a', 8e6), ch('b', 1e6)]), lane(1, [ch('c', 1e6)])]),
    [{ slugs: ['b'], from: 0, to: 1 }],
    'the 8 Mbit/s one would overshoot: the small one goes',
  );
  t.equal(
    balanceMoves(
      [
        lane(0, []),
        lane(
          1,
          Array.from({ length: 40 }, (_, i) => ch(`c${i}`)),
        ),
      ],
      8,
    ).length,
    8,
    'at most MAX_MOVES at a time',
  );
});
