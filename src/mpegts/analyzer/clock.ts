// Stream time for file analysis: the PCR of one reference PID, interpolated by byte position.
// ISO/IEC 13818-1 §2.4.2.2: bytes between two PCRs arrive at the constant rate the two PCRs
// imply, so the time of a packet after PCR i is PCR_i + (pos - pos_i) / rate, with the rate
// measured between PCR i-1 and PCR i (streaming: the next PCR is not known yet).
//
// Time is in nanoseconds, 0 at the first PCR of the reference PID. Between PCRs it runs at the
// last interval's rate but never past where the next PCR is due at the last spacing: in VBR
// streams (ffmpeg without -muxrate) the byte rate of one interval says little about the next,
// and an unbounded extrapolation could run seconds ahead. So a packet's time is off by less
// than one PCR interval, and may step back by the difference of two PCR spacings. A PCR
// step is trusted as elapsed time when it is forward and ≤ 100 ms, or ≤ 1 s and within 50 ms
// of what the byte count predicts. Anything else (discontinuity_indicator, a jump, a step
// backwards, a 2^33 wrap is handled by pcrDelta) starts a new time base: the clock keeps
// running on bytes at the last rate, so intervals measured across the jump stay meaningful.

import { pcrDelta } from '../packet.js';

export const NS_PER_TICK = 1000 / 27;
const TRUST_NS = 100e6;
const MAX_STEP_NS = 1e9;
const TOLERANCE_NS = 50e6;

export class PcrClock {
  /** PID whose PCRs drive the clock: the first PID seen carrying a PCR. */
  refPid = -1;
  /** False before the first reference PCR: time is unknown. */
  known = false;
  private lastPcr = 0;
  // Read (never written) by Analyzer.packet, which computes at() inline: a fractional number
  // returned from a call that is not inlined is boxed, and that would be once per packet.
  /** Byte position and time (ns) of the last reference PCR. */
  lastPos = 0;
  lastNs = 0;
  /** ns per byte from the last trusted PCR interval; 0 until one is known. */
  nsPerByte = 0;
  /** Length of the last PCR interval (ns): the most the clock runs ahead of the last PCR. */
  capNs = 0;
  /** Byte position and time of the first reference PCR, for the stream's duration. */
  firstPos = 0;
  /** Ns per byte averaged from the first reference PCR to the last trusted one. */
  avgNsPerByte = 0;
  private trustedNs = 0;
  private trustedBytes = 0;

  /** Offers a PCR of `pid` carried by the packet at byte position `pos`. */
  onPcr(pid: number, pcr: number, pos: number, discontinuity: boolean): void {
    if (this.refPid < 0) this.refPid = pid;
    else if (pid !== this.refPid) return;
    if (!this.known) {
      this.known = true;
      this.lastPcr = pcr;
      this.lastPos = pos;
      this.firstPos = pos;
      this.lastNs = 0;
      return;
    }
    const bytes = pos - this.lastPos;
    const stepNs = pcrDelta(pcr, this.lastPcr) * NS_PER_TICK;
    const predicted = bytes * this.nsPerByte;
    const trusted =
      !discontinuity &&
      stepNs > 0 &&
      (stepNs <= TRUST_NS ||
        (stepNs <= MAX_STEP_NS &&
          this.nsPerByte > 0 &&
          Math.abs(stepNs - predicted) <= TOLERANCE_NS));
    let ns: number;
    if (trusted) {
      ns = this.lastNs + stepNs;
      if (bytes > 0) this.nsPerByte = stepNs / bytes;
      this.capNs = stepNs;
      this.trustedNs += stepNs;
      this.trustedBytes += bytes;
      this.avgNsPerByte = this.trustedNs / this.trustedBytes;
    } else {
      ns = this.lastNs + Math.min(predicted, this.capNs);
    }
    this.lastPcr = pcr;
    this.lastPos = pos;
    this.lastNs = ns;
  }

  /** Time (ns) of the byte at `pos`, or -1 when unknown. */
  at(pos: number): number {
    if (!this.known) return -1;
    const d = (pos - this.lastPos) * this.nsPerByte;
    return this.lastNs + (d < this.capNs ? d : this.capNs);
  }

  reset(): void {
    this.refPid = -1;
    this.known = false;
    this.nsPerByte = 0;
    this.capNs = 0;
    this.avgNsPerByte = 0;
    this.trustedNs = 0;
    this.trustedBytes = 0;
  }
}
