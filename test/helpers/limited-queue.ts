// A pacing queue as the worker keeps one (pacer-worker.ts WorkerChannel), reduced to due times
// and the burst limiter, and the most sends in any window: shared by the burst limiter's tests
// (test/scheduler/burst-limit.test.ts) and its simulation (bench/limiter-sim.ts).
import type { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import type { PacedQueue } from '../../src/scheduler/pacing-loop.js';

export interface Sent {
  /** When the loop sent it, and when it was due (ns). */
  at: number;
  due: number;
  /** TS packets in this send (a datagram in two parts: two sends). */
  packets: number;
}

/**
 * A queue of `dues` (ns, ascending), datagrams of `packets` TS packets, through `limiter`, as
 * the pacing worker keeps one: a datagram the window cannot hold whole leaves in two parts
 * (unless `parts` is false).
 * Each send is appended to `sent`.
 */
export function limitedQueue(
  dues: number[],
  limiter: BurstLimiter,
  sent: Sent[],
  packets = 1,
  parts = true,
): PacedQueue {
  let at = 0;
  let head = 0;
  let done = 0;
  return {
    headFloor: () => limiter.windowEnd,
    headDue() {
      if (head >= dues.length) return Infinity;
      at = limiter.earliest(dues[head], packets, done, parts);
      return at;
    },
    sendHead(sinceAt) {
      const due = dues[head];
      const now = at + sinceAt;
      const k = done > 0 ? packets - done : Math.max(1, limiter.fit(now));
      limiter.sent(due, now, at, k);
      sent.push({ at: now, due, packets: k });
      done += k;
      if (done >= packets) {
        done = 0;
        head++;
      }
    },
  };
}

/** Most TS packets sent in any window of `ms` (ns send times, ascending). */
export function maxPacketsInWindow(sent: Sent[], ms: number): number {
  let best = 0;
  let n = 0;
  for (let i = 0, j = 0; i < sent.length; i++) {
    n += sent[i].packets;
    while (sent[i].at - sent[j].at >= ms * 1e6) n -= sent[j++].packets;
    best = Math.max(best, n);
  }
  return best;
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
