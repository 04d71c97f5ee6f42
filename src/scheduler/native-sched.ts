// The pacing thread's native addon (native/sched.c, built by `npm install` with
// scripts/build-native.mjs beside the UDP one), loaded once per thread: its EEVDF slice
// (thread-slice.ts) and a clock read that makes no JS value (mono-clock.ts nativeClock). Where it
// is not built, each user goes on without it and says why.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeSched {
  /** The calling thread's slice (ns), or why it cannot be read. */
  slice(): number | string;
  /** Asks for that slice (ns) for the calling thread: null, or why not. */
  setSlice(ns: number): string | null;
  /** CLOCK_MONOTONIC (process.hrtime's clock) in ns into cell[0]. */
  now(cell: Float64Array): void;
  /**
   * The calling thread's CPU time (ns, CLOCK_THREAD_CPUTIME_ID) and its voluntary and
   * involuntary context switches (getrusage, RUSAGE_THREAD) into cell[0..2] (mono-clock.ts
   * cpuCell).
   */
  cpu(cell: Float64Array): void;
}

/** Where the addon is built (node-gyp's output, from dist/src/scheduler/). */
export const SCHED_ADDON = fileURLToPath(
  new URL('../../../native/build/Release/headend_sched.node', import.meta.url),
);

const loaded = new Map<string, NativeSched | string>();

/** The addon at `addon`, or why it cannot be loaded (Linux only). Never throws. */
export function loadNativeSched(addon: string = SCHED_ADDON): NativeSched | string {
  let got = loaded.get(addon);
  if (got !== undefined) return got;
  if (process.platform !== 'linux') got = `Linux only (${process.platform})`;
  else {
    try {
      got = createRequire(import.meta.url)(addon) as NativeSched;
    } catch (e) {
      got = `no native addon (${(e as Error).message.split('\n')[0]})`;
    }
  }
  loaded.set(addon, got);
  return got;
}
