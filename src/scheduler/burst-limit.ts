// Bursts bounded by construction: after any stall (ours, the OS's, the VM's) a channel's overdue
// datagrams do not all leave at once. Two rules give each datagram a time it may leave (never
// before its due time), and a third keeps the delay they add bounded:
//
// 1. Spacing: while the channel is behind, the previous datagram's time plus their due-time gap
//    divided by `factor` (default 1.2). The backlog drains at factor × the channel's own rate
//    (its schedule: CBR the mux rate, VBR its rate of the moment), evenly. These times form
//    their own schedule, so a send a little late (the OS wakes the loop late) does not slow the
//    catch-up; a send more than REANCHOR_NS behind its time (another stall) pulls the schedule
//    up to REANCHOR_NS before that send. REANCHOR_NS is above this VM's usual wake-up delay of a
//    sleeping loop (1-2 ms): at 0.5 ms every late wake-up lost catch-up progress.
// 2. Window (the hard bound, TR 101 290's 10 ms): the datagram due at d waits until WINDOW_NS
//    after the send of the last datagram due before d − S + c, S = factor × WINDOW_NS of
//    schedule and c = min(g, S − WINDOW_NS − WINDOW_GUARD_NS), g its due gap. So a window holds
//    the datagrams of less than S − c of schedule: at a constant gap ⌊factor·W/g⌋ of them, never
//    fewer than on-time sending puts there (⌈W/g⌉; a 7 ms gap: 2) — at 5.5 Mbit/s (g = 1.91
//    ms) 6, 1.15× the rate's share, where the span S alone let one more through (7, 1.34×; 8
//    on the wire, 1.53×). c is capped so the datagram looked back to is always due more than
//    W + guard earlier: one sent on time never holds the next on time, whatever the gaps of a
//    VBR schedule do. Sends are remembered in a ring (RING entries: a 12 ms span up to ~900
//    Mbit/s a channel). This bound is hard (windowEnd): the loop's early window never sends a
//    datagram before it (pacing-loop.ts PacedQueue.headFloor). And a send counts from when the
//    datagram was in the kernel (handed(), read after the send call returns), not from the
//    loop's clock read before the call: a thread held off the CPU between the two, or a
//    sendmmsg of a whole pass, put it on the wire later than its recorded time, and the next
//    window's datagram inside the window (bench/scale, 4 Mbit/s: 5 in 10 ms on the wire, 1.32×
//    the rate, where the loop's own times never had more than 4; 1.05× with both). The wait
//    ends WINDOW_GUARD_NS past the window, the clock's granularity and the float's rounding.
//
// On time, neither rule holds anything back (the previous send was a whole due gap earlier; the
// window's datagram left N gaps, ≥ 10 ms, of schedule ago). The worst lateness is the stall's
// length, and the catch-up after a stall of S lasts about S / (f − 1), f the effective factor
// N·g / (WINDOW_NS + WINDOW_GUARD_NS): at most `factor`, 1.2 at 1 ms gaps, 1.15 at 5.5
// Mbit/s, 1.05 at 4 Mbit/s (4 datagrams in 10 ms are 1.05×, 5 are 1.32×: a 10 ms stall takes
// 200 ms to make up there, whatever the rule). A gap that is zero or negative (a new timeline
// after a discontinuity, a reload) limits nothing and starts the window afresh. The limiter holds no clock: the loop asks it
// and tells it. The loop may send a datagram up to its early window before the time given
// (pacing-loop.ts coalesceWindow), but never before rule 2's bound.
//
// 3. No runaway. Rule 2 counts from the actual sends, so a loop that leaves each held datagram
//    later after its window's end than the window's slack (N·g − W − guard: 1.47 ms at 5.5
//    Mbit/s, 0.52 ms at 4 Mbit/s) adds the difference once per window, and the channel falls
//    behind without end (bench/limiter-sim: woken 2.5 ms late, 101 ms behind after 10 s; 3 ms,
//    537 ms). A stall's backlog shrinks by every window; a runaway's does not. So the least
//    lateness of each 10 ms of due time is kept for the last 100 ms, and over the latest 10 ms
//    how many of the window-held sends left later after their window's end than its slack: a
//    channel more than RELAX_NS behind then and now, no less behind now, most of whose sends
//    lag their windows by the slack or more (it cannot gain), gets one datagram more per
//    window (the reference send one gap earlier) until it is back within RELAX_NS / 2. A loop
//    that sends on time but was stalled again during a catch-up is more behind too, but gains
//    in most windows: it keeps the strict window (with "mean lag > 0" as the test, every loop
//    that sends on a tick qualified, and bench/scale at 20 channels relaxed most of the time;
//    with the mean lag against the slack, one stall's late sends did). That costs one datagram
//    per 10 ms more (7 at 5.5 Mbit/s; 8 in a window that spans a change) only while the loop
//    cannot keep up anyway, and bounds the delay: 13, 19 and 25 ms behind for loops woken 2,
//    2.5 and 3 ms late every time, 25-30 ms for a noisy one (0-2 ms late, 10 % of wake-ups
//    0-6 ms more).

/** Default factor: 1.2 × the channel's own rate at most. */
export const DEFAULT_BURST_FACTOR = 1.2;
/** A send this far behind its spaced time restarts the spacing from it. */
export const REANCHOR_NS = 2_000_000;
/** The window the burst is judged over (TR 101 290, and the 10 ms). */
export const WINDOW_NS = 10_000_000;
/** How far past the window's end the datagram it held leaves (see rule 2). */
export const WINDOW_GUARD_NS = 10_000;
const RING = 1024;
/** Rule 3 (see above): how far behind, over how many slots of how much due time. */
export const RELAX_NS = 5_000_000;
const TREND_SLOT_NS = 10_000_000;
const TREND_SLOTS = 10;

export class BurstLimiter {
  private lastDueNs = NaN;
  /** The previous datagram's spaced time. */
  private lastAtNs = -Infinity;
  /** Sends remembered: due time and send time, oldest at `head`. */
  private readonly dues = new Float64Array(RING);
  private readonly sends = new Float64Array(RING);
  private head = 0;
  private count = 0;
  /** Sends recorded since the last handed(): their times are the loop's, before the send call. */
  private unstamped = 0;
  /** Rule 3: the least lateness of each recent slot of due time, newest at `slot`. */
  private readonly slotLate = new Float64Array(TREND_SLOTS + 1).fill(NaN);
  private slot = 0;
  private slotEnd = -Infinity;
  private relaxed = false;
  private windowEndNs = -Infinity;
  /**
   * Rule 3, over the slot's sends that a window bounded: how many there were, and how many left
   * later after the window's end than its slack (N·g − W − guard: how late a send may leave and
   * the channel still gain on its schedule).
   */
  private slotWindows = 0;
  private slotLosing = 0;
  /** The window slack of the datagram earliest() was last asked about (NaN: no window). */
  private slackNs = NaN;

  constructor(private readonly factor = DEFAULT_BURST_FACTOR) {
    if (!(factor > 1)) throw new RangeError(`burst factor must be > 1, got ${factor}`);
  }

  /** Whether rule 3 is in force: one datagram more per window (the channel ran away). */
  get relaxing(): boolean {
    return this.relaxed;
  }

  /**
   * Rule 2's bound for the datagram earliest() was last asked about: it must not leave before
   * this at all (−Infinity: no bound). The loop may send a datagram a little before the time
   * earliest() gives (its early window), never before this: sent early, a datagram the window
   * held reached the wire inside the window (5 datagrams in 10 ms at 4 Mbit/s, 1.32× the rate).
   */
  get windowEnd(): number {
    return this.windowEndNs;
  }

  /** The earliest time a datagram due at `dueNs` may leave (≥ dueNs). */
  earliest(dueNs: number): number {
    this.windowEndNs = -Infinity;
    this.slackNs = NaN;
    const gap = dueNs - this.lastDueNs;
    if (!(gap > 0)) return dueNs;
    let t = this.lastAtNs + gap / this.factor;
    if (t < dueNs) t = dueNs;
    // The last send due before the window's span: keep it at the head, drop those before it.
    const span = this.factor * WINDOW_NS;
    const from = dueNs - span + Math.min(gap, Math.max(0, span - WINDOW_NS - WINDOW_GUARD_NS));
    while (this.count >= 2 && this.dues[(this.head + 1) % RING] < from) {
      this.head = (this.head + 1) % RING;
      this.count--;
    }
    if (this.count > 0 && this.dues[this.head] < from) {
      const w = this.sends[this.head] + WINDOW_NS + WINDOW_GUARD_NS - (this.relaxed ? gap : 0);
      this.windowEndNs = w;
      this.slackNs = dueNs - this.dues[this.head] - WINDOW_NS - WINDOW_GUARD_NS;
      if (w > t) t = w;
    }
    return t;
  }

  /**
   * The datagram due at `dueNs` left at `nowNs`; `atNs`: what earliest() gave for it (the loop
   * has it already: not computed twice per send).
   */
  sent(dueNs: number, nowNs: number, atNs = this.earliest(dueNs)): void {
    if (!(dueNs - this.lastDueNs > 0)) {
      // A new timeline: a new window, a new trend.
      this.count = 0;
      this.unstamped = 0;
      this.slotLate.fill(NaN);
      this.slotEnd = -Infinity;
      this.relaxed = false;
    }
    this.trend(dueNs, nowNs - dueNs, nowNs - this.windowEndNs, this.slackNs);
    const at = atNs;
    this.lastAtNs = nowNs - at > REANCHOR_NS ? nowNs - REANCHOR_NS : at;
    this.lastDueNs = dueNs;
    if (this.count === RING) {
      this.head = (this.head + 1) % RING;
      this.count--;
    }
    const i = (this.head + this.count) % RING;
    this.dues[i] = dueNs;
    this.sends[i] = nowNs;
    this.count++;
    this.unstamped = Math.min(this.unstamped + 1, this.count);
  }

  /**
   * The datagrams sent since the last call were handed to the kernel by `nowNs` (read after the
   * send call returned). The window counts from this time: the loop reads its clock before the
   * send call, and a thread held off the CPU between the two (or a batch's sendmmsg) put a
   * datagram on the wire later than its recorded time, so that the next window's datagram,
   * held 10 ms after the recorded time, reached the wire inside the window (bench/scale: 5
   * datagrams in 10 ms at 4 Mbit/s, where the loop's own times never had more than 4).
   */
  handed(nowNs: number): void {
    for (let k = Math.max(0, this.count - this.unstamped); k < this.count; k++) {
      const i = (this.head + k) % RING;
      if (nowNs > this.sends[i]) this.sends[i] = nowNs;
    }
    this.unstamped = 0;
  }

  /**
   * Rule 3: the slot's least lateness; for the sends a window bounded, whether each left later
   * after its end (`lagNs`) than its slack (`slackNs`; NaN where no window applied). At each
   * new slot: whether the channel runs away.
   */
  private trend(dueNs: number, lateNs: number, lagNs: number, slackNs: number): void {
    const n = this.slotLate.length;
    if (dueNs >= this.slotEnd) {
      const done = this.slotLate[this.slot];
      const old = this.slotLate[(this.slot + 1) % n];
      const losing = this.slotLosing * 2 > this.slotWindows;
      if (done < RELAX_NS / 2) this.relaxed = false;
      else if (done > RELAX_NS && old > RELAX_NS && done >= old && losing) this.relaxed = true;
      this.slot = (this.slot + 1) % n;
      this.slotLate[this.slot] = lateNs;
      this.slotLosing = 0;
      this.slotWindows = 0;
      this.slotEnd = dueNs + TREND_SLOT_NS;
    } else if (lateNs < this.slotLate[this.slot]) this.slotLate[this.slot] = lateNs;
    if (slackNs === slackNs) {
      this.slotWindows++;
      if (lagNs >= slackNs) this.slotLosing++;
    }
  }
}
