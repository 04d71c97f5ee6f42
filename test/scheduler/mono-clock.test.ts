// The pacing thread's clock (scheduler/mono-clock.ts nativeClock, native/sched.c now()): the same
// CLOCK_MONOTONIC as process.hrtime, read without making a JS value, so a loop that reads it
// makes no garbage for the collector (performance.now() left ~32 bytes a read, and the pacing
// thread's collections held it 0.2-2.6 ms). Without the addon, the reason and the fallback.
// The thread's own CPU use (threadCpuReader, native/sched.c cpu(): CLOCK_THREAD_CPUTIME_ID and
// getrusage's context switches), with which the pacing loop tells time the OS took its CPU away
// from its own.
import t from 'tap';
import { PerformanceObserver } from 'node:perf_hooks';
import {
  CPU_INVOLUNTARY,
  CPU_NS,
  CPU_VOLUNTARY,
  cpuCell,
  monotonicNs,
  nativeClock,
  threadCpuReader,
} from '../../src/scheduler/mono-clock.js';

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

t.test("the thread's CPU time grows with its work, not with its sleeps", async (t) => {
  const read = threadCpuReader();
  if (typeof read === 'string') throw new Error(`the addon is built (npm install): ${read}`);
  const a = cpuCell();
  const b = cpuCell();
  // 30 ms of work: CPU time within the wall clock between the two reads (another thread of
  // this process is not counted).
  const w0 = monotonicNs();
  read(a);
  let x = 0;
  while (monotonicNs() - w0 < 30e6) x = (x + 1) | 0;
  read(b);
  const wall = monotonicNs() - w0;
  const busy = b[CPU_NS] - a[CPU_NS];
  t.ok(x > 0);
  t.ok(busy > 0 && busy <= wall, `busy: ${(busy / 1e6).toFixed(2)} ms of ${wall / 1e6}`);
  t.ok(b[CPU_INVOLUNTARY] >= a[CPU_INVOLUNTARY], 'involuntary switches only grow');

  // 30 ms asleep (Atomics.wait: the thread blocks, a voluntary switch): next to no CPU time.
  read(a);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
  read(b);
  t.ok(b[CPU_NS] - a[CPU_NS] < 5e6, `asleep: ${((b[CPU_NS] - a[CPU_NS]) / 1e6).toFixed(2)} ms`);
  t.ok(b[CPU_VOLUNTARY] > a[CPU_VOLUNTARY], 'the sleep is a voluntary switch');
});

t.test('without the addon: no thread CPU reader, and why', async (t) => {
  t.match(threadCpuReader('/nonexistent/headend_sched.node'), /^no native addon \(/);
});
