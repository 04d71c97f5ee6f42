// When a channel runs behind: datagrams that left more than BEHIND_S after their due time (a
// stall of the daemon, the OS or the VM; after one the burst limit spreads the backlog out, so
// the channel stays behind for about five times the stall). Read once a second from the pacing
// worker's lateness histogram (cumulative counts, as Prometheus keeps them); said at most every
// LOG_EVERY_NS, with the count since it was last said. The metric is the histogram itself
// (headend_channel_pacing_lateness_seconds). Said with it: datagrams the burst limit let out
// with more schedule per window because the channel stayed behind without catching up
// (burst-limit.ts rule 3, headend_channel_datagrams_relaxed_total): the pacing thread itself
// could not keep up.

import { RELAX_MAX_NS, RELAX_NS } from '../../scheduler/burst-limit.js';

/** Later than this is behind (a bucket bound of the pacer's lateness histogram). */
export const BEHIND_S = 0.025;
const LOG_EVERY_NS = 10e9;

export interface Lateness {
  buckets: readonly number[];
  /** Cumulative: counts[i] = sends at most buckets[i] late. */
  counts: readonly number[];
  count: number;
}

export class BehindWatch {
  private seen = -1;
  private pending = 0;
  private seenRelaxed = -1;
  private pendingRelaxed = 0;
  private saidNs = -Infinity;

  /**
   * The lateness and relaxed sends so far (cumulative) at `nowNs`; a message when the channel
   * fell behind and it is time to say so.
   */
  sample(
    nowNs: number,
    l: Lateness,
    relaxed = 0,
  ): { lateSends: number; relaxedSends: number; message: string } | undefined {
    const i = l.buckets.indexOf(BEHIND_S);
    if (i < 0 || i >= l.counts.length) return undefined;
    const over = l.count - l.counts[i];
    if (this.seen >= 0 && over > this.seen) this.pending += over - this.seen;
    this.seen = over;
    if (this.seenRelaxed >= 0 && relaxed > this.seenRelaxed)
      this.pendingRelaxed += relaxed - this.seenRelaxed;
    this.seenRelaxed = relaxed;
    if (this.pending + this.pendingRelaxed === 0 || nowNs - this.saidNs < LOG_EVERY_NS)
      return undefined;
    const n = this.pending;
    const r = this.pendingRelaxed;
    this.pending = 0;
    this.pendingRelaxed = 0;
    this.saidNs = nowNs;
    const parts: string[] = [];
    if (n > 0)
      parts.push(
        `${n} datagram(s) left more than ${BEHIND_S * 1000} ms after their due time: the ` +
          'output ran behind (a stall); the backlog leaves at most burst × the channel rate ' +
          'until it is back on time',
      );
    if (r > 0)
      parts.push(
        `${r} datagram(s) left above the burst limit (up to ${RELAX_MAX_NS / 1e6} ms more of ` +
          `the channel's schedule per 10 ms): the channel stayed more than ${RELAX_NS / 1e6} ms ` +
          'behind without catching up (the pacing thread woke too late to keep up)',
      );
    return { lateSends: n, relaxedSends: r, message: parts.join('; ') };
  }
}
