// The machine's scheduling floor, measured in the same run as the pacing figures it bounds: a
// thread that does nothing but wait (bench/floor-worker.ts) is still held off the CPU, or woken
// late, by the OS and by the hypervisor. No user-space pacer on this machine can send more
// punctually than such a thread runs, so the benches print it next to the targets:
//   spin     a normally scheduled thread that never sleeps: its longest gaps off the CPU
//            (the floor of our default pacing, which spins the last stretch to each send);
//   sleep    a normally scheduled thread (timer slack 1 µs, as the pacer's) sleeping to a
//            deadline every periodNs: how late it wakes (the floor of pacing modes balanced
//            and sleep);
//   rt-sleep a SCHED_FIFO thread sleeping to a deadline every periodNs, with the CPU latency
//            request held: how late it wakes (the floor of real-time pacing).
import { Worker } from 'node:worker_threads';
import { holdCpuLatency } from '../src/headend/cpu-latency.js';

export interface Floor {
  mode: 'spin' | 'sleep' | 'rt-sleep';
  seconds: number;
  samples: number;
  /** Delay (off-CPU gap or wake-up lateness) percentiles and max, µs. */
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** How many delays exceeded 0.5 ms and 1 ms. */
  over500us: number;
  over1ms: number;
  /** Why the real-time part did not apply (the figures are then a normal thread's). */
  note?: string;
}

export async function measureFloor(
  mode: Floor['mode'],
  seconds: number,
  periodNs = 131_600,
): Promise<Floor> {
  const latency = mode === 'rt-sleep' ? holdCpuLatency(0) : null;
  try {
    const w = new Worker(new URL('./floor-worker.js', import.meta.url), {
      workerData: { mode, seconds, periodNs, priority: 20 },
    });
    const r = await new Promise<{ samples: number; kept: number[]; error?: string }>(
      (resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      },
    );
    await w.terminate();
    const kept = r.kept.sort((a, b) => a - b);
    // Percentiles over all samples: those not kept were ≤ 20 µs.
    const pct = (p: number): number => {
      const rank = Math.floor(p * r.samples);
      const i = rank - (r.samples - kept.length);
      return i < 0 ? 20 : kept[Math.min(kept.length - 1, i)];
    };
    const notes = [
      r.error && (mode === 'rt-sleep' ? `not real-time: ${r.error}` : r.error),
      latency && !latency.ok && `no CPU latency request: ${latency.message}`,
    ].filter(Boolean);
    return {
      mode,
      seconds,
      samples: r.samples,
      p99Us: pct(0.99),
      p999Us: pct(0.999),
      maxUs: kept.length ? kept[kept.length - 1] : 20,
      over500us: kept.filter((v) => v > 500).length,
      over1ms: kept.filter((v) => v > 1000).length,
      ...(notes.length ? { note: notes.join('; ') } : {}),
    };
  } finally {
    if (latency?.ok) latency.hold.release();
  }
}

/** One line for the benches' tables. */
export function describeFloor(f: Floor): string {
  const what =
    f.mode === 'spin'
      ? 'normal thread spinning, off the CPU'
      : f.mode === 'sleep'
        ? 'normal thread sleeping to deadlines (timer slack 1 µs), woke late'
        : 'SCHED_FIFO thread sleeping to deadlines (cpu_dma_latency 0), woke late';
  return `${what}: p99 ${f.p99Us.toFixed(0)} µs, p99.9 ${f.p999Us.toFixed(0)} µs, max ${(f.maxUs / 1000).toFixed(2)} ms, >0.5 ms ${f.over500us}×, >1 ms ${f.over1ms}× in ${f.seconds} s${f.note ? ` (${f.note})` : ''}`;
}
