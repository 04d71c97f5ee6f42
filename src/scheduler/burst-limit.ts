// Bursts bounded by construction: after any stall (ours, the OS's, the VM's) a channel's overdue
// datagrams do not all leave at once. Each is given a time it may leave: its due time, or, while
// the channel is behind, the previous datagram's time plus their due-time gap divided by
// `factor` (default 1.2). The backlog then drains at factor × the channel's own rate (its
// schedule: CBR the mux rate, VBR its rate of the moment), so over any window the channel sends
// at most factor × what its schedule puts in that window, plus what the loop sends early
// (EARLY_NS, or 1 ms when it never spins) and REANCHOR_NS. A shallow switch port never sees more.
//
// The times form their own schedule, so a send a little late (the OS wakes the loop late) does
// not slow the catch-up; a send later than REANCHOR_NS behind its time (another stall during
// the catch-up) re-anchors the schedule at that send, so the datagrams behind it do not leave
// in a burst either.
//
// What it costs, by construction: the worst lateness is the stall's length (never more: a
// datagram on time is not held), and the catch-up after a stall of S lasts S / (factor − 1)
// (5 S at 1.2). A gap that is zero or negative (a new timeline after a discontinuity, a reload)
// limits nothing. The limiter holds no clock: the loop asks it and tells it.

/** Default factor: 1.2 × the channel's own rate at most (TR 101 290's 10 ms window judged). */
export const DEFAULT_BURST_FACTOR = 1.2;
/** A send this far behind its limited time restarts the limited schedule from it. */
export const REANCHOR_NS = 500_000;

export class BurstLimiter {
  private lastDueNs = NaN;
  /** The previous datagram's limited time. */
  private lastAtNs = -Infinity;

  constructor(private readonly factor = DEFAULT_BURST_FACTOR) {
    if (!(factor > 1)) throw new RangeError(`burst factor must be > 1, got ${factor}`);
  }

  /** The earliest time a datagram due at `dueNs` may leave (≥ dueNs). */
  earliest(dueNs: number): number {
    const gap = dueNs - this.lastDueNs;
    if (!(gap > 0)) return dueNs;
    const t = this.lastAtNs + gap / this.factor;
    return t > dueNs ? t : dueNs;
  }

  /** The datagram due at `dueNs` left at `nowNs`. */
  sent(dueNs: number, nowNs: number): void {
    const at = this.earliest(dueNs);
    this.lastAtNs = nowNs - at > REANCHOR_NS ? nowNs : at;
    this.lastDueNs = dueNs;
  }
}
