// channel-behind: sends later than 25 ms, from the pacer's cumulative lateness histogram, said
// at most every 10 s with the count since last said; on time, nothing.
import t from 'tap';
import { BEHIND_S, BehindWatch } from '../../../src/headend/channel/behind-watch.js';
import { LATENESS_BUCKETS_S } from '../../../src/scheduler/ring.js';

const S = 1e9;
const i25 = LATENESS_BUCKETS_S.indexOf(BEHIND_S as (typeof LATENESS_BUCKETS_S)[number]);

/** A histogram: `onTime` sends within 25 ms, `late` beyond. */
function hist(onTime: number, late: number) {
  const counts = LATENESS_BUCKETS_S.map((_, i) => (i < i25 ? 0 : onTime));
  return { buckets: LATENESS_BUCKETS_S, counts, count: onTime + late };
}

t.test('late sends are said, at most every 10 s', async (t) => {
  t.ok(i25 >= 0, 'the histogram has a 25 ms bound');
  const w = new BehindWatch();
  t.equal(w.sample(0, hist(100, 5)), undefined, 'the first reading is the baseline');
  t.equal(w.sample(1 * S, hist(500, 5)), undefined, 'on time: nothing');
  const a = w.sample(2 * S, hist(900, 12));
  t.match(a, {
    lateSends: 7,
    message: /7 datagram\(s\) left more than 25 ms after their due time/,
  });
  t.equal(w.sample(3 * S, hist(1300, 20)), undefined, 'again within 10 s: held');
  t.equal(w.sample(4 * S, hist(1700, 20)), undefined);
  t.match(w.sample(12.5 * S, hist(5000, 21)), { lateSends: 9 }, 'then the count since: 8 + 1');
  t.equal(w.sample(30 * S, hist(9000, 21)), undefined, 'on time again: nothing');
  t.equal(new BehindWatch().sample(0, { buckets: [], counts: [], count: 0 }), undefined);
});

t.test(
  'sends under the burst limit’s rule 3 are said too, with or without late ones',
  async (t) => {
    const w = new BehindWatch();
    t.equal(w.sample(0, hist(100, 0), 4), undefined, 'the first reading is the baseline');
    const a = w.sample(1 * S, hist(500, 0), 10);
    t.match(a, {
      lateSends: 0,
      relaxedSends: 6,
      message:
        /^6 datagram\(s\) left above the burst limit \(up to 6 ms more of the channel's schedule per 10 ms\): the channel stayed more than 20 ms behind/,
    });
    t.equal(w.sample(2 * S, hist(900, 3), 12), undefined, 'within 10 s: held');
    const b = w.sample(11 * S, hist(1300, 3), 12);
    t.match(b, { lateSends: 3, relaxedSends: 2 }, 'both, counted since last said');
    t.match(
      b?.message,
      /more than 25 ms after their due time.*; 2 datagram\(s\) left above the burst limit/,
    );
  },
);
