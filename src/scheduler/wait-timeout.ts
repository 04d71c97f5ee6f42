// The pacing thread's sleep timeouts as numbers made once. Atomics.wait takes its timeout in
// ms, and a fractional number passed to it is a new heap number at each call (16 bytes: V8
// boxes a double it hands to a builtin). The pacing thread sleeps up to ~2,000 times a second,
// so that was most of its remaining garbage (~30 KB/s at 40 channels; a collection every minute
// or so, each holding every send behind it). An array of tagged elements holds each timeout
// as a number allocated here, and hands it on as it is.
//
// Timeouts go in STEP_MS steps, rounded down: a sleep ends at most STEP_MS early, which the
// wake-up margin (SpinMargin, ≥ 40 µs) already leaves room for. A sleep shorter than a step
// takes one step (a timed wait takes ~50 µs to wake up anyway); a zero timeout would return at
// once and the loop would ask again, a busy loop of waits.

import { MAX_WAIT_NS } from './pacing-loop.js';

/** The step of the timeouts, ms. */
export const STEP_MS = 0.01;
const COUNT = Math.ceil(MAX_WAIT_NS / 1e6 / STEP_MS) + 1;

/** Timeout k is k × STEP_MS. A null first, then removed: tagged elements, not a double array. */
const TIMEOUTS: (number | null)[] = [null];
TIMEOUTS.pop();
for (let k = 0; k < COUNT; k++) TIMEOUTS.push(k * STEP_MS);

/** The index of the longest timeout not over `ms`, at least 1 (one step), at most MAX_WAIT_NS. */
export function waitStep(ms: number): number {
  const k = Math.floor(ms / STEP_MS + 1e-9);
  return k < 1 ? 1 : k >= COUNT ? COUNT - 1 : k;
}

/** Timeout `k` (waitStep) as the number to pass to Atomics.wait: nothing allocated. */
export function waitTimeout(k: number): number {
  return TIMEOUTS[k] as number;
}
