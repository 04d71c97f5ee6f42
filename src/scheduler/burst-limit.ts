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
// 2. Window (the hard bound, TR 101 290's 10 ms, in bytes): a datagram stands for the schedule
//    since the datagram before it (due gap g, its packets g/N each; at CBR its bytes are the
//    rate × g). The sends of any 10 ms (W) may stand for at most L of schedule, L = factor × W
//    (12 ms: 1.2× the rate's bytes), or what on-time sending puts in a window where that is
//    more (a 7 ms gap: two datagrams, 14 ms; a VBR gap: the schedule from the last datagram
//    due W + guard earlier). So what ends its schedule at X may leave once the send that ends
//    at X − L or later is W + guard old (windowEnd). A datagram the window cannot hold whole
//    leaves in two parts (the caller's choice, `parts`): now, the packets that fit; the rest
//    when the window holds them. Whole datagrams only, the catch-up at 4 Mbit/s (g = 2.63 ms)
//    was 4 datagrams per 10 ms, 1.05× the rate (5 are 1.32×): a 10 ms stall took 200 ms to
//    make up, and a loop that left each held datagram more than 0.52 ms after its window's end
//    (this VM's wake-ups, the 1 ms grid) fell behind without end (rule 3 then gave it 1.32-1.58×
//    on the wire, bench/scale). In two parts it drains at up to the window's own 1.2× (1.1-1.15×
//    measured: the rest of a datagram waits for a send that ends late enough to leave the
//    window, so up to a packet of each window goes unused), and falls behind only past 2 ms of
//    such lag (L − W − guard). The window counts from when a send was
//    in the kernel (handed(), read after the send call returns), not from the loop's clock read
//    before the call: a thread held off the CPU between the two, or a sendmmsg of a pass,
//    put it on the wire later than its recorded time (bench/scale, 4 Mbit/s: 5 in 10 ms on the
//    wire where the loop's own times never had more than 4). The wait ends WINDOW_GUARD_NS past
//    the window (the clock's granularity, the float's rounding). The loop may send up to its
//    early window before the time earliest() gives (pacing-loop.ts coalesceWindow), never
//    before windowEnd (the floor of PacedQueue.head).
//
// On time, neither rule holds anything back (the previous send was a whole due gap earlier; the
// window's sends stand for at most L of schedule). The worst lateness is the stall's length,
// and the catch-up after a stall of S lasts about S / (f − 1), f ≈ L / (W + guard + the loop's
// lag after each window end), less the packet a window may leave unused: 1.1-1.15 here (a 30 ms
// stall at 4 Mbit/s made up in 257 ms; whole datagrams: 683 ms). A gap that
// is zero or negative (a new timeline after a discontinuity, a reload) limits nothing and
// starts the window afresh. The limiter holds no clock: the loop asks it and tells it.
//
// 3. No runaway. Rule 2 counts from the actual sends, so a loop that leaves each held send
//    later after its window's end than L − W − guard adds the difference once per window, and
//    the channel falls behind without end. A stall's backlog shrinks by every window; a
//    runaway's does not. So the least lateness of each 10 ms of due time is kept for the last
//    100 ms, and over the latest 10 ms how many of the sends a window bounded were no less late
//    than the send their window counted from (they did not gain): a channel more than RELAX_NS
//    behind then and now, no less behind now, most of whose bounded sends did not gain, gets
//    RELAX_STEP_NS more schedule per window (L + 1 ms: 1.3× the rate), and another step each
//    100 ms that this goes on, up to RELAX_MAX_NS (1.8×), until it is back within RELAX_NS / 2;
//    its sends are counted as relaxed (headend_channel_datagrams_relaxed_total): the pacing
//    thread cannot keep up. RELAX_NS is 20 ms, far inside an output's latency (400 ms): at 5
//    ms the stalls of a busy VM set it off (bench/scale, 40 channels: 0.5-1.3 % of the
//    datagrams relaxed, burst 1.28, in two runs of three). bench/limiter-sim: a loop that wakes
//    0-2 ms late never relaxes; one that wakes 0-4 ms late, or 3 ms every time, at 4 Mbit/s
//    needs 1.3-1.4× to stay within 40 ms (without rule 3: 2.2 s behind after 30 s).

/** Default factor: 1.2 × the channel's own rate at most. */
export const DEFAULT_BURST_FACTOR = 1.2;
/** A send this far behind its spaced time restarts the spacing from it. */
export const REANCHOR_NS = 2_000_000;
/** The window the burst is judged over (TR 101 290, and the 10 ms). */
export const WINDOW_NS = 10_000_000;
/** How far past the window's end the send it held leaves (see rule 2). */
export const WINDOW_GUARD_NS = 10_000;
/** Sends remembered (parts count apart): a 12 ms span up to ~450 Mbit/s a channel. */
const RING = 1024;
/** Rule 3 (see above): how far behind, over how many slots of how much due time. */
export const RELAX_NS = 20_000_000;
export const RELAX_STEP_NS = 1_000_000;
export const RELAX_MAX_NS = 6_000_000;
const TREND_SLOT_NS = 10_000_000;
const TREND_SLOTS = 10;
/** Below this a packet count is taken as whole (float rounding of the schedule's shares). */
const EPS = 1e-6;

/**
 * The limiter's cell (BurstLimiter.io): the pacing loop passes times in it, not as arguments, to
 * the *Io methods (a double passed to or returned from a call V8 does not inline is a new heap
 * number, and these run for every send): the due time, the clock, the time earliest() gave, and
 * a send's lateness (trend's), and boundIo's argument and result.
 */
export const BL_DUE = 0;
export const BL_NOW = 1;
export const BL_AT = 2;
const BL_LATE = 3;
const BL_NEED = 4;
const BL_BOUND = 5;
/** earliestIo's rule-2 bound (windowEnd), in the cell too: a getter's double is boxed alike. */
export const BL_FLOOR = 6;

export class BurstLimiter {
  /** The cell the *Io methods read and write (BL_DUE, BL_NOW, BL_AT, BL_FLOOR). */
  readonly io = new Float64Array(7);
  /** The due time of the latest datagram begun, and of the one before it (its share's start). */
  private lastDueNs = NaN;
  private prevDueNs = NaN;
  /** The latest datagram's spaced time (rule 1). */
  private lastAtNs = -Infinity;
  /** Sends remembered, oldest at `head`: where the schedule they stand for ends, and when. */
  private readonly ends = new Float64Array(RING);
  private readonly sends = new Float64Array(RING);
  /** 1 where the send completed its datagram (its end is that datagram's due time). */
  private readonly whole = new Uint8Array(RING);
  private head = 0;
  private count = 0;
  /**
   * Where the schedule of the send at `head` starts while it is its timeline's first (taken to
   * stand for one gap, as the next; NaN until that gap is known), else −Infinity (pruned).
   */
  private startEnd = -Infinity;
  /** Sends recorded since the last handed(): their times are the loop's, before the send call. */
  private unstamped = 0;
  /** The datagram earliest() was last asked about: due, packets, done, share, limit. */
  private qDue = NaN;
  private qPackets = 1;
  private qDone = 0;
  private qBase = 0;
  private qPkt = 0;
  /** Rule 2's limit L for it (Infinity: no window applies). */
  private qLimit = Infinity;
  /** When its whole rest may leave by rule 2 (−Infinity: at once). */
  private qWhole = -Infinity;
  /** The lateness (send − end) of the send its window counts from (NaN: none). */
  private qRefLate = NaN;
  /** Rule 3: the least lateness of each recent slot of due time, newest at `slot`. */
  private readonly slotLate = new Float64Array(TREND_SLOTS + 1).fill(NaN);
  private slot = 0;
  private slotEnd = -Infinity;
  /** Rule 3: the schedule added to L (0: not in force), and the due time of its last step. */
  private relaxNs = 0;
  private relaxStepDue = -Infinity;
  /** Rule 3, over the slot: sends a window bounded, and how many of them did not gain. */
  private slotWindows = 0;
  private slotLosing = 0;

  constructor(private readonly factor = DEFAULT_BURST_FACTOR) {
    if (!(factor > 1)) throw new RangeError(`burst factor must be > 1, got ${factor}`);
    this.io[BL_FLOOR] = -Infinity;
  }

  /** Whether rule 3 is in force: more schedule per window (the channel ran away). */
  get relaxing(): boolean {
    return this.relaxNs > 0;
  }

  /**
   * Rule 2's bound for what earliest() was last asked about: it must not leave before this at
   * all (−Infinity: no bound), early window or not.
   */
  get windowEnd(): number {
    return this.io[BL_FLOOR];
  }

  /**
   * The earliest time the datagram due at `dueNs` (`packets` TS packets, `done` of them sent)
   * may leave, whole or (with `parts`) its first part: ≥ dueNs.
   */
  earliest(dueNs: number, packets = 1, done = 0, parts = false): number {
    this.io[BL_DUE] = dueNs;
    this.earliestIo(packets, done, parts);
    return this.io[BL_AT];
  }

  /** earliest() through the cell: io[BL_DUE] in, io[BL_AT] out. */
  earliestIo(packets: number, done: number, parts: boolean): void {
    const io = this.io;
    const dueNs = io[BL_DUE];
    io[BL_FLOOR] = -Infinity;
    this.qRefLate = NaN;
    this.qLimit = Infinity;
    this.qWhole = -Infinity;
    const rest = done > 0 && dueNs === this.lastDueNs;
    const base = rest ? this.prevDueNs : this.lastDueNs;
    const gap = dueNs - base;
    this.qDue = dueNs;
    this.qPackets = packets;
    this.qDone = rest ? done : 0;
    this.qBase = base;
    this.qPkt = gap / packets;
    if (!(gap > 0)) {
      io[BL_AT] = dueNs;
      return;
    }
    if (this.startEnd !== this.startEnd) this.startEnd = base - gap;
    let t = dueNs;
    if (!rest) {
      const spaced = this.lastAtNs + gap / this.factor;
      if (spaced > t) t = spaced;
    }
    if (this.count === 0) {
      io[BL_AT] = t;
      return;
    }
    // L: factor × W of schedule, or what on-time sends put in a window where that is more.
    let limit = this.factor * WINDOW_NS;
    io[BL_NEED] = dueNs - WINDOW_NS - WINDOW_GUARD_NS;
    this.endAtOrBeforeIo();
    const onTimeFrom = io[BL_BOUND];
    if (dueNs - onTimeFrom > limit && onTimeFrom > -Infinity) limit = dueNs - onTimeFrom;
    limit += this.relaxNs;
    this.qLimit = limit;
    this.prune(base - limit - gap);
    io[BL_NEED] = dueNs - limit;
    this.boundIo(true);
    const whole = io[BL_BOUND];
    this.qWhole = whole;
    if (whole <= t || !parts || rest || packets < 2) {
      io[BL_FLOOR] = whole;
      io[BL_AT] = whole > t ? whole : t;
      return;
    }
    io[BL_NEED] = base + (this.qDone + 1) * this.qPkt - limit;
    this.boundIo(false);
    const first = io[BL_BOUND];
    io[BL_FLOOR] = first;
    io[BL_AT] = first > t ? first : t;
  }

  /** How many of the rest of the datagram earliest() was asked about may leave at `nowNs`. */
  fit(nowNs: number): number {
    this.io[BL_NOW] = nowNs;
    return this.fitIo();
  }

  /** fit() through the cell: io[BL_NOW] in. */
  fitIo(): number {
    const nowNs = this.io[BL_NOW];
    const rest = this.qPackets - this.qDone;
    if (nowNs >= this.qWhole) return rest;
    const cut = nowNs - WINDOW_NS - WINDOW_GUARD_NS;
    let e = this.startEnd === this.startEnd ? this.startEnd : -Infinity;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % RING;
      if (this.sends[i] > cut) break;
      e = this.ends[i];
    }
    const n = Math.floor((e + this.qLimit - this.qBase) / this.qPkt + EPS) - this.qDone;
    return n < 0 ? 0 : n > rest ? rest : n;
  }

  /**
   * `count` packets (default: the rest) of the datagram due at `dueNs` left at `nowNs`; `atNs`:
   * what earliest() gave for it (the loop has it already: not computed twice per send).
   */
  sent(dueNs: number, nowNs: number, atNs?: number, count?: number): void {
    if (atNs === undefined || dueNs !== this.qDue) atNs = this.earliest(dueNs);
    const io = this.io;
    io[BL_DUE] = dueNs;
    io[BL_NOW] = nowNs;
    io[BL_AT] = atNs;
    this.sentIo(count ?? this.qPackets);
  }

  /**
   * sent() through the cell: io[BL_DUE], io[BL_NOW] and io[BL_AT] (what earliestIo gave for this
   * very datagram) in; `count` packets of it left.
   */
  sentIo(count: number): void {
    const io = this.io;
    const dueNs = io[BL_DUE];
    const nowNs = io[BL_NOW];
    const atNs = io[BL_AT];
    const begins = this.qDone === 0;
    if (begins && !(dueNs - this.lastDueNs > 0)) {
      // A new timeline: a new window, a new trend.
      this.count = 0;
      this.unstamped = 0;
      this.startEnd = NaN;
      this.slotLate.fill(NaN);
      this.slotEnd = -Infinity;
      this.relaxNs = 0;
    }
    const done = Math.min(this.qPackets, this.qDone + count);
    const end = done >= this.qPackets || !(this.qPkt > 0) ? dueNs : this.qBase + done * this.qPkt;
    io[BL_LATE] = nowNs - end;
    this.trend();
    if (begins) {
      this.lastAtNs = nowNs - atNs > REANCHOR_NS ? nowNs - REANCHOR_NS : atNs;
      this.prevDueNs = this.lastDueNs;
      this.lastDueNs = dueNs;
    }
    this.qDone = done;
    this.qDue = done >= this.qPackets ? NaN : dueNs;
    if (this.count === RING) {
      this.head = (this.head + 1) % RING;
      this.count--;
      this.startEnd = -Infinity;
    }
    const i = (this.head + this.count) % RING;
    this.ends[i] = end;
    this.sends[i] = nowNs;
    this.whole[i] = done >= this.qPackets ? 1 : 0;
    this.count++;
    this.unstamped = Math.min(this.unstamped + 1, this.count);
  }

  /**
   * The sends since the last call were handed to the kernel by `nowNs` (read after the send
   * call returned). The window counts from this time: the loop reads its clock before the
   * send call, and a thread held off the CPU between the two (or a batch's sendmmsg) put a
   * datagram on the wire later than its recorded time.
   */
  handed(nowNs: number): void {
    this.io[BL_NOW] = nowNs;
    this.handedIo();
  }

  /** handed() through the cell: io[BL_NOW] in. */
  handedIo(): void {
    const nowNs = this.io[BL_NOW];
    for (let k = Math.max(0, this.count - this.unstamped); k < this.count; k++) {
      const i = (this.head + k) % RING;
      if (nowNs > this.sends[i]) this.sends[i] = nowNs;
    }
    this.unstamped = 0;
  }

  /**
   * The due time of the latest datagram sent whole by io[BL_NEED] (its last part's end), or the
   * start of the timeline's first send's schedule (startEnd), into io[BL_BOUND] (−Infinity:
   * none kept): where on-time sending's window would begin. Not a part's end: on time nothing
   * goes in parts, and counted from one the allowance came out short. At 1.5 Mbit/s (two
   * datagrams per window on time, 14 ms of schedule) a datagram after one in parts got 12 ms,
   * went in parts too, and so on: every datagram of the example's CBR channel in 3 + 4 packets
   * for as long as it ran, from the second datagram on (whose window had no send before it).
   */
  private endAtOrBeforeIo(): void {
    const x = this.io[BL_NEED];
    let e = this.startEnd <= x ? this.startEnd : -Infinity;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % RING;
      const v = this.ends[i];
      if (v > x) break;
      if (this.whole[i] === 1) e = v;
    }
    this.io[BL_BOUND] = e;
  }

  /**
   * When what ends its schedule at io[BL_NEED] + L may leave, into io[BL_BOUND]: W + guard after
   * the first send that ends at that need or later (−Infinity: none, no bound). `ref`: that send
   * is the reference of rule 3 (its lateness kept). Through the cell: 250 channels of sendDue
   * over real outputs, where half the datagrams went in two parts, allocated ~30 bytes a part
   * here (the second call, a datagram's first part, not inlined: its argument and result boxed).
   */
  private boundIo(ref: boolean): void {
    const io = this.io;
    const need = io[BL_NEED];
    io[BL_BOUND] = -Infinity;
    if (this.startEnd >= need) return;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % RING;
      if (this.ends[i] >= need) {
        if (ref) this.qRefLate = this.sends[i] - this.ends[i];
        io[BL_BOUND] = this.sends[i] + WINDOW_NS + WINDOW_GUARD_NS;
        return;
      }
    }
  }

  /** Forgets the sends no query reaches back to: all but the last that ends before `x`. */
  private prune(x: number): void {
    while (this.count >= 2 && this.ends[(this.head + 1) % RING] < x) {
      this.head = (this.head + 1) % RING;
      this.count--;
      this.startEnd = -Infinity;
    }
  }

  /**
   * Rule 3, for the send of io[BL_DUE] io[BL_LATE] late: the slot's least lateness; for the
   * sends a window bounded, whether each was no less late than the send its window counted from
   * (qRefLate; NaN where no window applied). At each new slot: whether the channel runs away.
   */
  private trend(): void {
    const dueNs = this.io[BL_DUE];
    const lateNs = this.io[BL_LATE];
    const refLate = this.qRefLate;
    const n = this.slotLate.length;
    if (dueNs >= this.slotEnd) {
      const done = this.slotLate[this.slot];
      const old = this.slotLate[(this.slot + 1) % n];
      const losing = this.slotLosing * 2 > this.slotWindows;
      if (done < RELAX_NS / 2) this.relaxNs = 0;
      else if (
        done > RELAX_NS &&
        old > RELAX_NS &&
        done >= old &&
        losing &&
        dueNs - this.relaxStepDue >= TREND_SLOTS * TREND_SLOT_NS
      ) {
        this.relaxNs = Math.min(RELAX_MAX_NS, this.relaxNs + RELAX_STEP_NS);
        this.relaxStepDue = dueNs;
      }
      this.slot = (this.slot + 1) % n;
      this.slotLate[this.slot] = lateNs;
      this.slotLosing = 0;
      this.slotWindows = 0;
      this.slotEnd = dueNs + TREND_SLOT_NS;
    } else if (lateNs < this.slotLate[this.slot]) this.slotLate[this.slot] = lateNs;
    if (refLate === refLate) {
      this.slotWindows++;
      if (lateNs >= refLate) this.slotLosing++;
    }
  }
}
