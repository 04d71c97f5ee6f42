// The stall watch (src/headend/stall-watch.ts): a blocked main thread and a late pacing thread
// are each logged once, with how long, and repeated stalls within the window fold into the
// next line's count.
import t from 'tap';
import { createLogger } from '../../src/headend/log.js';
import { watchStalls } from '../../src/headend/stall-watch.js';
import type { PacerStats } from '../../src/scheduler/pacer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const block = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

function stats(lateMs: number, ownMs = 0): PacerStats {
  return {
    channels: 3,
    sent: 100,
    unlicensed: 0,
    lateMaxNs: lateMs * 1e6,
    ownLateMaxNs: ownMs * 1e6,
    preemptedMaxNs: 0,
    sleeps: 0,
    yields: 0,
    spinNs: 0,
    oversleepMaxNs: 0,
    gcPausesTotal: 0,
    gcMaxNs: 0,
    marginNs: 0,
    periodNs: 1e9,
    realtime: false,
    grid: false,
  };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ write: (l) => lines.push(JSON.parse(l)), repeatWindowMs: 0 });
  return { log, lines };
}

t.test('a main-thread block over the threshold is logged with its length', async (t) => {
  const { log, lines } = capture();
  const w = watchStalls(log, { checkMs: 100 });
  t.teardown(() => w.stop());
  await sleep(150);
  block(60); // under 100 ms: not a line
  await sleep(250);
  t.same(lines, [], 'a 60 ms block is not logged');
  block(250);
  await sleep(250);
  t.equal(lines.length, 1, 'one line');
  t.equal(lines[0].event, 'event-loop-stall');
  t.equal(lines[0].level, 'warn');
  t.equal(lines[0].thread, 'main');
  const ms = lines[0].maxMs as number;
  t.ok(ms >= 200 && ms < 1000, `maxMs ${ms}`);
});

t.test('pacing lateness: first logged, the next folded until the window passes', async (t) => {
  const { log, lines } = capture();
  let now = 0;
  const realNow = Date.now;
  Date.now = () => now;
  t.teardown(() => {
    Date.now = realNow;
  });
  const w = watchStalls(log, { everyMs: 10_000, checkMs: 60_000 });
  t.teardown(() => w.stop());
  w.pacer(stats(5));
  t.same(lines, [], '5 ms late: not logged');
  now = 1000;
  w.pacer(stats(45, 44));
  now = 2000;
  w.pacer(stats(80, 0.3));
  now = 3000;
  w.pacer(stats(30, 2));
  t.equal(lines.length, 1, 'one line for the first');
  t.match(lines[0], {
    event: 'pacing-late',
    thread: 'pacing',
    maxMs: 45,
    ownMaxMs: 44,
    periods: 1,
    channels: 3,
  });
  now = 12_000;
  w.pacer(stats(25, 0.1));
  t.equal(lines.length, 2, 'the next after the window');
  t.match(
    lines[1],
    { event: 'pacing-late', maxMs: 80, ownMaxMs: 2, periods: 3 },
    "the worst own share of the folded stalls: 80 ms was the machine's, 2 ms the daemon's",
  );
});
