// The ramp of bench/scale.ts: the real daemon at ever more channels of 4 Mbit/s CBR until a step
// is not held, then DVBlast relaying the highest count held, to compare with at that load. Each
// step is a phase of its own (bench/scale-phase.ts: the floor, a fresh play of the input) with a
// tcpdump capture of its own, analyzed as soon as the step ends (whether it held decides the
// next one). At a few hundred channels a capture of every output would be gigabytes: a step
// captures SAMPLE outputs spread over its channels (the first and the last among them), and its
// wire figures are theirs.
//
// Held means the daemon keeps up: on the sampled outputs no loss and no CC error, and its worst
// send lateness (headend_pacer_late_max_seconds) at most HELD_LATE_MS, a quarter of what its
// queue holds (latency 400 ms). Past that it no longer keeps up, whatever the burst limit
// spreads. (The pacing targets are judged per step all the same: a step held with a PCR
// jitter above target is printed as it is.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCapture } from './pcap.js';
import { figures, worstOf } from './wire-figures.js';
import { outputsOf, runPhase, type Phase, type PhaseRun } from './scale-phase.js';

/** Outputs captured per step. */
const SAMPLE = 16;
/** The most a held step's worst send may be late, ms. */
export const HELD_LATE_MS = 100;
/** Output phase numbers of the ramp's steps (outputsOf), and of DVBlast at the held count. */
const RAMP_PHASE0 = 60;
const DVBLAST_HELD_PHASE = 59;

export interface RampStep extends PhaseRun {
  channels: number;
  /** How many outputs the wire figures cover. */
  sampled: number;
  held: boolean;
  /** Why not held ('' when held). */
  why: string;
}

export interface RampRun {
  steps: RampStep[];
  /** The most channels held (null: not even the first step). */
  highestHeld: number | null;
  /** DVBlast relaying that many channels, the same way. */
  dvblastAtHeld: RampStep | null;
}

/** `n` indices spread over 0..total − 1, the first and the last among them. */
function spread(total: number, n: number): number[] {
  if (total <= n) return Array.from({ length: total }, (_, i) => i);
  return [...new Set(Array.from({ length: n }, (_, k) => Math.round((k * (total - 1)) / (n - 1))))];
}

/** One step: a phase with its own capture of a sample of its outputs. */
async function step(
  file: string,
  ph: Phase,
  floorSeconds: number,
  keep: boolean,
): Promise<RampStep> {
  const dir = mkdtempSync(join(tmpdir(), 'headend-ramp-'));
  const sample = spread(ph.outs.length, SAMPLE).map((i) => ph.outs[i]);
  const capture = await startCapture(join(dir, 'out.pcap'), sample);
  let done: Awaited<ReturnType<typeof runPhase>>;
  let cap: Awaited<ReturnType<typeof capture.stop>>;
  try {
    done = await runPhase(dir, file, ph, floorSeconds);
  } finally {
    cap = await capture.stop();
    if (keep) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  const { run, fromMs, toMs } = done;
  const fromNs = (fromMs - cap.epochSec * 1000) * 1e6;
  const toNs = (toMs - cap.epochSec * 1000) * 1e6;
  const rows = sample.map((o, k) =>
    figures(run.label, 'x', k + 1, cap.flows.get(o) ?? [], fromNs, toNs),
  );
  const worst = worstOf(rows);
  const why = [
    cap.dropped > 0 ? `the capture dropped ${cap.dropped} packets` : '',
    worst.lostPackets > 0 ? `${worst.lostPackets} packets lost` : '',
    worst.ccErrors > 0 ? `${worst.ccErrors} CC errors` : '',
    run.lateMaxMs > HELD_LATE_MS ? `sends up to ${run.lateMaxMs.toFixed(1)} ms late` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return {
    ...run,
    worst,
    channels: ph.channels,
    sampled: sample.length,
    held: ph.kind === 'dvblast' || why === '',
    why,
  };
}

/** Ramps over `counts` (ascending) until a step is not held; then DVBlast at the highest held. */
export async function ramp(
  file: string,
  counts: number[],
  floorSeconds: number,
  keep: boolean,
  log: (line: string) => void,
): Promise<RampRun> {
  const steps: RampStep[] = [];
  let highestHeld: number | null = null;
  for (const [k, n] of counts.entries()) {
    const s = await step(
      file,
      { label: `ramp ${n}`, kind: 'ours', channels: n, outs: outputsOf(RAMP_PHASE0 + k, n) },
      floorSeconds,
      keep,
    );
    steps.push(s);
    log(`ramp ${n}: ${s.held ? 'held' : `not held (${s.why})`}, CPU ${s.cpuPercent.toFixed(0)} %`);
    if (!s.held) break;
    highestHeld = n;
  }
  let dvblastAtHeld: RampStep | null = null;
  if (highestHeld !== null) {
    dvblastAtHeld = await step(
      file,
      {
        label: `dvblast ${highestHeld}`,
        kind: 'dvblast',
        channels: highestHeld,
        outs: outputsOf(DVBLAST_HELD_PHASE, highestHeld),
      },
      floorSeconds,
      keep,
    );
    log(`dvblast ${highestHeld}: CPU ${dvblastAtHeld.cpuPercent.toFixed(0)} %`);
  }
  return { steps, highestHeld, dvblastAtHeld };
}
