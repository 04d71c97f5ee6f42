// Decode margin per stream: DTS (PTS when there is no DTS) minus the decoder's clock when the
// PES header arrives. ISO/IEC 13818-1 §2.4.2.2 (the STC is reconstructed from PCR; bytes
// between two PCRs arrive at the constant rate the two imply), §2.7.4 and §2.4.2.6 (T-STD:
// data spends at most one second in the decoder buffers: DTS − arrival ≤ 1 s; still
// images excepted) and §2.4.3.7 (PTS/DTS, 33 bits at 90 kHz, wrapping at 2^33).
//
// For each PES header with a timestamp on a video or audio PID, the STC at the byte position
// of its packet is interpolated between the two PCRs of the program's PCR_PID around it
// (held until the next PCR arrives), or extrapolated at the last PCR interval's rate when
// there is no next one (end of input, a discontinuity, too many held). The margin is
// (DTS − STC) modulo 2^33, taken in (−2^32, 2^32], in ms:
//   < 0          late: the access unit was due for decoding before it arrived (error);
//   > 1000 ms    beyond the T-STD limit: the buffer would hold it longer than 1 s (error);
//   < warnMs     low decode margin (warning; default 100 ms, configurable).
// Per PID: count, min, max and the three counts. Typed arrays only; nothing per packet.

import { PCR_MODULUS, pcrDelta, ptsDelta } from '../packet.js';

/** PES headers held, all PIDs together, waiting for their PCR_PID's next PCR. */
const CAP = 64;
/** PCR steps trusted for interpolation: forward and at most this many ticks (1 s). */
const MAX_STEP = 27_000_000;
export const T_STD_LIMIT_MS = 1000;
export const DEFAULT_MIN_DTS_MARGIN_MS = 100;

export interface DecodeMarginStream {
  pid: number;
  label: string;
  /** PES headers measured. */
  count: number;
  minMs: number;
  maxMs: number;
  /** DTS − PCR < 0: late (error). */
  late: number;
  /** DTS − PCR > 1000 ms: over the T-STD limit (error). */
  overLimit: number;
  /** 0 ≤ DTS − PCR < the warning threshold: low decode margin (warning). */
  low: number;
}

export interface DecodeMarginReport {
  /** Warning threshold (ms). */
  minMarginMs: number;
  /** Upper limit (ms): ISO/IEC 13818-1 §2.4.2.6, 1 s. */
  maxMarginMs: number;
  /** late + overLimit over all streams. */
  errors: number;
  /** low over all streams. */
  warnings: number;
  streams: DecodeMarginStream[];
}

/** The margins measured on one PES PID. */
interface Margins {
  count: number;
  min: number;
  max: number;
  late: number;
  over: number;
  low: number;
}

/** One PCR PID: how many PCRs seen (up to 2), the last (27 MHz, as read) and its position. */
interface PcrTrack {
  n: number;
  pcr1: number;
  pos1: number;
  /** Ticks per byte of the last trusted interval; 0 when unknown. */
  rate: number;
}

/**
 * Per PID records, made at a PID's first PES or PCR (a stream has a handful of PIDs: 8192-entry
 * arrays of each figure were most of a channel's output monitor, all of it touched at start).
 */
export class DecodeMargin {
  private readonly margins = new Map<number, Margins>();
  private readonly pcrs = new Map<number, PcrTrack>();
  // Held PES headers.
  private readonly hPid = new Int16Array(CAP).fill(-1);
  private readonly hPcrPid = new Int16Array(CAP);
  private readonly hDts = new Float64Array(CAP);
  private readonly hPos = new Float64Array(CAP);
  private readonly hSeq = new Float64Array(CAP);
  private held = 0;
  private seq = 0;

  constructor(private readonly warnMs: number = DEFAULT_MIN_DTS_MARGIN_MS) {}

  /** A PCR of `pid` in the packet at byte position `pos`; `di`: discontinuity_indicator. */
  onPcr(pid: number, pcr: number, pos: number, di: boolean): void {
    let t = this.pcrs.get(pid);
    if (!t) this.pcrs.set(pid, (t = { n: 0, pcr1: 0, pos1: 0, rate: 0 }));
    const n = t.n;
    const step = n > 0 ? pcrDelta(pcr, t.pcr1) : -1;
    const bytes = pos - t.pos1;
    const trusted = n > 0 && !di && step > 0 && step <= MAX_STEP && bytes > 0;
    if (this.held > 0) {
      for (let k = 0; k < CAP; k++) {
        if (this.hPid[k] < 0 || this.hPcrPid[k] !== pid) continue;
        if (trusted) {
          const stc = t.pcr1 + ((this.hPos[k] - t.pos1) * step) / bytes;
          this.record(this.hPid[k], this.hDts[k], stc);
        } else {
          this.extrapolate(k);
        }
        this.hPid[k] = -1;
        this.held--;
      }
    }
    // Bytes per tick stay meaningful across a new time base: the rate is kept until a
    // trusted interval replaces it.
    if (trusted) t.rate = step / bytes;
    t.pcr1 = pcr;
    t.pos1 = pos;
    if (n < 2) t.n = n + 1;
  }

  /** A PES header on `pid` (timed by `pcrPid`, -1 if unknown) at byte position `pos`. */
  onPes(pid: number, pcrPid: number, dts: number, pos: number): void {
    if (pcrPid < 0 || (this.pcrs.get(pcrPid)?.n ?? 0) === 0) return;
    let free = -1;
    let oldest = 0;
    for (let k = 0; k < CAP; k++) {
      if (this.hPid[k] < 0) {
        free = k;
        break;
      }
      if (this.hSeq[k] < this.hSeq[oldest]) oldest = k;
    }
    if (free < 0) {
      this.extrapolate(oldest);
      free = oldest;
    } else {
      this.held++;
    }
    this.hPid[free] = pid;
    this.hPcrPid[free] = pcrPid;
    this.hDts[free] = dts;
    this.hPos[free] = pos;
    this.hSeq[free] = this.seq++;
  }

  /** End of input: every held header is measured by extrapolation. */
  end(): void {
    for (let k = 0; k < CAP; k++) {
      if (this.hPid[k] < 0) continue;
      this.extrapolate(k);
      this.hPid[k] = -1;
    }
    this.held = 0;
  }

  /** Measures held entry k on its PCR PID's last PCR and rate (dropped without a rate). */
  private extrapolate(k: number): void {
    const t = this.pcrs.get(this.hPcrPid[k]);
    if (!t || t.rate <= 0) return;
    this.record(this.hPid[k], this.hDts[k], t.pcr1 + (this.hPos[k] - t.pos1) * t.rate);
  }

  private record(pid: number, dts: number, stc: number): void {
    // 33-bit wrap: the signed distance on the 90 kHz clock (stc may lie past PCR_MODULUS).
    const ms = ptsDelta(dts, (stc % PCR_MODULUS) / 300) / 90;
    let m = this.margins.get(pid);
    if (!m) this.margins.set(pid, (m = { count: 0, min: 0, max: 0, late: 0, over: 0, low: 0 }));
    if (m.count === 0 || ms < m.min) m.min = ms;
    if (m.count === 0 || ms > m.max) m.max = ms;
    m.count++;
    if (ms < 0) m.late++;
    else if (ms > T_STD_LIMIT_MS) m.over++;
    else if (ms < this.warnMs) m.low++;
  }

  report(label: (pid: number) => string): DecodeMarginReport {
    const streams: DecodeMarginStream[] = [];
    let errors = 0;
    let warnings = 0;
    for (const [pid, m] of [...this.margins].sort((a, b) => a[0] - b[0])) {
      errors += m.late + m.over;
      warnings += m.low;
      streams.push({
        pid,
        label: label(pid),
        count: m.count,
        minMs: round1(m.min),
        maxMs: round1(m.max),
        late: m.late,
        overLimit: m.over,
        low: m.low,
      });
    }
    return {
      minMarginMs: this.warnMs,
      maxMarginMs: T_STD_LIMIT_MS,
      errors,
      warnings,
      streams,
    };
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
