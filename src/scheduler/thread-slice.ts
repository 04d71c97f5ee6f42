// The pacing thread's EEVDF slice (sched(7); native/sched.c): Linux 6.12 and later let a
// SCHED_OTHER thread ask for a shorter slice than the default (1.4 ms on 2 CPUs), without any
// privilege, and a thread that wakes with a shorter slice than the running one's preempts it
// (PREEMPT_SHORT) instead of waiting for the end of that thread's slice.
//
// Why: on a busy box the pacing thread woke and then waited for a CPU behind threads that ran
// on: measured (perf sched, 20 channels with two x264 transcodes at nice 10 on the 2 vCPUs) a
// nice-10 x264 thread ran 5.1 ms on while the nice −10 pacing thread waited 4.9 ms; with a
// 0.2 ms slice the 100th-longest wait of 14 s fell from 2.05 to 0.25 ms. The pacing thread
// runs 0.02-0.4 ms per wake-up, so 0.2 ms is about its own run (the kernel's advice: the
// thread's usual run, not less).
//
// The addon is built by `npm install` (scripts/build-native.mjs) beside the UDP one; without it
// the thread runs with the default slice and the result says why.

import { loadNativeSched, SCHED_ADDON } from './native-sched.js';

/** The slice the pacing thread asks for, ns. */
export const PACING_SLICE_NS = 200_000;

/** What setThreadSlice did: the slice in effect after it, or why not. */
export type SliceResult = { ok: true; sliceNs: number } | { ok: false; error: string };

/**
 * Asks for an EEVDF slice of `ns` for the calling thread and reads back what the kernel holds
 * (a kernel before 6.12 leaves it unused: ok, with what it reads back). Never throws.
 */
export function setThreadSlice(ns: number, addon: string = SCHED_ADDON): SliceResult {
  const sched = loadNativeSched(addon);
  if (typeof sched === 'string') return { ok: false, error: sched };
  const failed = sched.setSlice(ns);
  if (failed !== null) return { ok: false, error: failed };
  const now = sched.slice();
  return typeof now === 'number' ? { ok: true, sliceNs: now } : { ok: false, error: now };
}
