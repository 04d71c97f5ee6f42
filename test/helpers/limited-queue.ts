// A pacing queue as the worker keeps one (worker-channel.ts), reduced to due times and the burst
// limiter; the most sends in any window; a loop that wakes late driving one: shared by the burst
// limiter's tests (test/scheduler/burst-limit.test.ts) and its simulation (bench/limiter-sim.ts).
import { BurstLimiter } from '../../src/scheduler/burst-limit.js';
import {
  QT_DUE,
  QT_FLOOR,
  QT_NOW,
  sendDue,
  type PacedQueue,
} from '../../src/scheduler/pacing-loop.js';

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
    head(t) {
      if (head >= dues.length) t[QT_DUE] = Infinity;
      else {
        at = limiter.earliest(dues[head], packets, done, parts);
        t[QT_DUE] = at;
      }
      t[QT_FLOOR] = limiter.windowEnd;
    },
    sendHead(t) {
      const due = dues[head];
      const now = t[QT_NOW];
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
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
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

/** What a crowded loop did (crowdedLoop). */
export interface CrowdedRun {
  /** Every datagram sent. */
  complete: boolean;
  /** The worst lateness (ms) of the sends in the last second. */
  worstLastMs: number;
  /** Sends while rule 3 was in force, over all channels. */
  relaxed: number;
  /** Most bytes of one channel in any 10 ms against its rate's 10 ms share (the worst channel). */
  burst: number;
}

/**
 * `channels` CBR channels of 7-packet datagrams at `mbps` (staggered), all `behindMs` behind at
 * the start (a stall), through one loop with a 1 ms early window (the grid) whose clock moves
 * `sendUs` per send and `flushUs` per flush. A send is in the kernel (BurstLimiter.handed) only
 * when flushed: with `passEnd` false as the pacing worker does it (sendDue's PassFlush, every
 * PASS_FLUSH_SENDS sends and at the end of the pass), with `passEnd` once at the end of each
 * pass. Between passes the loop sleeps to the next time it may send and wakes `wakeMs` late.
 */
export function crowdedLoop(o: {
  channels: number;
  mbps: number;
  seconds: number;
  behindMs: number;
  sendUs: number;
  flushUs: number;
  wakeMs: number;
  passEnd: boolean;
}): CrowdedRun {
  const MS = 1e6;
  const g = ((1316 * 8) / (o.mbps * 1e6)) * 1e9;
  const n = Math.floor((o.seconds * 1e9) / g);
  let now = o.behindMs * MS;
  let relaxed = 0;
  const limiters: BurstLimiter[] = [];
  const logs: Sent[][] = [];
  const sentIn: number[] = [];
  const qs: PacedQueue[] = [];
  for (let c = 0; c < o.channels; c++) {
    const offset = (c / o.channels) * g;
    const limiter = new BurstLimiter();
    const sent: Sent[] = [];
    const q = limitedQueue(
      Array.from({ length: n }, (_, i) => offset + i * g),
      limiter,
      sent,
      7,
    );
    limiters.push(limiter);
    logs.push(sent);
    qs.push({
      head: (t) => q.head(t),
      sendHead(t) {
        if (limiter.relaxing) relaxed++;
        q.sendHead(t);
        sentIn.push(c);
        now += o.sendUs * 1e3;
      },
    });
  }
  const flush = (): void => {
    now += o.flushUs * 1e3;
    for (const c of sentIn) limiters[c].handed(now);
    sentIn.length = 0;
  };
  const out = { sent: 0, sendAtNs: Infinity, deadlineNs: Infinity };
  const end = (o.seconds + 1) * 1e9;
  while (now < end) {
    sendDue(qs, () => now, out, MS, o.passEnd ? undefined : flush);
    const next = out.deadlineNs;
    if (o.passEnd && sentIn.length > 0) flush();
    if (next === Infinity) break;
    now = Math.max(now + 0.05 * MS, out.sendAtNs) + o.wakeMs * MS;
  }
  const packets = (mbps: number): number => (mbps * 1e6 * 0.01) / 8 / 188;
  const lastFrom = (o.seconds - 1) * 1e9;
  let worst = -Infinity;
  let burst = 0;
  let complete = true;
  for (const sent of logs) {
    if (sent.reduce((a, s) => a + s.packets, 0) < n * 7) complete = false;
    for (const s of sent) if (s.at >= lastFrom) worst = Math.max(worst, (s.at - s.due) / MS);
    burst = Math.max(burst, maxPacketsInWindow(sent, 10) / packets(o.mbps));
  }
  return { complete, worstLastMs: worst, relaxed, burst };
}
