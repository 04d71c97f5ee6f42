import t from 'tap';
import { didYouMean, editDistance, suggest } from '../../../src/headend/config/suggest.js';

t.test('edit distance', async (t) => {
  const cases: [string, string, number][] = [
    ['', '', 0],
    ['bitrate', 'bitrate', 0],
    ['bitrat', 'bitrate', 1],
    ['bitrtae', 'bitrate', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ];
  for (const [a, b, d] of cases) t.equal(editDistance(a, b), d, `${a} → ${b}`);
});

t.test('suggestions', async (t) => {
  const keys = ['number', 'name', 'bitrate', 'packets_per_datagram', 'stall_timeout'];
  t.equal(suggest('bitrat', keys), 'bitrate');
  t.equal(suggest('packetsPerDatagram', keys), 'packets_per_datagram');
  t.equal(suggest('Stall-Timeout', keys), 'stall_timeout');
  t.equal(suggest('nmae', keys), 'name');
  t.equal(suggest('colour', keys), undefined);
  t.equal(didYouMean('numbr', keys), " (did you mean 'number'?)");
  t.equal(didYouMean('zzz', keys), '');
});
