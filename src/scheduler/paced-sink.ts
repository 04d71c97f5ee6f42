// The glue from a remuxer to the pacer for one channel: RemuxSink → DatagramCutter (each datagram
// with its output time) → ClockMap (output time to due time) → DatagramQueue.enqueue. Used by
// the benchmarks; the daemon's Channel does the same with its monitor and taps in between.

import { ClockMap } from './clock-map.js';
import { DatagramCutter } from './datagram-cutter.js';
import { monotonicNs } from './mono-clock.js';
import type { DatagramQueue } from './output-contract.js';

export interface PacedSinkOptions {
  packetsPerDatagram: number;
  latencyMs?: number;
  /** Monotonic ns; default mono-clock.ts. */
  nowNs?: () => number;
}

export class PacedSink {
  readonly cutter: DatagramCutter;
  readonly clock: ClockMap;
  /** Datagrams handed to the queue, and those it refused (full). */
  queued = 0;
  refused = 0;

  constructor(queue: DatagramQueue, opts: PacedSinkOptions) {
    const now = opts.nowNs ?? monotonicNs;
    this.clock = new ClockMap({ latencyMs: opts.latencyMs });
    this.cutter = new DatagramCutter(opts, (bytes, t27) => {
      if (queue.enqueue(bytes, this.clock.dueNs(t27, now()), t27)) this.queued++;
      else this.refused++;
    });
  }

  /** A RemuxSink: whole output packets of the channel and their output times. */
  readonly push = (packets: Uint8Array, times: Float64Array): void =>
    this.cutter.push(packets, times);
}
