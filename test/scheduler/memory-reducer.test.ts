// The heaps of the threads started after workerHeapFlags() (scheduler/pacer.ts), the pacing
// thread among them: V8's memory reducer is off, and the young generation starts larger.
// A thread that allocated ~50,000 small objects at its start and then went quiet got three full
// collections from the reducer, 8 s later and 0.5 s apart (in the pacing thread: pauses of
// 0.8-4.4 ms, the worst late sends of the runs); started after the call, none. ~11 s: the
// reducer waits 8 s.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { WORKER_MIN_SEMI_SPACE_MB, workerHeapFlags } from '../../src/scheduler/pacer.js';

/**
 * Allocates at its start, then idles 11 s; posts the start times (ms) of its full collections
 * and the size of its young generation's new space at its start (bytes).
 */
const THREAD = `
const { parentPort } = require('node:worker_threads');
const newSpace = require('node:v8')
  .getHeapSpaceStatistics()
  .find((s) => s.space_name === 'new_space').space_size;
const { PerformanceObserver, constants } = require('node:perf_hooks');
const full = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries())
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full.push(Math.round(e.startTime));
}).observe({ entryTypes: ['gc'] });
let keep = [];
for (let i = 0; i < 50000; i++) keep.push({ i, s: 'x' + i });
keep = null;
setTimeout(() => parentPort.postMessage({ full, newSpace }), 11000);
`;

const report = (w: Worker): Promise<{ full: number[]; newSpace: number }> =>
  new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });

t.test('threads started after the call: no reducer, a larger young generation', async (t) => {
  const before = new Worker(THREAD, { eval: true });
  await new Promise((r) => before.once('online', r)); // its heap is set up: the reducer on
  workerHeapFlags();
  const after = new Worker(THREAD, { eval: true });
  const [b, a] = await Promise.all([before, after].map(report));
  const [withReducer, without] = [b.full, a.full];
  t.ok(
    withReducer.some((ms) => ms > 7000),
    `started before: the reducer's collections after 8 s (${withReducer.join(', ')} ms)`,
  );
  t.same(
    without.filter((ms) => ms > 7000),
    [],
    'started after: none',
  );
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  t.ok(
    a.newSpace >= WORKER_MIN_SEMI_SPACE_MB * 2 ** 20 && a.newSpace > b.newSpace,
    `new space at the start: ${mb(a.newSpace)} MB after the call, ${mb(b.newSpace)} MB before`,
  );
  await Promise.all([before.terminate(), after.terminate()]);
});
