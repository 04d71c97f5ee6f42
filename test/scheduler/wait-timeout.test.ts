// The pacing thread's sleep timeouts (wait-timeout.ts): 10 µs steps, rounded down, at least
// one step, at most the loop's longest wait; and waiting with them allocates nothing, where a
// fractional timeout passed to Atomics.wait is a new heap number at every call.
import t from 'tap';
import { MAX_WAIT_NS } from '../../src/scheduler/pacing-loop.js';
import { STEP_MS, waitStep, waitTimeout } from '../../src/scheduler/wait-timeout.js';
import { allocatedDuring } from '../helpers/allocated.js';

t.test('steps: rounded down, at least one, at most the longest wait', async (t) => {
  t.equal(waitStep(0.7345), 73);
  t.equal(waitTimeout(waitStep(0.7345)), 0.73);
  t.equal(waitTimeout(waitStep(1)), 1, 'a whole ms is itself');
  t.equal(waitTimeout(waitStep(0.03)), 0.03, 'an exact step is itself (no float shortfall)');
  t.equal(waitStep(0.004), 1, 'under a step: one step');
  t.equal(waitStep(0), 1);
  const max = MAX_WAIT_NS / 1e6;
  t.equal(waitTimeout(waitStep(max)), max);
  t.equal(waitTimeout(waitStep(10 * max)), max, 'capped at the longest wait');
  for (let ms = 0.01; ms < 3; ms += 0.00731) {
    const to = waitTimeout(waitStep(ms));
    if (!(to <= ms + 1e-9 && ms - to < STEP_MS + 1e-9)) {
      t.fail(`${ms} ms → ${to}`);
      return;
    }
  }
  t.pass('every timeout within a step below what was asked');
});

t.test('waiting with them allocates nothing', async (t) => {
  const w = new Int32Array(new SharedArrayBuffer(8));
  const cell = new Float64Array(1);
  cell[0] = 0.7345;
  let timedOut = 0;
  // Expected value 1 where the cell holds 0: each wait returns 'not-equal' at once.
  const waits = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const k = waitStep(cell[0] + (i % 100) * 0.013);
      if (Atomics.wait(w, 0, 1, waitTimeout(k)) === 'not-equal') timedOut++;
    }
  };
  waits(50_000); // V8 optimizes the loop
  const a = await allocatedDuring(() => waits(100_000));
  t.equal(timedOut, 150_000);
  t.ok(a.bytes < 100_000, `${a.bytes} bytes over 100,000 waits`);
});
