// V8's memory reducer is off for the threads started after withoutMemoryReducer()
// (scheduler/pacer.ts), the pacing thread among them. A thread that allocated ~50,000 small
// objects at its start and then went quiet got three full collections from the reducer, 8 s
// later and 0.5 s apart (in the pacing thread: pauses of 0.8-4.4 ms, the worst late sends of
// the runs); started after the call, none. ~11 s: the reducer waits 8 s.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { withoutMemoryReducer } from '../../src/scheduler/pacer.js';

/** Allocates at its start, then idles 11 s; posts the start times (ms) of its full collections. */
const THREAD = `
const { parentPort } = require('node:worker_threads');
const { PerformanceObserver, constants } = require('node:perf_hooks');
const full = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries())
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full.push(Math.round(e.startTime));
}).observe({ entryTypes: ['gc'] });
let keep = [];
for (let i = 0; i < 50000; i++) keep.push({ i, s: 'x' + i });
keep = null;
setTimeout(() => parentPort.postMessage(full), 11000);
`;

const fullCollections = (w: Worker): Promise<number[]> =>
  new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });

t.test('no full collections from the reducer in threads started after the call', async (t) => {
  const before = new Worker(THREAD, { eval: true });
  await new Promise((r) => before.once('online', r)); // its heap is set up: the reducer on
  withoutMemoryReducer();
  const after = new Worker(THREAD, { eval: true });
  const [withReducer, without] = await Promise.all([before, after].map(fullCollections));
  t.ok(
    withReducer.some((ms) => ms > 7000),
    `started before: the reducer's collections after 8 s (${withReducer.join(', ')} ms)`,
  );
  t.same(
    without.filter((ms) => ms > 7000),
    [],
    'started after: none',
  );
  await Promise.all([before.terminate(), after.terminate()]);
});
