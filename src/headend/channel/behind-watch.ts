// When a channel runs behind: datagrams that left more than BEHIND_S after their due time (a
// stall of the daemon, the OS or the VM; after one the burst limit spreads the backlog out, so
// the channel stays behind for about five times the stall). Read once a second from the pacing
// worker's lateness histogram (cumulative counts, as Prometheus keeps them); said at most every
// LOG_EVERY_NS, with the count since it was last said. The metric is the histogram itself
// (headend_channel_pacing_lateness_seconds).

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
  private saidNs = -Infinity;

  /** The lateness so far at `nowNs`; a message when the channel fell behind and it is time to say so. */
  sample(nowNs: number, l: Lateness): { lateSends: number; message: string } | undefined {
    const i = l.buckets.indexOf(BEHIND_S);
    if (i < 0 || i >= l.counts.length) return undefined;
    const over = l.count - l.counts[i];
    const fresh = this.seen < 0 ? 0 : over - this.seen;
    this.seen = over;
    if (fresh > 0) this.pending += fresh;
    if (this.pending === 0 || nowNs - this.saidNs < LOG_EVERY_NS) return undefined;
    const n = this.pending;
    this.pending = 0;
    this.saidNs = nowNs;
    return {
      lateSends: n,
      message:
        `${n} datagram(s) left more than ${BEHIND_S * 1000} ms after their due time: the output ` +
        'ran behind (a stall); the backlog leaves at most burst × the channel rate until it ' +
        'is back on time',
    };
  }
}
