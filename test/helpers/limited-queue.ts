// A pacing queue as the worker keeps one (worker-channel.ts), reduced to due times and the burst
// limiter; the most sends in any window; a loop that wakes late driving one: shared by the burst
// limiter's tests (test/scheduler/burst-limit.test.ts) and its simulation (bench/limiter-sim.ts).
import { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import { sendDue, type PacedQueue } from '../../src/scheduler/pacing-loop.js';

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

/** A seeded uniform random number in [0, 1) (the same sequence on every run). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** What a late loop did with one channel (lateLoop). */
export interface LateLoopRun {
  sent: Sent[];
  /** Sends while rule 3 was in force. */
  relaxed: number;
  /** The worst lateness (ms) in the first and in the last third of the sends. */
  worstFirst: number;
  worstLast: number;
  /** The mean lateness of the sends, ms (early ones count as 0). */
  meanLate: number;
  /** Most bytes in any 10 ms against the rate's 10 ms share. */
  burst: number;
}

/**
 * One CBR channel of 7-packet datagrams at `mbps` for `seconds`, through a loop that sends what
 * falls due within its 1 ms early window (the grid of a loop that does not spin), then sleeps to
 * the next time it may send and wakes `delayMs()` late. `parts`: as the pacer sends, a datagram
 * the window cannot hold whole in two parts; false: whole datagrams only.
 */
export function lateLoop(
  mbps: number,
  seconds: number,
  delayMs: () => number,
  parts: boolean,
): LateLoopRun {
  const MS = 1e6;
  const g = ((1316 * 8) / (mbps * 1e6)) * 1e9;
  const dues = Array.from({ length: Math.floor((seconds * 1e9) / g) }, (_, i) => i * g);
  const sent: Sent[] = [];
  const limiter = new BurstLimiter();
  const q = limitedQueue(dues, limiter, sent, 7, parts);
  const out = { sent: 0, sendAtNs: Infinity };
  let now = 0;
  let relaxed = 0;
  let packets = 0;
  while (packets < dues.length * 7) {
    const before = sent.length;
    sendDue([q], () => now, out, MS);
    for (let i = before; i < sent.length; i++) {
      packets += sent[i].packets;
      if (limiter.relaxing) relaxed++;
    }
    now = Math.max(now + 0.05 * MS, out.sendAtNs) + delayMs() * MS;
  }
  const late = sent.map((x) => (x.at - x.due) / MS);
  const third = Math.floor(late.length / 3);
  const max = (xs: number[]): number => xs.reduce((m, x) => Math.max(m, x), -Infinity);
  return {
    sent,
    relaxed,
    worstFirst: max(late.slice(0, third)),
    worstLast: max(late.slice(-third)),
    meanLate: late.reduce((a, x) => a + Math.max(0, x), 0) / late.length,
    burst: maxPacketsInWindow(sent, 10) / ((mbps * 1e6 * 0.01) / 8 / 188),
  };
}
