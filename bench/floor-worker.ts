// The machine-floor probe's thread (bench/floor.ts): does nothing but wait, so that what it
// measures is how the OS and the (virtual) machine schedule a thread, not our pacing code.
//   spin:     never sleeps; reads the clock (with the pacer's pause loop between reads) and
//             records every gap between two reads: time the thread was kept off the CPU.
//   sleep:    a normal thread with the pacer's timer slack (1 µs) that sleeps in Atomics.wait
//             to a deadline every periodNs: how late it wakes (the floor of pacing modes
//             balanced and sleep, which sleep to most sends);
//   rt-sleep: SCHED_FIFO (realtime.ts), sleeps in Atomics.wait to a deadline every periodNs
//             with no spin, and records how late it woke: the wake-up floor of a real-time
//             sleeper (the caller holds the CPU latency request, as the real-time pacer runs).
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import {
  PACING_TIMER_SLACK_NS,
  makeThreadRealtime,
  setThreadTimerSlack,
} from '../src/scheduler/realtime.js';

const { mode, seconds, periodNs, priority } = workerData as {
  mode: 'spin' | 'sleep' | 'rt-sleep';
  seconds: number;
  periodNs: number;
  priority: number;
};
const port = parentPort!;
/** Delays above this are kept (µs), to count and rank them. */
const KEEP_US = 20;
const kept: number[] = [];
let samples = 0;
let sink = 0;
let error: string | undefined;

if (mode === 'spin') {
  const end = performance.now() + seconds * 1000;
  let last = performance.now();
  while (last < end) {
    for (let j = 0; j < 200; j++) sink = (sink + j) | 0;
    const t = performance.now();
    const gapUs = (t - last) * 1000;
    if (gapUs > KEEP_US) kept.push(gapUs);
    samples++;
    last = t;
  }
} else {
  if (mode === 'rt-sleep') {
    const r = makeThreadRealtime(priority);
    if (!r.ok) error = r.error;
  } else {
    const r = setThreadTimerSlack(PACING_TIMER_SLACK_NS);
    if (!r.ok) error = r.error;
  }
  const word = new Int32Array(new SharedArrayBuffer(4));
  const periodMs = periodNs / 1e6;
  let due = performance.now() + periodMs;
  const end = due + seconds * 1000;
  while (due < end) {
    const wait = due - performance.now();
    if (wait > 0) Atomics.wait(word, 0, 0, wait);
    const lateUs = (performance.now() - due) * 1000;
    if (lateUs > KEEP_US) kept.push(lateUs);
    samples++;
    due += periodMs;
  }
}
port.postMessage({ samples, kept, error, sink });
