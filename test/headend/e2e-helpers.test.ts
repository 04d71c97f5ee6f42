// The end-to-end tests' own reading of a capture (test/e2e/helpers.ts), against hand-built lists:
// what they judge the daemon by must not misread a stream the daemon sent correctly.
import t from 'tap';
import { datagramSizes } from '../e2e/helpers.js';

const list = (...sizes: number[]) => sizes.map((n) => ({ data: new Uint8Array(n) }));
const W = 7 * 188;

t.test('datagramSizes: a datagram in two parts counts once, however the list begins', async (t) => {
  t.same([...datagramSizes(list(W, 752, 564, W, 188, 1128, W), W)], [W], 'parts paired');
  t.same(
    [...datagramSizes(list(752, W, W, 564), W)],
    [W],
    'a part alone at either end is left out',
  );
  // Begun on the rest of a datagram, while the channel caught up: pairing from the start would
  // pair each rest with the next first part and leave the last part before W alone (CI).
  t.same(
    [...datagramSizes(list(564, 752, 564, 752, 564, W, W), W)],
    [W],
    'the parts before the first whole datagram are left out',
  );
  t.same([...datagramSizes(list(W, 564, W), W)], [W, 564], 'a short datagram between whole ones');
  t.same([...datagramSizes(list(752, 564, 752, 564), W)], [W], 'only parts: paired from the start');
});
