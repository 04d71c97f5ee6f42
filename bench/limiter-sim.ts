// The burst limiter (src/scheduler/burst-limit.ts) driven by the pacing loop's sendDue with a
// fake clock and a loop that wakes late, as a sleeping thread on a busy VM does: no threads,
// sockets or real time, so the figures are exact and the same on every run.
//
//   node dist/bench/limiter-sim.js [--seconds 10] [--mbps 5.5] [--seeds 4]
//
// One CBR channel of 7-packet datagrams at --mbps. The loop sends what falls due within its
// early window (1 ms, the grid of a loop that does not spin: pacing-loop.ts; never before the
// end of a burst window that holds a datagram), then sleeps to the next time it may send, and
// wakes `d` late, d drawn per wake-up from each case's distribution. Per case: the worst
// lateness (send − due) in the first and the last third of the run (growing = lateness
// compounds), and the most datagrams in any 10 ms (6 is 1.2 × 5.5 Mbit/s). The window rule
// counts from the actual sends; a loop whose wake-ups are late by more than its slack (N·g −
// 10 ms − guard, 1.47 ms at 5.5 Mbit/s) makes each hold make the next one later, until the
// limiter's rule 3 (no runaway) gives it one datagram more per window: the last third must not
// be later than the first. Writes bench/results/limiter-sim-latest.json.
import { BurstLimiter } from '../src/scheduler/burst-limit.js';
import { sendDue } from '../src/scheduler/pacing-loop.js';
import { limitedQueue, maxInWindow, type Sent } from '../test/helpers/limited-queue.js';
import { arg, fmt, writeResult } from './cli.js';

const MS = 1e6;
const SECONDS = arg('seconds', 10);
const MBPS = arg('mbps', 5.5);
const SEEDS = arg('seeds', 4);
const EARLY_NS = 1 * MS;

type Delay = (rnd: () => number) => number;

/** Wake-up delay distributions (ms). */
const CASES: { name: string; delay: Delay }[] = [
  { name: 'fixed 0.5 ms', delay: () => 0.5 },
  { name: 'fixed 2.0 ms', delay: () => 2 },
  { name: 'fixed 2.5 ms', delay: () => 2.5 },
  { name: 'fixed 3.0 ms', delay: () => 3 },
  { name: 'uniform 0-2 ms', delay: (r) => r() * 2 },
  { name: 'uniform 0-4 ms', delay: (r) => r() * 4 },
  { name: 'quiet: 0.2 ms, 10 % +0-3 ms', delay: (r) => 0.2 + (r() < 0.1 ? r() * 3 : 0) },
  { name: 'noisy: 0-2 ms, 10 % +0-6 ms', delay: (r) => r() * 2 + (r() < 0.1 ? r() * 6 : 0) },
];

interface Run {
  lateMaxFirstMs: number;
  lateMaxLastMs: number;
  maxIn10ms: number;
}

function simulate(delay: Delay, seed: number): Run {
  let state = seed >>> 0;
  const rnd = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const gapNs = ((1316 * 8) / (MBPS * 1e6)) * 1e9;
  const dues: number[] = [];
  for (let i = 0; i < (SECONDS * 1e9) / gapNs; i++) dues.push(i * gapNs);
  const sent: Sent[] = [];
  const q = limitedQueue(dues, new BurstLimiter(), sent);
  const out = { sent: 0, sendAtNs: Infinity };
  let now = 0;
  while (sent.length < dues.length) {
    sendDue([q], () => now, out, EARLY_NS);
    now = Math.max(now + 0.05 * MS, out.sendAtNs) + delay(rnd) * MS;
  }
  const late = sent.map((s) => (s.at - s.due) / MS);
  const third = Math.floor(late.length / 3);
  const max = (xs: number[]): number => xs.reduce((m, x) => Math.max(m, x), -Infinity);
  return {
    lateMaxFirstMs: max(late.slice(0, third)),
    lateMaxLastMs: max(late.slice(-third)),
    maxIn10ms: maxInWindow(
      sent.map((s) => s.at),
      10,
    ),
  };
}

function main(): void {
  const rows = CASES.map((c) => {
    const runs = Array.from({ length: SEEDS }, (_, k) => simulate(c.delay, k + 1));
    return {
      case: c.name,
      lateMaxFirstMs: Math.max(...runs.map((r) => r.lateMaxFirstMs)),
      lateMaxLastMs: Math.max(...runs.map((r) => r.lateMaxLastMs)),
      maxIn10ms: Math.max(...runs.map((r) => r.maxIn10ms)),
    };
  });
  const allowed = Math.floor((1.2 * 10 * MBPS * 1e6) / 1e3 / (1316 * 8));
  console.log(
    `burst limiter, ${MBPS} Mbit/s, ${SECONDS} s, ${SEEDS} seeds, early window 1 ms ` +
      `(1.2× allows ${allowed} datagrams per 10 ms)`,
  );
  console.log(
    'case                              worst late: first third  last third  most in 10 ms',
  );
  for (const r of rows)
    console.log(
      `${r.case.padEnd(34)} ${fmt(r.lateMaxFirstMs).padStart(21)} ms ${fmt(r.lateMaxLastMs).padStart(8)} ms ` +
        `${String(r.maxIn10ms).padStart(14)}`,
    );
  console.log(
    'wrote',
    writeResult('limiter-sim', { mbps: MBPS, seconds: SECONDS, seeds: SEEDS, rows }),
  );
}

main();
