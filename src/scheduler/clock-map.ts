// Maps a channel's stream time (PCR, 27 MHz, unwrapped) to due times on the monotonic clock.
//
// The first call anchors: due = now + latency. After that a datagram is due at
//   due = baseNs + (pcr27 − basePcr) / 27 MHz × (1 + skew)
// where skew (dimensionless, bounded by ±MAX_SKEW) is the drift correction: a source whose 27 MHz
// clock runs fast (or slow) against ours would otherwise make the queue grow (or run dry)
// without bound. The skew is the output's system clock as a decoder sees it (PCR values against
// arrival times), so it keeps to ISO/IEC 13818-1 2.4.2.1: once locked it changes by at most
// 0.075 Hz/s of 27 MHz (LOCKED_SLEW, 0.0028 ppm a second).
//
// The controller watches the lead (how far ahead of now each datagram is scheduled when it is
// produced: how much the channel's queue holds). Its setpoint is the mean lead over
// CALIBRATE_NS, from SETTLE_NS after anchoring (a producer that delivers in chunks runs a little
// deeper than `latency` on average; that is not drift), measured afresh whenever the owner
// changes the queue's depth on purpose (recalibrate: a new input spliced in, filler topping the
// queue up). The skew it steers to is the sum of
// - the frequency: minus the source's rate against our clock, as DriftEstimate measures it from
//   the lead's slope, taken only when it differs from the one held by more than its noise;
// - the phase: with the lead (filtered over PHASE_FILTER_NS) more than DEADBAND_NS off the
//   setpoint, a correction proportional to the rest, at most MAX_PHASE_RATE, whose own rate of
//   change stays within LOCKED_SLEW.
// The skew moves towards that at LOCKED_SLEW, or at FAST_SLEW while a new source's rate is
// acquired (after the setpoint, until the rate is known within ACQUIRED_SE, ACQUIRE_MAX_NS at
// most: a decoder locks afresh at a splice too) and while the queue is chased: more than half
// its setpoint off (the source, or this machine's clock, changed rate faster than the standard
// allows; counted), brought back by up to MAX_CHASE_RATE to within half of that. Whenever skew
// changes, the base moves to the current point so due times stay continuous.
//
// Re-anchoring: a stream time jump (backwards, or forward by more than MAX_PCR_STEP) continues the
// schedule where it stopped (one datagram step after the last due time, or now + latency if the
// queue ran dry); a datagram that would be due more than `latency` in the past (the producer
// stalled while stream time ran on) re-anchors at now + latency instead of bursting the backlog.
//
// Pure: time comes in as `nowNs` arguments.

import { MAX_PCR_STEP } from '../mpegts/packet.js';
import { DriftEstimate, type DriftEstimateState } from './drift-estimate.js';

const TICKS_PER_NS = 27e6 / 1e9;
/** Largest drift correction: 500 ppm (DVB allows ±30 ppm of a 27 MHz source; ffmpeg more). */
const MAX_SKEW = 500e-6;
/**
 * Fastest change of the correction once locked: 0.075 Hz/s of 27 MHz, ISO/IEC 13818-1 2.4.2.1's
 * bound on a system clock's rate of change. A decoder's STC loop is built for no more; the 2 ppm
 * a second allowed before was 720 times that, and the old PI loop (~500 s) alone moved a 10 ppm
 * source's correction ~7 times faster than the bound.
 */
const LOCKED_SLEW = 0.075 / 27e6;
/** Fastest change while a new source's rate is acquired or the queue is chased back: 2 ppm/s. */
const FAST_SLEW = 2e-6;
/**
 * After the setpoint is measured, the source's rate is acquired (the skew may go there at
 * FAST_SLEW) until it is known within ACQUIRED_SE, or for this long at most.
 */
const ACQUIRE_MAX_NS = 600e9;
/** A rate this precise (standard error) is acquired: a steady source's in ~90 s. */
const ACQUIRED_SE = 0.3e-6;
/**
 * A new rate estimate is taken when it is this many standard errors and MIN_RATE_STEP off the
 * one held, and its standard error is at most MAX_ADOPT_SE. A producer in random 10-190 ms
 * chunks shows a rate of 133 ± 39 ppm after a minute (0 in truth), and ±2 ppm over 10 minutes.
 * Through the daemon, a UDP source 20 ppm fast read 29 ppm with 3-5 ppm of error in its first
 * 1-2 minutes (taken, the line ran 9 ppm too fast for 50 s); within 1 ppm it read 18.6-21.6:
 * the source as delivered (its PCRs against their kernel arrival times, captured) ran 20.2 ppm
 * fast over its first minute and 21.9 over its second, 20.1 over four. While
 * the queue is chased, an estimate within a tenth of its step is taken too: a source 200 ppm
 * fast in random 10-190 ms chunks is still known only within 2-3 ppm after 20 minutes.
 */
const SIGNIFICANT = 4;
const MAX_ADOPT_SE = 1e-6;
const MIN_RATE_STEP = 0.2e-6;
/** Time constant of the lead filter the phase correction reads. */
const PHASE_FILTER_NS = 30e9;
/**
 * Largest phase correction: 5 ppm beyond the source's rate, so the output stays near the
 * source's ±30 ppm. Proportional below it, with gain LOCKED_SLEW / MAX_PHASE_RATE (a time
 * constant of 30 minutes): the correction's own rate of change, gain × the lead's rate, then
 * stays within LOCKED_SLEW.
 */
const MAX_PHASE_RATE = 5e-6;
const PHASE_GAIN = LOCKED_SLEW / MAX_PHASE_RATE;
/** Chased (FAST_SLEW) when the lead is further than this and half the setpoint from it. */
const CHASE_MIN_NS = 50e6;
/**
 * While chased, the correction that brings the queue back: the lead's distance from the
 * setpoint over 5 minutes, at most 100 ppm beyond the source's rate.
 */
const CHASE_GAIN = 1 / 300;
const MAX_CHASE_RATE = 100e-6;
/** Time constant of the lead filter for the stats and the chase. */
const LEAD_FILTER_NS = 4e9;
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
  /** The source's rate against our clock as measured, ppm (+ fast); NaN before it is known. */
  sourcePpm: number;
  /** Times the queue was chased back faster than ISO/IEC 13818-1 lets a clock change. */
  chases: number;
}

/** A ClockMap's state (plain numbers): an output moved to another thread keeps its due times. */
export interface ClockMapState {
  anchored: boolean;
  baseNs: number;
  basePcr: number;
  skew: number;
  freq: number;
  leadNs: number;
  phaseNs: number;
  lockAt: number;
  chasing: boolean;
  chases: number;
  drift: DriftEstimateState;
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
  /** The frequency part of the skew: minus the source's rate, once measured. */
  private freq = 0;
  private leadNs = 0;
  private phaseNs = 0;
  /** Monotonic ns from which the skew moves at LOCKED_SLEW only (Infinity: still calibrating). */
  private lockAt = Infinity;
  private chasing = false;
  private chases = 0;
  private readonly drift = new DriftEstimate();
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
      sourcePpm: this.drift.value * 1e6,
      chases: this.chases,
    };
  }

  /** Its state, for a ClockMap that goes on in another thread of this process (one monotonic clock). */
  state(): ClockMapState {
    return {
      anchored: this.anchored,
      baseNs: this.baseNs,
      basePcr: this.basePcr,
      skew: this.skew,
      freq: this.freq,
      leadNs: this.leadNs,
      phaseNs: this.phaseNs,
      lockAt: this.lockAt,
      chasing: this.chasing,
      chases: this.chases,
      drift: this.drift.state(),
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
    const { drift, ...rest } = s;
    Object.assign(this, rest);
    this.drift.restore(drift);
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
   * at 40 channels where the others had 40). The skew is kept, and the new input's rate is
   * acquired afresh (a backup source may run on another clock).
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
    this.drift.reset();
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
    this.lockAt = Infinity;
    this.chasing = false;
    this.drift.reset();
  }

  /** Averages the lead over UPDATE_NS, filters it, and steers skew (rebasing at pcr27). */
  private control(lead: number, nowNs: number, pcr27: number): void {
    this.accSum += lead;
    this.accN++;
    const since = nowNs - this.lastUpdate;
    if (since < UPDATE_NS) return;
    const mean = this.accSum / this.accN;
    this.lastUpdate = nowNs;
    const sum = this.accSum;
    const n = this.accN;
    this.accSum = 0;
    this.accN = 0;
    if (this.setpoint < 0) {
      const settled = nowNs - this.anchorNow - SETTLE_NS;
      if (settled > 0) {
        this.calSum += sum;
        this.calN += n;
      }
      if (settled < CALIBRATE_NS || this.calN === 0) return;
      this.setpoint = this.calSum / this.calN;
      this.leadNs = this.setpoint;
      this.phaseNs = this.setpoint;
      this.lockAt = nowNs + ACQUIRE_MAX_NS;
      return;
    }
    if (this.drift.add(nowNs, since, mean, this.skew)) this.adoptRate(nowNs);
    this.leadNs += (mean - this.leadNs) * Math.min(1, since / LEAD_FILTER_NS);
    this.phaseNs += (mean - this.phaseNs) * Math.min(1, since / PHASE_FILTER_NS);
    // Positive error: the queue runs deeper than wanted (source fast): send faster (skew < 0).
    // Within ±DEADBAND of the setpoint the queue is just breathing (chunked sources, a CBR line
    // catching up after a burst): no phase correction, so the send line stays straight.
    const off = this.phaseNs - this.setpoint;
    const beyond =
      off > DEADBAND_NS ? off - DEADBAND_NS : off < -DEADBAND_NS ? off + DEADBAND_NS : 0;
    let phase = Math.max(-MAX_PHASE_RATE, Math.min(MAX_PHASE_RATE, (beyond / 1e9) * PHASE_GAIN));
    // A chase: the queue half its depth off. It brings the queue back by up to MAX_CHASE_RATE
    // and ends once the queue is within half of that and the skew back where the law above wants.
    const far = this.leadNs - this.setpoint;
    const chaseNs = Math.max(CHASE_MIN_NS, this.setpoint / 2);
    if (!this.chasing && Math.abs(far) > chaseNs) {
      this.chasing = true;
      this.chases++;
    }
    const back = this.chasing && Math.abs(far) > chaseNs / 2;
    if (back) phase = Math.max(-MAX_CHASE_RATE, Math.min(MAX_CHASE_RATE, (far / 1e9) * CHASE_GAIN));
    const want = Math.max(-MAX_SKEW, Math.min(MAX_SKEW, this.freq - phase));
    const sec = since / 1e9;
    const slew = (this.chasing || nowNs < this.lockAt ? FAST_SLEW : LOCKED_SLEW) * sec;
    const next = Math.max(this.skew - slew, Math.min(this.skew + slew, want));
    if (this.chasing && !back && next === want) this.chasing = false;
    if (next === this.skew) return;
    // Rebase so the due time of pcr27 is the same under the old and the new skew.
    this.baseNs += ((pcr27 - this.basePcr) / TICKS_PER_NS) * (1 + this.skew);
    this.basePcr = pcr27;
    this.skew = next;
  }

  /**
   * Takes the source's measured rate as the frequency when it is precise enough and differs by
   * more than its noise. While acquiring, the skew may go all the way there at FAST_SLEW; the
   * acquisition ends once the rate is known within ACQUIRED_SE and the skew got there.
   */
  private adoptRate(nowNs: number): void {
    const rate = this.drift.value;
    const se = this.drift.error;
    if (Number.isNaN(rate)) return;
    const step = Math.abs(-rate - this.freq);
    // Chased, a rate known within a tenth of the step does: the queue cannot wait for better.
    const precise = this.chasing ? Math.max(MAX_ADOPT_SE, step / 10) : MAX_ADOPT_SE;
    if (step > Math.max(SIGNIFICANT * se, MIN_RATE_STEP) && se <= precise)
      this.freq = Math.max(-MAX_SKEW, Math.min(MAX_SKEW, -rate));
    if (nowNs >= this.lockAt) return;
    const reach = nowNs + (Math.abs(this.freq - this.skew) / FAST_SLEW) * 1e9 + UPDATE_NS;
    this.lockAt = se <= ACQUIRED_SE ? reach : Math.max(this.lockAt, reach);
  }
}
