// The pacing thread's clock (scheduler/mono-clock.ts nativeClock, native/sched.c now()): the same
// CLOCK_MONOTONIC as process.hrtime, read without making a JS value, so a loop that reads it
// makes no garbage for the collector (performance.now() left ~32 bytes a read, and the pacing
// thread's collections held it 0.2-2.6 ms). Without the addon, the reason and the fallback.
import t from 'tap';
import { PerformanceObserver } from 'node:perf_hooks';
import { monotonicNs, nativeClock } from '../../src/scheduler/mono-clock.js';

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

t.test('reads process.hrtime’s clock, never going back', async (t) => {
  const c = nativeClock();
  t.equal(c.error, undefined, 'the addon is built (npm install)');
  let last = -Infinity;
  let back = 0;
  let outside = 0;
  for (let i = 0; i < 1000; i++) {
    const before = Number(process.hrtime.bigint());
    const ns = c.now();
    const after = Number(process.hrtime.bigint());
    if (ns < last) back++;
    if (!(before <= ns && ns <= after)) outside++;
    last = ns;
  }
  t.equal(back, 0, '1000 reads: none went back');
  t.equal(outside, 0, '1000 reads: each between the hrtime reads before and after it');
  t.ok(Math.abs(c.now() - monotonicNs()) < 1e6, 'the JS reading of the same clock agrees');
});

t.test('a loop of reads makes no garbage; performance.now() does', async (t) => {
  const { now } = nativeClock();
  // Each loop reads one clock only, so that its call is taken into the loop's code (inlined).
  const native = (): number => {
    let n = 0;
    for (let i = 0; i < 2_000_000; i++) if (now() < 0) n++;
    return n;
  };
  const js = (): number => {
    let n = 0;
    for (let i = 0; i < 2_000_000; i++) if (monotonicNs() < 0) n++;
    return n;
  };
  native(); // warm up: optimized from here on
  js();
  await settle();
  let gcs = 0;
  const obs = new PerformanceObserver((l) => (gcs += l.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  native();
  await settle();
  const nativeGcs = gcs;
  gcs = 0;
  js();
  await settle();
  obs.disconnect();
  t.equal(nativeGcs, 0, '2 million native reads: no collection');
  t.ok(gcs > 0, `2 million performance.now() reads: ${gcs} collections (the test can see one)`);
});

t.test('without the addon: performance.now(), and why', async (t) => {
  const c = nativeClock('/nonexistent/headend_sched.node');
  t.match(c.error, /^no native addon \(/);
  t.equal(c.now, monotonicNs);
});
