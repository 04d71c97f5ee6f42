// A lane's log lines and the reports they call for (lanes/lane-log.ts): a channel's own lines
// (its logger and its children) call for its report only, a line of the lane for every
// channel's, an update without a line for the updated channel's; a flush is asked for once
// per batch, and taking a batch empties it.
import t from 'tap';
import { LaneLog } from '../../../src/headend/lanes/lane-log.js';

function laneLog(): { log: LaneLog; asked: () => number } {
  let asked = 0;
  const log = new LaneLog(() => asked++);
  return { log, asked: () => asked };
}

t.test("a channel's lines call for its report only", async (t) => {
  const { log, asked } = laneLog();
  const seven = log.forChannel({ worker: 0 }, 7).child({ channel: '7 Seven' });
  const nine = log.forChannel({ worker: 0 }, 9);
  t.equal(log.pending, false);
  seven.log('info', 'channel-start');
  nine.log('warn', 'source-failed', { index: 0 });
  seven.log('info', 'channel-updated');
  t.equal(asked(), 1, 'one flush asked for the batch');
  const b = log.take();
  t.same([...b.ids!].sort(), [7, 9]);
  t.same(
    b.lines.map((l) => [l.event, l.fields]),
    [
      ['channel-start', { worker: 0, channel: '7 Seven' }],
      ['source-failed', { worker: 0, index: 0 }],
      ['channel-updated', { worker: 0, channel: '7 Seven' }],
    ],
    'the lines in order, with their fields',
  );
  t.equal(log.pending, false, 'taken');
  t.same(log.take(), { lines: [], ids: new Set() }, 'nothing left');
  nine.log('info', 'channel-stop');
  t.equal(asked(), 2, 'a new batch asks again');
});

t.test("a line of the lane calls for every channel's report", async (t) => {
  const { log } = laneLog();
  log.forChannel({ worker: 1 }, 3).log('info', 'channel-start');
  log.logger({ worker: 1 }).child({ thread: 'worker' }).log('warn', 'event-loop-stall');
  const b = log.take();
  t.equal(b.ids, null, 'every channel');
  t.same(b.lines[1], {
    level: 'warn',
    event: 'event-loop-stall',
    fields: { worker: 1, thread: 'worker' },
  });
  log.forChannel({ worker: 1 }, 3).log('info', 'channel-stop');
  t.same([...log.take().ids!], [3], 'the next batch is back to the channels');
});

t.test('an update without a line calls for its channel', async (t) => {
  const { log, asked } = laneLog();
  log.mark(4);
  t.equal(log.pending, true);
  t.equal(asked(), 1);
  t.same(log.take(), { lines: [], ids: new Set([4]) });
  t.equal(log.pending, false);
});
