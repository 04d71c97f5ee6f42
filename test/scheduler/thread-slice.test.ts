// The pacing thread's EEVDF slice (scheduler/thread-slice.ts, native/sched.c), on this machine's
// kernel: the slice asked for is the one the kernel reads back (Linux 6.12 and later, which
// clamp it to 0.1-100 ms), and the thread's nice value stays as it was. Without the addon, or
// for a slice of nothing, the result says why.
import t from 'tap';
import { getPriority, release } from 'node:os';
import { readlinkSync } from 'node:fs';
import { setThreadSlice } from '../../src/scheduler/thread-slice.js';

const [major, minor] = release().split('.').map(Number);
const eevdfSlices = major > 6 || (major === 6 && minor >= 12);
const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());

t.test('asks for a slice and reads back what the kernel holds', async (t) => {
  const niceBefore = getPriority(tid);
  const r = setThreadSlice(300_000);
  t.ok(r.ok, r.ok ? 'set' : r.error);
  if (!r.ok) return;
  if (eevdfSlices) t.equal(r.sliceNs, 300_000, `kernel ${release()} holds the slice asked for`);
  else t.comment(`kernel ${release()}: slices not read (${r.sliceNs})`);
  t.equal(getPriority(tid), niceBefore, 'the nice value is as it was');
});

t.test('the kernel clamps a slice below 0.1 ms', { skip: !eevdfSlices }, async (t) => {
  const r = setThreadSlice(20_000);
  t.same(r, { ok: true, sliceNs: 100_000 });
});

t.test('a slice of nothing is refused by the addon, with the reason', async (t) => {
  const r = setThreadSlice(0);
  t.equal(r.ok, false);
  if (!r.ok) t.match(r.error, /setSlice: Invalid argument/);
});

t.test('without the addon, the reason', async (t) => {
  const r = setThreadSlice(200_000, '/nonexistent/headend_sched.node');
  t.equal(r.ok, false);
  if (!r.ok) t.match(r.error, /^no native addon \(/);
});
