// A pacing queue as the worker keeps one (pacer-worker.ts WorkerChannel), reduced to due times
// and the burst limiter, and the most sends in any window: shared by the burst limiter's tests
// (test/scheduler/burst-limit.test.ts) and its simulation (bench/limiter-sim.ts).
import type { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import type { PacedQueue } from '../../src/scheduler/pacing-loop.js';

export interface Sent {
  /** When the loop sent it, and when it was due (ns). */
  at: number;
  due: number;
}

/** A queue of `dues` (ns, ascending) through `limiter`; each send is appended to `sent`. */
export function limitedQueue(dues: number[], limiter: BurstLimiter, sent: Sent[]): PacedQueue {
  let at = 0;
  let head = 0;
  return {
    headFloor: () => limiter.windowEnd,
    headDue() {
      if (head >= dues.length) return Infinity;
      at = limiter.earliest(dues[head]);
      return at;
    },
    sendHead(sinceAt) {
      const due = dues[head++];
      const now = at + sinceAt;
      limiter.sent(due, now, at);
      sent.push({ at: now, due });
    },
  };
}

/** Most of the ascending times `at` (ns) in any window of `ms`. */
export function maxInWindow(at: number[], ms: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i] - at[j] >= ms * 1e6) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
