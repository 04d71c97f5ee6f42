// The glue from a remuxer to the pacer for one channel: RemuxSink → DatagramTimeline → ClockMap →
// ChannelHandle.enqueue. Used by the benchmark and tests; the daemon's Channel does the same.

import { ClockMap } from './clock-map.js';
import { DatagramTimeline } from './timeline.js';

export interface PacedSinkOptions {
  packetsPerDatagram: number;
  latencyMs?: number;
  /** Monotonic ns; default Number(process.hrtime.bigint()). */
  nowNs?: () => number;
}

export interface DatagramQueue {
  enqueue(bytes: Uint8Array, dueNs: number, pcr27?: number): boolean;
}

export class PacedSink {
  readonly timeline: DatagramTimeline;
  readonly clock: ClockMap;
  private readonly now: () => number;
  private readonly emit: (bytes: Uint8Array, pcr27: number) => void;
  private t = 0;
  /** Datagrams handed to the queue, and those it refused (full). */
  queued = 0;
  refused = 0;

  constructor(
    private readonly queue: DatagramQueue,
    opts: PacedSinkOptions,
  ) {
    this.timeline = new DatagramTimeline({ packetsPerDatagram: opts.packetsPerDatagram });
    this.clock = new ClockMap({ latencyMs: opts.latencyMs });
    this.now = opts.nowNs ?? (() => Number(process.hrtime.bigint()));
    this.emit = (bytes, pcr27) => {
      if (this.queue.enqueue(bytes, this.clock.dueNs(pcr27, this.t), pcr27)) this.queued++;
      else this.refused++;
    };
  }

  /** A RemuxSink: whole output packets of the channel. */
  readonly push = (packets: Uint8Array): void => {
    this.timeline.push(packets);
    this.t = this.now();
    this.timeline.drain(this.emit);
  };
}
