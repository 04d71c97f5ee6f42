// The burst limiter (src/scheduler/burst-limit.ts) driven by the pacing loop's sendDue with a
// fake clock and a loop that wakes late, as a sleeping thread on a busy VM does: no threads,
// sockets or real time, so the figures are exact and the same on every run.
//
//   node dist/bench/limiter-sim.js [--seconds 10] [--mbps 4,5.5] [--seeds 4]
//
// One CBR channel of 7-packet datagrams at each --mbps. The loop sends what falls due within its
// early window (1 ms, the grid of a loop that does not spin: pacing-loop.ts; never before the
// end of a burst window that holds a datagram), then sleeps to the next time it may send, and
// wakes `d` late, d drawn per wake-up from each case's distribution. Each case twice: datagrams
// whole (the limiter before rule 2 sent a datagram in two parts), and in two parts where the
// window cannot hold one whole (the pacer's way). Per case: the worst lateness (send − due) in
// the first and the last third of the run (growing = lateness compounds), the mean lateness,
// the burst (most bytes in any 10 ms against the rate's 10 ms share; the target is 1.2), and
// the sends rule 3 relaxed. Writes bench/results/limiter-sim-latest.json.
import { lateLoop, seeded } from '../test/helpers/limited-queue.js';
import { arg, fmt, listArg, writeResult } from './cli.js';

const SECONDS = arg('seconds', 10);
const RATES = listArg('mbps', [4, 5.5]);
const SEEDS = arg('seeds', 4);

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

function main(): void {
  const rows = RATES.flatMap((mbps) =>
    CASES.flatMap((c) =>
      [false, true].map((parts) => {
        const runs = Array.from({ length: SEEDS }, (_, k) => {
          const rnd = seeded(k + 1);
          return lateLoop(mbps, SECONDS, () => c.delay(rnd), parts);
        });
        return {
          mbps,
          case: c.name,
          datagrams: parts ? 'in two parts' : 'whole',
          lateMaxFirstMs: Math.max(...runs.map((r) => r.worstFirst)),
          lateMaxLastMs: Math.max(...runs.map((r) => r.worstLast)),
          lateMeanMs: Math.max(...runs.map((r) => r.meanLate)),
          burst: Math.max(...runs.map((r) => r.burst)),
          relaxed: runs.reduce((n, r) => n + r.relaxed, 0),
        };
      }),
    ),
  );
  console.log(`burst limiter, ${SECONDS} s, ${SEEDS} seeds, early window 1 ms, worst of the seeds`);
  console.log(
    'Mbit/s case                         datagrams     worst late: first  last (ms)  mean late  burst  relaxed',
  );
  for (const r of rows)
    console.log(
      `${String(r.mbps).padEnd(6)} ${r.case.padEnd(28)} ${r.datagrams.padEnd(13)} ` +
        `${fmt(r.lateMaxFirstMs).padStart(12)} ${fmt(r.lateMaxLastMs).padStart(6)} ` +
        `${fmt(r.lateMeanMs).padStart(15)} ${r.burst.toFixed(2).padStart(6)} ${String(r.relaxed).padStart(8)}`,
    );
  console.log('wrote', writeResult('limiter-sim', { seconds: SECONDS, seeds: SEEDS, rows }));
}

main();
