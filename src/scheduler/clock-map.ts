// Maps a channel's stream time (PCR, 27 MHz, unwrapped) to due times on the monotonic clock.
//
// The first call anchors: due = now + latency. After that a datagram is due at
//   due = baseNs + (pcr27 − basePcr) / 27 MHz × (1 + skew)
// where skew (dimensionless, bounded by ±MAX_SKEW) is the slow drift correction: a source whose
// 27 MHz clock runs fast (or slow) against ours would otherwise make the queue grow (or starve)
// without bound. The controller watches the lead — how far ahead of now each datagram is
// scheduled when it is produced, i.e. how much the channel's queue holds — low-pass filtered.
// Its setpoint is the mean lead over CALIBRATE_NS, from SETTLE_NS after anchoring (a producer
// that delivers in chunks runs a little deeper than `latency` on average; that is not drift),
// measured afresh whenever the owner changes the queue's depth on purpose (recalibrate: a new
// input spliced in, filler topping the queue up), and a gentle PI loop on (lead − setpoint)
// steers skew. Whenever skew changes, the base moves to the current point so due times stay
// continuous. Skew moves by at most MAX_SKEW_SLEW per second: a decoder locking its STC to our
// arrivals sees a frequency that changes only slowly.
//
// Re-anchoring: a stream time jump (backwards, or forward by more than MAX_PCR_STEP) continues the
// schedule where it stopped (one datagram step after the last due time, or now + latency if the
// queue ran dry); a datagram that would be due more than `latency` in the past (the producer
// stalled while stream time ran on) re-anchors at now + latency instead of bursting the backlog.
//
// Pure: time comes in as `nowNs` arguments.

import { MAX_PCR_STEP } from '../mpegts/packet.js';

const TICKS_PER_NS = 27e6 / 1e9;
/** Largest drift correction: 500 ppm (DVB allows ±30 ppm of a 27 MHz source; ffmpeg more). */
const MAX_SKEW = 500e-6;
/**
 * Fastest change of the correction: 2 ppm per second. Every change bends the send line that a
 * decoder locks to (and that PCR jitter is measured against), so it must be rare and slow; a
 * 100 ppm source drift moves the queue by only 6 ms a minute, and the queue is `latency` deep.
 */
const MAX_SKEW_SLEW = 2e-6;
/** Time constant of the lead filter. */
const LEAD_FILTER_NS = 4e9;
/** PI gains on the filtered lead error (seconds → dimensionless skew): ~500 s, critically damped. */
const KP = 0.002;
const KI = (KP * KP) / 4;
/** The controller updates at most this often. */
const UPDATE_NS = 100e6;
/** Lead error ignored by the drift controller. */
const DEADBAND_NS = 20e6;
/** Lead is averaged this long to find the setpoint, ... */
const CALIBRATE_NS = 5e9;
/**
 * ... from this long after anchoring or recalibrate(). A new input's queue settles for 1-2 s
 * (bench/scale, 40 channels: up to 100 ms deeper at first); averaged from 0.5 s on for 3 s,
 * one channel's setpoint was 26 ms off its steady depth, beyond the deadband, and its skew went
 * to 9 ppm. From 2 s on for 5 s: at most 4 ms off.
 */
const SETTLE_NS = 2e9;

export interface ClockMapOptions {
  /** How far ahead of now the first datagram is scheduled (the queue's depth), ms. Default 100. */
  latencyMs?: number;
}

export interface ClockMapStats {
  /** Current drift correction in ppm (negative: sending faster than stream time). */
  skewPpm: number;
  /** Filtered lead (queue depth ahead of now) in ms. */
  leadMs: number;
  /** Anchors after the first (stream time jumps, stalls). */
  reanchors: number;
  /** Lead the controller holds (measured after anchoring), ms; -1 while still measuring. */
  setpointMs: number;
}

/** A ClockMap's state (plain numbers): an output moved to another thread keeps its due times. */
export interface ClockMapState {
  anchored: boolean;
  baseNs: number;
  basePcr: number;
  skew: number;
  integral: number;
  leadNs: number;
  anchorNow: number;
  setpoint: number;
  calSum: number;
  calN: number;
  accSum: number;
  accN: number;
  lastUpdate: number;
  lastPcr: number;
  lastDue: number;
  lastStepNs: number;
  reanchors: number;
}

export class ClockMap {
  private readonly latencyNs: number;
  private anchored = false;
  private baseNs = 0;
  private basePcr = 0;
  private skew = 0;
  private integral = 0;
  private leadNs = 0;
  private anchorNow = 0;
  private setpoint = -1;
  private calSum = 0;
  private calN = 0;
  private accSum = 0;
  private accN = 0;
  private lastUpdate = 0;
  private lastPcr = 0;
  private lastDue = 0;
  private lastStepNs = 0;
  private reanchors = 0;

  constructor(opts: ClockMapOptions = {}) {
    const ms = opts.latencyMs ?? 100;
    this.latencyNs = (Number.isFinite(ms) && ms >= 0 ? ms : 100) * 1e6;
  }

  get stats(): ClockMapStats {
    return {
      skewPpm: this.skew * 1e6,
      leadMs: this.leadNs / 1e6,
      reanchors: this.reanchors,
      setpointMs: this.setpoint < 0 ? -1 : this.setpoint / 1e6,
    };
  }

  /** Its state, for a ClockMap that goes on in another thread of this process (one monotonic clock). */
  state(): ClockMapState {
    return {
      anchored: this.anchored,
      baseNs: this.baseNs,
      basePcr: this.basePcr,
      skew: this.skew,
      integral: this.integral,
      leadNs: this.leadNs,
      anchorNow: this.anchorNow,
      setpoint: this.setpoint,
      calSum: this.calSum,
      calN: this.calN,
      accSum: this.accSum,
      accN: this.accN,
      lastUpdate: this.lastUpdate,
      lastPcr: this.lastPcr,
      lastDue: this.lastDue,
      lastStepNs: this.lastStepNs,
      reanchors: this.reanchors,
    };
  }

  /** Goes on from another ClockMap's state(): the same line from stream time to due time. */
  restore(s: ClockMapState): void {
    Object.assign(this, s);
  }

  /**
   * Whether the next datagram (going on in stream time) is anchored afresh `latency` ahead of
   * nowNs: nothing was scheduled yet, or the last due time fell behind by more than the queue
   * holds (dueNs below re-anchors it).
   */
  anchorsAfresh(nowNs: number): boolean {
    return !this.anchored || this.lastDue < nowNs - Math.max(this.latencyNs, 20e6);
  }

  /**
   * The owner changed the queue's depth on purpose at nowNs (a new input spliced in, filler
   * topping the queue up): the lead the controller holds is measured afresh, from SETTLE_NS on.
   * Held to the old setpoint, a channel whose source started after a few seconds of filler
   * (the setpoint then measured on the filler, 150 ms shallower) slewed its skew to −34 ppm in
   * 20 s, bending its send line by ±60 µs over the bench's 20 s capture (PCR jitter p99 114 µs
   * at 40 channels where the others had 40). The skew is kept: a splice does not change the
   * source's drift.
   */
  recalibrate(nowNs: number): void {
    if (!this.anchored) return;
    this.lastUpdate = nowNs;
    this.calibrate();
  }

  /** Due time (monotonic ns) of the datagram whose stream time is pcr27, produced at nowNs. */
  dueNs(pcr27: number, nowNs: number): number {
    if (!this.anchored) {
      this.anchored = true;
      this.anchor(pcr27, nowNs + this.latencyNs, nowNs);
      this.calibrate();
      return this.remember(pcr27, this.baseNs);
    }
    const step = pcr27 - this.lastPcr;
    if (step < 0 || step > MAX_PCR_STEP) {
      // A new timeline: continue one step after the last datagram, never sooner than the queue needs.
      this.reanchors++;
      const next = Math.max(this.lastDue + this.lastStepNs, nowNs + Math.min(this.latencyNs, 20e6));
      this.anchor(pcr27, next, nowNs);
      return this.remember(pcr27, next);
    }
    let due = this.baseNs + ((pcr27 - this.basePcr) / TICKS_PER_NS) * (1 + this.skew);
    if (due < nowNs - Math.max(this.latencyNs, 20e6)) {
      // The producer stalled while stream time ran on: start afresh rather than burst the backlog.
      this.reanchors++;
      this.anchor(pcr27, nowNs + this.latencyNs, nowNs);
      this.calibrate();
      return this.remember(pcr27, this.baseNs);
    }
    this.control(due - nowNs, nowNs, pcr27);
    due = this.baseNs + ((pcr27 - this.basePcr) / TICKS_PER_NS) * (1 + this.skew);
    return this.remember(pcr27, due);
  }

  private remember(pcr27: number, due: number): number {
    if (pcr27 > this.lastPcr && due > this.lastDue)
      this.lastStepNs = Math.min(due - this.lastDue, 50e6);
    this.lastPcr = pcr27;
    this.lastDue = due;
    return due;
  }

  private anchor(pcr27: number, dueNs: number, nowNs: number): void {
    this.baseNs = dueNs;
    this.basePcr = pcr27;
    this.lastUpdate = nowNs;
  }

  /** Starts measuring the setpoint afresh (after a stall, the old one means nothing). */
  private calibrate(): void {
    this.setpoint = -1;
    this.calSum = 0;
    this.calN = 0;
    this.leadNs = this.latencyNs;
    this.accSum = 0;
    this.accN = 0;
    this.anchorNow = this.lastUpdate;
  }

  /** Averages the lead over UPDATE_NS, filters it, and moves skew with the PI law (rebasing at pcr27). */
  private control(lead: number, nowNs: number, pcr27: number): void {
    this.accSum += lead;
    this.accN++;
    const since = nowNs - this.lastUpdate;
    if (since < UPDATE_NS) return;
    const mean = this.accSum / this.accN;
    this.lastUpdate = nowNs;
    if (this.setpoint < 0) {
      const settled = nowNs - this.anchorNow - SETTLE_NS;
      if (settled > 0) {
        this.calSum += this.accSum;
        this.calN += this.accN;
      }
      this.accSum = 0;
      this.accN = 0;
      if (settled < CALIBRATE_NS || this.calN === 0) return;
      this.setpoint = this.calSum / this.calN;
      this.leadNs = this.setpoint;
      return;
    }
    this.accSum = 0;
    this.accN = 0;
    this.leadNs += (mean - this.leadNs) * Math.min(1, since / LEAD_FILTER_NS);
    const sec = since / 1e9;
    // Positive error: the queue runs deeper than wanted (source fast): send faster (skew < 0).
    // Within ±DEADBAND of the setpoint the queue is just breathing (chunked sources, a CBR line
    // catching up after a burst): no correction, so the send line stays straight.
    const off = this.leadNs - this.setpoint;
    const err =
      (off > DEADBAND_NS ? off - DEADBAND_NS : off < -DEADBAND_NS ? off + DEADBAND_NS : 0) / 1e9;
    this.integral += err * sec;
    const iMax = MAX_SKEW / KI;
    if (this.integral > iMax) this.integral = iMax;
    if (this.integral < -iMax) this.integral = -iMax;
    let want = -(KP * err + KI * this.integral);
    if (want > MAX_SKEW) want = MAX_SKEW;
    if (want < -MAX_SKEW) want = -MAX_SKEW;
    const slew = MAX_SKEW_SLEW * sec;
    const next = Math.max(this.skew - slew, Math.min(this.skew + slew, want));
    if (next === this.skew) return;
    // Rebase so the due time of pcr27 is the same under the old and the new skew.
    this.baseNs += ((pcr27 - this.basePcr) / TICKS_PER_NS) * (1 + this.skew);
    this.basePcr = pcr27;
    this.skew = next;
  }
}
