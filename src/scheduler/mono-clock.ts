// Monotonic nanoseconds in process.hrtime.bigint()'s domain (the pacer's due times), read
// through performance.now(): the same CLOCK_MONOTONIC from a fixed origin, without a BigInt per
// read (a hot path reads it per datagram or per source chunk). Each thread that imports this
// measures the origin once: the pair of reads closest together of 20, after the first (slow,
// lazily set up) read of each clock.

import { loadNativeSched } from './native-sched.js';

const originNs = ((): number => {
  let best = Infinity;
  let origin = 0;
  for (let i = 0; i < 20; i++) {
    const a = performance.now();
    const h = Number(process.hrtime.bigint());
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      origin = h - ((a + b) / 2) * 1e6;
    }
  }
  return origin;
})();

/** Now, monotonic ns (Number(process.hrtime.bigint()) within a few µs). */
export const monotonicNs = (): number => performance.now() * 1e6 + originNs;

/**
 * The same clock, read without making a JS value per read (native/sched.c now(): the ns go into
 * a cell the caller's code reads as a double), for the pacing thread: its loop reads the clock
 * at every pass and send, and its spin thousands of times a second, and each performance.now()
 * left ~32 bytes of garbage, so the young generation filled ~3 times a second at 20 channels and
 * each collection held the thread 0.2-2.6 ms. Falls back to monotonicNs where the addon is not
 * built (`error` says why).
 */
export function nativeClock(addon?: string): { now: () => number; error?: string } {
  const sched = loadNativeSched(addon);
  if (typeof sched === 'string') return { now: monotonicNs, error: sched };
  const cell = new Float64Array(new ArrayBuffer(8)); // off the JS heap from the start
  const read = sched.now;
  return {
    now: (): number => {
      read(cell);
      return cell[0];
    },
  };
}

/** threadCpuReader's cell: the thread's CPU time (ns) and context switches so far. */
export const CPU_NS = 0;
/** Voluntary: it blocked (a lock, a wait). */
export const CPU_VOLUNTARY = 1;
/** Involuntary: the scheduler took its CPU away. */
export const CPU_INVOLUNTARY = 2;
export const cpuCell = (): Float64Array => new Float64Array(3);
/** Reads the calling thread's cpuCell. */
export type ThreadCpuRead = (cell: Float64Array) => void;

/**
 * The calling thread's use of its CPU (native/sched.c cpu(): CLOCK_THREAD_CPUTIME_ID and
 * getrusage's context switches, RUSAGE_THREAD, written into a cpuCell, no JS value per read):
 * what the pacing loop compares with the clock to tell time the OS took the CPU away from its
 * own. Node 20 has no per-thread CPU clock, so without the addon there is none: why, as a string.
 */
export function threadCpuReader(addon?: string): ThreadCpuRead | string {
  const sched = loadNativeSched(addon);
  if (typeof sched === 'string') return sched;
  if (typeof sched.cpu !== 'function') return 'the native addon has no cpu(): rebuild it';
  return sched.cpu;
}
