// Per-headend metrics beyond prom-client's defaults (process CPU/memory, event-loop lag):
// the pacing threads (one per channel worker, labelled `worker`) and the ffmpeg children.

import type { Metric } from 'prom-client';
import type { PacerStats } from '../../scheduler/protocol.js';
import type { ChildCpu } from './proc-cpu.js';
import { scrapeMetric, type Labels } from './scrape-metric.js';

export interface HeadendMetricsContext {
  /** Each pacing thread's latest report; `worker` names a channel worker's (a label then). */
  pacing: () => readonly { worker?: number; stats: PacerStats }[];
  ffmpegChildren: () => readonly number[];
  cpu: ChildCpu;
}

function pacerGauge(
  ctx: HeadendMetricsContext,
  name: string,
  help: string,
  value: (s: PacerStats) => number,
  type: 'gauge' | 'counter' = 'gauge',
): Metric {
  return scrapeMetric({
    name,
    help,
    type,
    collect: () =>
      ctx
        .pacing()
        .filter((t) => t.stats.periodNs > 0)
        .map((t) => ({
          labels: t.worker === undefined ? {} : ({ worker: String(t.worker) } as Labels),
          value: value(t.stats),
        })),
  });
}

export function headendMetrics(ctx: HeadendMetricsContext): Metric[] {
  return [
    // Utilization = spinNs / periodNs over the last report (~1 s): the fraction of the pacing
    // thread's time spent busy-waiting for due times, the CPU it burns beyond the sends
    // themselves. The worker measures no other busy time (sends are cheap next to the spin;
    // Atomics.wait sleeps and event-loop yields are idle), so this is a lower bound of the
    // thread's CPU share; near 1 the thread no longer sleeps at all.
    pacerGauge(
      ctx,
      'headend_pacer_utilization_ratio',
      'Fraction of the pacing thread time spent busy-waiting for due times over the last period (0-1).',
      (s) => Math.min(1, s.spinNs / s.periodNs),
    ),
    pacerGauge(
      ctx,
      'headend_pacer_late_max_seconds',
      'Worst lateness of a datagram send over the last pacing period, seconds.',
      (s) => Math.max(0, s.lateMaxNs) / 1e9,
    ),
    pacerGauge(
      ctx,
      'headend_pacer_late_own_max_seconds',
      "The daemon's own share of the worst send lateness over the last pacing period: beyond how late the OS woke the pacing thread for the send and the time it held the thread off its CPU within the pass, from when the burst limit let it leave, seconds.",
      (s) => Math.max(0, s.ownLateMaxNs) / 1e9,
    ),
    pacerGauge(
      ctx,
      'headend_pacer_preempted_max_seconds',
      "The most time the OS held the pacing thread off its CPU in the middle of a pass over the last period (preempted, or the VM's vCPU held), as left out of the daemon's own share of a send's lateness, seconds.",
      (s) => s.preemptedMaxNs / 1e9,
    ),
    pacerGauge(
      ctx,
      'headend_pacer_oversleep_max_seconds',
      'Worst oversleep of a timed wait of the pacing thread over the last period, seconds.',
      (s) => Math.max(0, s.oversleepMaxNs) / 1e9,
    ),
    pacerGauge(
      ctx,
      'headend_pacer_gc_pauses_total',
      "Garbage collections of the pacing thread's heap since it started (no send leaves during one).",
      (s) => s.gcPausesTotal,
      'counter',
    ),
    pacerGauge(
      ctx,
      'headend_pacer_gc_pause_max_seconds',
      "Longest garbage collection of the pacing thread's heap over the last period, seconds.",
      (s) => s.gcMaxNs / 1e9,
    ),
    pacerGauge(
      ctx,
      'headend_pacer_realtime',
      'Whether the pacing thread runs SCHED_FIFO (headend.pacing.realtime_priority took effect): 1 or 0.',
      (s) => (s.realtime ? 1 : 0),
    ),
    pacerGauge(
      ctx,
      'headend_pacer_grid',
      'Whether the pacing thread paces on the 1 ms grid without spinning (mode sleep, or balanced past its spin budget at more than 1,000 datagrams a second): 1 or 0.',
      (s) => (s.grid ? 1 : 0),
    ),
    pacerGauge(
      ctx,
      'headend_pacer_unlicensed',
      'Datagrams the pacing thread did not send over the last period because its send licence had run out (cluster mode: this node could not confirm its etcd lease).',
      (s) => s.unlicensed,
    ),
    pacerGauge(
      ctx,
      'headend_pacer_channels',
      'Outputs the pacing thread serves.',
      (s) => s.channels,
    ),
    scrapeMetric({
      name: 'headend_ffmpeg_children',
      help: 'Running ffmpeg child processes.',
      type: 'gauge',
      collect: () => [{ labels: {}, value: ctx.ffmpegChildren().length }],
    }),
    scrapeMetric({
      name: 'headend_ffmpeg_cpu_seconds_total',
      help: 'User and system CPU time of every ffmpeg child, running or exited, seconds.',
      type: 'counter',
      collect: () => [{ labels: {}, value: ctx.cpu.seconds(ctx.ffmpegChildren()) }],
    }),
  ];
}
