// One channel's queue in the pacing worker (pacer-worker.ts): its ring of timed datagrams
// (ring.ts), its burst limit (burst-limit.ts) and its output, as the loop sees it (PacedQueue):
// the head's time, and its send. A datagram with a PCR (ISO/IEC 13818-1 §2.4.3.4) never leaves
// early, so that the clock a receiver recovers from PCR arrivals is not the pacer's early window.
//
// A datagram the burst window cannot hold whole (burst-limit.ts rule 2) leaves in two parts: the
// packets that fit, then the rest when the window holds them, each copied into a scratch slot of
// its own with room for its RTP header (two RTP packets, consecutive sequence numbers, the same
// timestamp). Only while the socket holds no queued send, which may still point into a scratch.
// The datagram counts once (sent, lateness) when its rest has gone; its slot is released then.
//
// A slot is released to the producer (TAIL) only when the socket holds no queued send, because a
// queued send still points into the slot.

import { hasPcr } from '../mpegts/packet.js';
import { BL_AT, BL_DUE, BL_FLOOR, BL_NOW, type BurstLimiter } from './burst-limit.js';
import { SEND_DUE, SEND_PCR27, type PacedOutput } from './output-contract.js';
import { CPU_NS, CPU_VOLUNTARY, cpuCell, type ThreadCpuRead } from './mono-clock.js';
import {
  EARLY_NS,
  QT_DUE,
  QT_FLOOR,
  QT_NOW,
  staggerOffsetNs,
  type PacedQueue,
} from './pacing-loop.js';
import {
  CTL_HEAD,
  CTL_READ,
  CTL_TAIL,
  RTP_HEADROOM,
  ST_BYTES,
  ST_LATE_HIST,
  ST_LATE_MAX,
  ST_LATE_SUM,
  ST_RELAXED,
  ST_SEND_ERRORS,
  ST_SENT,
  ST_SPLIT,
  latenessBucket,
  ringViews,
  type RingLayout,
  type RingViews,
} from './ring.js';

/** Default datagram interval for the stagger when a channel's own is not known yet. */
const DEFAULT_INTERVAL_NS = 1e6;
const TS = 188;
/** Most TS packets in a datagram (OutputSpec.packetsPerDatagram). */
const MAX_PACKETS = 7;

/**
 * Copies src[from, from + n) to dst at `at`, allocating nothing: Buffer.copy and set() with
 * offsets make a view of the source range each time (~190-480 bytes a call with the rest).
 */
function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
}

/** A slot of its own for one part of a datagram: views for each packet count, made once. */
class Scratch {
  readonly buf = Buffer.alloc(RTP_HEADROOM + MAX_PACKETS * TS);
  readonly slots: Buffer[] = [];
  readonly views: Buffer[] = [];
  constructor() {
    for (let k = 0; k <= MAX_PACKETS; k++) {
      this.slots.push(this.buf.subarray(0, RTP_HEADROOM + k * TS));
      this.views.push(this.buf.subarray(RTP_HEADROOM, RTP_HEADROOM + k * TS));
    }
  }
}

/** What the loop counts across its channels (PacerStats) that a channel's sends add to. */
export interface LoopCounters {
  /** Worst send lateness (send time − the datagram's scheduled time), ns. */
  lateMaxNs: number;
  /**
   * Worst send lateness beyond what the OS and the burst limit explain (PacerStats.ownLateMaxNs):
   * send time − the time the burst limit let it leave − wakeLateNs − the time within the pass
   * the thread was off its CPU, ns.
   */
  ownLateMaxNs: number;
  unlicensed: number;
  /**
   * Set by the loop before each pass, not counted: how much later than asked the OS ended the
   * wait before it (a sleep's oversleep, a spin that lost the CPU past its end), ns, ≥ 0.
   */
  wakeLateNs: number;
  /**
   * Set by the loop at the start of each pass: the clock then (ns) and the thread's cpuCell then
   * (mono-clock.ts). With them a send's own share leaves out the time within the pass the thread
   * was off its CPU without having blocked (preempted, or its vCPU held): the OS's, as a late
   * wake-up is.
   */
  passStartNs: number;
  readonly passCpu: Float64Array;
  /** Where a send reads the thread's cpuCell. */
  readonly cpuNow: Float64Array;
  /** Reads the thread's cpuCell (mono-clock.ts threadCpuReader); null where it cannot. */
  readCpu: ThreadCpuRead | null;
  /**
   * The most off-CPU time taken out of a send's own share (PacerStats.preemptedMaxNs), ns: read
   * only for sends that could be the period's worst own share (over OWN_CPU_CHECK_NS).
   */
  preemptedMaxNs: number;
  /**
   * Queues whose sent slots wait for release() (an output still holds a send: an RTSP
   * destination's libuv send, a batch the kernel refused with EAGAIN), which runs when the loop
   * turns its event loop: while any does, the loop turns it at every gap (pacing-loop.ts).
   */
  held: number;
}

/** LoopCounters at zero. */
export function loopCounters(): LoopCounters {
  return {
    lateMaxNs: 0,
    ownLateMaxNs: 0,
    unlicensed: 0,
    wakeLateNs: 0,
    passStartNs: 0,
    passCpu: cpuCell(),
    cpuNow: cpuCell(),
    readCpu: null,
    preemptedMaxNs: 0,
    held: 0,
  };
}

/**
 * A send whose own share would be the period's worst and over this reads the thread's CPU time
 * (two system calls, ~0.7 µs): below it, what the OS took within the pass does not matter.
 */
export const OWN_CPU_CHECK_NS = 100_000;

export class WorkerChannel implements PacedQueue {
  /**
   * Per slot: the slot (RTP header room + TS) and its TS part, as long as the last datagram sent
   * from it; made again only when a datagram's size differs (the channel changed its packets per
   * datagram), so a send allocates nothing.
   */
  private slots: Buffer[] = [];
  private views: Buffer[] = [];
  private buf!: Buffer;
  private offsetNs = 0;
  private staggered = false;
  /** Sends since the last TAIL release that libuv may still hold. */
  private unreleased = false;
  /** Sent in the current pass, not yet known to be in the kernel (handed()). */
  private sentInPass = false;
  /** The head datagram's due time (staggered), and when the burst limit lets it leave. */
  private headDueNs = 0;
  private headAtNs = 0;
  private headFloorNs = -Infinity;
  /** Whether the head's times are computed, and for which read index. */
  private cached = false;
  private cachedRead = 0;
  /** Larger rings the producer moved to, in order: each is read once the one before is empty. */
  private readonly next: RingViews[] = [];
  /** Packets of the head datagram sent already (its first part), and its parts' slots. */
  private headDone = 0;
  private readonly firstPart = new Scratch();
  private readonly restPart = new Scratch();
  /** No more datagrams in two parts (the queue drains; sendWhole()). */
  private whole = false;
  /**
   * Whether the head datagram has a PCR (its first part: computeHead), for which read index it
   * was looked for (once per datagram, not at each head()), and whether the last send carried
   * it.
   */
  private headPcr = false;
  private pcrRead = -1;
  private lastSentPcr = false;
  /** The cell a send's times go to the output in (PacedOutput.send). */
  private readonly sendTimes = new Float64Array(2);
  /** The cell a datagram's lateness goes to latenessBucket in. */
  private readonly lateCell = new Float64Array(1);

  constructor(
    readonly id: string,
    private v: RingViews,
    readonly output: PacedOutput,
    private readonly staggerIndex: number,
    private readonly tsBytes: number,
    private readonly limiter: BurstLimiter,
    private readonly loopStats: LoopCounters,
    /** PacerOptions.licence: sends stop after licence[0] (monotonic ns; 0: no limit). */
    private readonly licence: Float64Array | null,
  ) {
    this.use(v);
  }

  /** Reads `v` from now on: per slot views made once (allocation here, never per send). */
  private use(v: RingViews): void {
    this.v = v;
    const buf = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    this.buf = buf;
    this.slots = [];
    this.views = [];
    for (let s = 0; s < v.capacity; s++) {
      const at = s * v.slotBytes;
      this.slots.push(buf.subarray(at, at + RTP_HEADROOM + this.tsBytes));
      this.views.push(buf.subarray(at + RTP_HEADROOM, at + RTP_HEADROOM + this.tsBytes));
    }
    this.cached = false;
    this.pcrRead = -1; // a new ring counts its slots from its own start
  }

  /**
   * From now on every datagram goes whole (one begun still sends its rest), so the RTP sequence
   * numbers the queue takes are known: its split count stays as it is (ST_SPLIT). For a queue
   * that drains while another goes on with its RTP stream (pacer.ts ChannelHandle.sendWhole).
   */
  sendWhole(): void {
    this.whole = true;
    this.cached = false;
  }

  /** The producer moved to a larger ring (ring.ts): it is read once the current one is empty. */
  grew(ring: RingLayout): void {
    this.next.push(ringViews(ring, this.v.stats));
  }

  /**
   * The head's times (PacedQueue.head), computed once per head: sendDue asks every queue at
   * every pass and after each of its sends, and the burst limit was worked out again each time
   * (channels × datagrams a second). What they depend on changes only when the head leaves
   * (sendHead) or the limiter learns when the pass's sends were in the kernel (handed).
   */
  head(t: Float64Array): void {
    if (!this.cached || this.v.ctl[CTL_READ] !== this.cachedRead) this.computeHead();
    t[QT_DUE] = this.headAtNs;
    t[QT_FLOOR] = this.headFloorNs;
  }

  /** head()'s work, when the head changed: its times into headAtNs and headFloorNs. */
  private computeHead(): void {
    const v = this.v;
    const read = v.ctl[CTL_READ];
    const n = (Atomics.load(v.ctl, CTL_HEAD) - read) | 0;
    if (n <= 0) {
      // Empty: final if the producer has moved to a larger ring (it never writes here again).
      this.headAtNs = Infinity;
      const next = this.next.shift();
      if (next === undefined) return;
      this.use(next);
      this.computeHead();
      return;
    }
    const slot = read & v.mask;
    if (!this.staggered && n >= 2) {
      // Fix the channel's phase once its datagram interval is seen (first two datagrams).
      const d = v.meta[((read + 1) & v.mask) * 2] - v.meta[slot * 2];
      this.offsetNs = staggerOffsetNs(
        this.staggerIndex,
        d > 0 && d < 20e6 ? d : DEFAULT_INTERVAL_NS,
      );
      this.staggered = true;
    }
    // Due as scheduled, and as the burst limit lets it go after a stall (burst-limit.ts).
    this.headDueNs = v.meta[slot * 2] + this.offsetNs;
    const packets = (v.len[slot] / TS) | 0;
    const parts = packets > 1 && this.output.queued === 0 && !this.whole;
    const lim = this.limiter;
    lim.io[BL_DUE] = this.headDueNs;
    lim.earliestIo(packets, this.headDone, parts);
    this.headAtNs = lim.io[BL_AT];
    this.headFloorNs = lim.io[BL_FLOOR];
    if (this.pcrRead !== read) {
      this.headPcr = this.carriesPcr(slot, packets);
      this.pcrRead = read;
    }
    if (this.headPcr && this.headDone === 0) {
      // A clock reference leaves at its time, never early (pacing-loop.ts, PCR on time).
      const onTime = this.headDueNs - EARLY_NS;
      if (onTime > this.headFloorNs) this.headFloorNs = onTime;
    }
    // Until its phase is fixed, a second datagram may still move it.
    this.cached = this.staggered;
    this.cachedRead = read;
  }

  /** Whether one of the datagram's packets has a PCR (ISO/IEC 13818-1 §2.4.3.4: hasPcr). */
  private carriesPcr(slot: number, packets: number): boolean {
    const d = this.v.data;
    let o = slot * this.v.slotBytes + RTP_HEADROOM;
    for (let k = 0; k < packets; k++, o += TS) if (hasPcr(d, o)) return true;
    return false;
  }

  /** t[QT_NOW]: the clock; lateness counts from the datagram's due time. */
  sendHead(t: Float64Array): void {
    const now = t[QT_NOW];
    const lateNs = now - this.headDueNs;
    // The daemon's own share: late against when the burst limit let it go (after a stall it
    // spreads the backlog on purpose), beyond how late the OS woke the loop for this pass.
    const allowed = this.headAtNs > this.headFloorNs ? this.headAtNs : this.headFloorNs;
    const ls = this.loopStats;
    let ownNs = now - allowed - ls.wakeLateNs;
    if (ownNs > OWN_CPU_CHECK_NS && ownNs > ls.ownLateMaxNs && ls.readCpu !== null) {
      const c = ls.cpuNow;
      const p = ls.passCpu;
      ls.readCpu(c);
      // Of the pass so far, the time the thread was off its CPU is the OS's, unless the thread
      // blocked on something of its own (a lock, a garbage collector's helpers): then all of it
      // stays its own. Counted from when the send was let go if that was within the pass, with
      // all of the pass's CPU time against it (at least that much of it was off the CPU).
      if (c[CPU_VOLUNTARY] === p[CPU_VOLUNTARY]) {
        const from = allowed > ls.passStartNs ? allowed : ls.passStartNs;
        const off = now - from - (c[CPU_NS] - p[CPU_NS]);
        if (off > 0) {
          ownNs -= off;
          if (off > ls.preemptedMaxNs) ls.preemptedMaxNs = off;
        }
      }
    }
    const relaxed = this.limiter.relaxing; // as earliest() had it for this datagram
    const v = this.v;
    const read = v.ctl[CTL_READ];
    const slot = read & v.mask;
    const len = v.len[slot];
    const packets = (len / TS) | 0;
    const from = this.headDone;
    // The rest of a datagram goes whole; a datagram begun, the packets the window holds now.
    let k = packets - from;
    if (from === 0 && k > 1 && !this.whole) {
      this.limiter.io[BL_NOW] = now;
      const fit = this.limiter.fitIo();
      if (fit < k) k = fit > 0 ? fit : 1;
    }
    const io = this.limiter.io; // the cell, not arguments: no heap number per send
    io[BL_DUE] = this.headDueNs;
    io[BL_NOW] = now;
    io[BL_AT] = this.headAtNs;
    this.limiter.sentIo(k);
    this.sentInPass = true;
    this.lastSentPcr = this.headPcr && from === 0;
    this.cached = false;
    if (this.views[slot].length !== len) {
      const at = slot * v.slotBytes;
      this.slots[slot] = this.buf.subarray(at, at + RTP_HEADROOM + len);
      this.views[slot] = this.buf.subarray(at + RTP_HEADROOM, at + RTP_HEADROOM + len);
    }
    this.staggered = true;
    let out = this.slots[slot];
    let ts = this.views[slot];
    if (k < packets) {
      // One part: copied into a slot of its own, with room for its RTP header.
      const s = from === 0 ? this.firstPart : this.restPart;
      copyBytes(v.data, slot * v.slotBytes + RTP_HEADROOM + from * TS, s.buf, RTP_HEADROOM, k * TS);
      out = s.slots[k];
      ts = s.views[k];
    }
    // Past the send licence (cluster fencing): the datagram goes, unsent, as if sent.
    // (Counted once per datagram, when it is done.)
    const licence = this.licence;
    const unlicensed = licence !== null && licence[0]! > 0 && now > licence[0]!;
    if (!unlicensed) {
      const st = this.sendTimes;
      st[SEND_PCR27] = v.meta[slot * 2 + 1];
      st[SEND_DUE] = v.meta[slot * 2];
      this.output.send(out, ts, st);
    }
    const st = v.stats;
    st[ST_BYTES] += k * TS;
    if (lateNs > ls.lateMaxNs) ls.lateMaxNs = lateNs;
    if (ownNs > ls.ownLateMaxNs) ls.ownLateMaxNs = ownNs;
    if (from + k < packets) {
      // The first part: the datagram (and its slot) is done when the rest has gone.
      st[ST_SPLIT]++;
      this.headDone = from + k;
      this.hold();
      return;
    }
    // A datagram done (whole, or its rest): counted once, as late as its last byte.
    this.headDone = 0;
    if (unlicensed) this.loopStats.unlicensed++;
    Atomics.store(v.ctl, CTL_READ, (read + 1) | 0);
    st[ST_SENT]++;
    if (lateNs > st[ST_LATE_MAX]) st[ST_LATE_MAX] = lateNs;
    if (lateNs > 0) st[ST_LATE_SUM] += lateNs;
    if (relaxed) st[ST_RELAXED]++;
    this.lateCell[0] = lateNs;
    st[ST_LATE_HIST + latenessBucket(this.lateCell, 0)]++;
    if (this.output.queued === 0) Atomics.store(v.ctl, CTL_TAIL, (read + 1) | 0);
    else this.hold();
  }

  /** Slots wait for release() (LoopCounters.held counts this queue once). */
  private hold(): void {
    if (this.unreleased) return;
    this.unreleased = true;
    this.loopStats.held++;
  }

  sentPcr(): boolean {
    return this.lastSentPcr;
  }

  /** The loop's sends so far are in the kernel by t[QT_NOW] (BurstLimiter.handed). */
  handed(t: Float64Array): void {
    if (this.sentInPass) {
      this.sentInPass = false;
      this.limiter.io[BL_NOW] = t[QT_NOW];
      this.limiter.handedIo();
      this.cached = false;
    }
  }

  /** Frees sent slots once the socket holds no queued send; copies the error count. */
  release(): void {
    this.v.stats[ST_SEND_ERRORS] = this.output.counters.sendErrors;
    if (this.unreleased && this.output.queued === 0) {
      this.unreleased = false;
      this.loopStats.held--;
      Atomics.store(this.v.ctl, CTL_TAIL, this.v.ctl[CTL_READ]);
    }
  }
}
