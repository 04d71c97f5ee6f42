// PCR checks per PID: ETSI TR 101 290 §5.2.2 items 2.3a (PCR_repetition_error), 2.3b
// (PCR_discontinuity_indicator_error) and 2.4 (PCR_accuracy_error); ISO/IEC 13818-1 §2.4.2.2
// (PCR semantics), §2.4.3.5 (discontinuity_indicator).
//
// 2.3a  interval between consecutive PCRs of a PID: > 40 ms is an error (TR 101 290 and
//       TS 101 154; exactly 40 ms is not). Intervals over ISO/IEC 13818-1's own limit
//       (§2.7.2, 100 ms) are named apart in the detail. For a file the interval is the PCR
//       step itself, in whole 27 MHz ticks (> 1,080,000), whenever the step is elapsed time
//       (forward, no discontinuity: see 2.3b); only across a discontinuity does it fall back to
//       the analyzer clock. The analyzer clock runs on the first PCR PID's PCRs interpolated
//       by byte position, which in VBR (ffmpeg without -muxrate) runs up to one PCR interval
//       off, so the PCRs of the other programs of an MPTS measured on it looked late when
//       they were not. With arrival times the PCR step is judged the same way, and an arrival
//       gap over 100 ms (a stall in delivery) is an error too; smaller arrival jitter (a busy
//       receiver reads user-space times milliseconds late) is what the MDI delay factor shows.
// 2.3b  PCR step (PCR_i - PCR_i-1, modulo 2^33*300) outside 0..100 ms without
//       discontinuity_indicator. A step > 100 ms that matches the elapsed time within 50 ms is
//       a late PCR (2.3a), not a discontinuity, so one long gap is not counted twice.
// 2.4   the TR's PCR_AC: a PCR against the constant-rate line. The line is a least-squares fit
//       of (byte position, PCR) over the K = 4 PCRs before and the 4 after on the same PID,
//       leaving out the PCR under test, evaluated at its byte position; |deviation| > 500 ns
//       (13.5 ticks) is an error. Leaving the point out means one bad PCR shows its whole
//       error and moves its neighbours' estimate by only about 1/8 of it; fitting 8 points
//       instead of interpolating between two halves the effect of the neighbours' own jitter.
//       A discontinuity restarts the window, and so does any sign that bytes were lost or
//       added (CC gap or duplicate on any PID, sync loss). PCRs within K of a discontinuity or of the end
//       of input are not assessed.
//       VBR: the TR's method assumes a constant transport rate. Muxers such as ffmpeg without
//       -muxrate write PCRs from DTS, so bytes and PCRs are not proportional and deviations of
//       milliseconds are normal. A PID where more than 20 % of the assessed PCRs (at least 10)
//       are off by more than 25 µs — far beyond any CBR muxer's rounding — is reported as VBR
//       and not counted against 2.4; the detail says so. A PCR off the 8-point line but within
//       125 ns of the line of the K PCRs on one side of it, themselves on one line within
//       125 ns, marks a change of rate (a muxer whose rate is constant between PCRs, as ours in
//       VBR): a rate step, not an error; steps count towards VBR like gross deviations.

import { pcrDelta } from '../packet.js';
import { CK, CheckCounters } from './checks.js';
import { NS_PER_TICK } from './clock.js';

/** 2.3a: PCR interval limit, TR 101 290 / TS 101 154 (40 ms), in ns and in 27 MHz ticks. */
export const PCR_REPETITION_NS = 40e6;
export const PCR_REPETITION_TICKS = 40 * 27_000;
/** ISO/IEC 13818-1 §2.7.2: PCRs at most 100 ms apart (named in the 2.3a detail). */
export const PCR_ISO_LIMIT_NS = 100e6;
export const PCR_STEP_MAX_NS = 100e6;
export const PCR_ACCURACY_NS = 500;
const CONSISTENT_NS = 50e6;
const K = 4;
const W = 2 * K + 1;
const GROSS_NS = 25_000;
const VBR_MIN_SAMPLES = 10;
const VBR_FRACTION = 0.2;
/** How closely a PCR and the K on one side of it must share a line to be a rate step. */
const STEP_FIT_NS = PCR_ACCURACY_NS / 4;
/** Marks a pending evaluation that a rate step explains (not a deviation). */
const STEP = Number.POSITIVE_INFINITY;
/**
 * Evaluations held back before they count: a lost packet is only noticed at the next packet
 * of its PID, and PCRs fitted across the loss must not count as inaccurate (see lost()).
 */
const PENDING = 2 * K;

/** Accuracy state of one PCR PID (allocated on its first PCR). */
class PcrWindow {
  readonly y = new Float64Array(W);
  readonly x = new Float64Array(W);
  readonly t = new Float64Array(W);
  n = 0;
  head = 0;
  lastValue = 0;
  lastRaw = 0;
  // Evaluations not yet counted: (deviation, time, newest byte position used), oldest first.
  private readonly pDev = new Float64Array(PENDING);
  private readonly pNs = new Float64Array(PENDING);
  private readonly pX = new Float64Array(PENDING);
  private pN = 0;
  samples = 0;
  errors = 0;
  gross = 0;
  /** Evaluations explained by a change of rate (see onSide). */
  steps = 0;
  maxAbsNs = 0;
  firstErrNs = -1;

  restart(): void {
    this.n = 0;
  }

  /** Adds a PCR; evaluates the PCR K places back when the window is full. */
  add(raw: number, pos: number, ns: number): void {
    const v = this.n === 0 ? 0 : this.lastValue + pcrDelta(raw, this.lastRaw);
    this.lastValue = v;
    this.lastRaw = raw;
    const h = this.head;
    this.y[h] = v;
    this.x[h] = pos;
    this.t[h] = ns;
    this.head = h + 1 === W ? 0 : h + 1;
    this.n++;
    if (this.n < W) return;
    // The oldest entry is at head; the centre is K after it.
    const c = (this.head + K) % W;
    const xc = this.x[c];
    const yc = this.y[c];
    let sx = 0;
    let sy = 0;
    for (let j = 0; j < W; j++) {
      if (j === c) continue;
      sx += this.x[j] - xc;
      sy += this.y[j] - yc;
    }
    const mx = sx / (W - 1);
    const my = sy / (W - 1);
    let sxx = 0;
    let sxy = 0;
    for (let j = 0; j < W; j++) {
      if (j === c) continue;
      const dx = this.x[j] - xc - mx;
      sxx += dx * dx;
      sxy += dx * (this.y[j] - yc - my);
    }
    if (sxx === 0) return;
    const expected = my - (sxy / sxx) * mx; // fitted line at dx = 0, relative to yc
    let dev = -expected * NS_PER_TICK;
    // A rate step, not an error: the PCR is off the 8-point line but lies on the constant-rate
    // line of the K PCRs on one side of it, which lie on one line themselves (a VBR muxer's
    // piecewise-constant rate). Both within STEP_FIT_NS: jitter hardly ever looks like that.
    if (Math.abs(dev) > PCR_ACCURACY_NS && (this.onSide(c, -1) || this.onSide(c, 1))) dev = STEP;
    if (this.pN === PENDING) this.commitOldest();
    this.pDev[this.pN] = dev;
    this.pNs[this.pN] = this.t[c];
    this.pX[this.pN] = pos;
    this.pN++;
  }

  /**
   * Whether the K PCRs on one side of entry c (dir −1 before, +1 after) fit one line within
   * STEP_FIT_NS and that line meets entry c within it too.
   */
  private onSide(c: number, dir: number): boolean {
    const xc = this.x[c];
    const yc = this.y[c];
    let sx = 0;
    let sy = 0;
    for (let i = 1; i <= K; i++) {
      const j = (c + dir * i + W) % W;
      sx += this.x[j] - xc;
      sy += this.y[j] - yc;
    }
    const mx = sx / K;
    const my = sy / K;
    let sxx = 0;
    let sxy = 0;
    for (let i = 1; i <= K; i++) {
      const j = (c + dir * i + W) % W;
      const dx = this.x[j] - xc - mx;
      sxx += dx * dx;
      sxy += dx * (this.y[j] - yc - my);
    }
    if (sxx === 0) return false;
    const slope = sxy / sxx;
    const tol = STEP_FIT_NS / NS_PER_TICK;
    for (let i = 1; i <= K; i++) {
      const j = (c + dir * i + W) % W;
      const fit = my + slope * (this.x[j] - xc - mx);
      if (Math.abs(this.y[j] - yc - fit) > tol) return false;
    }
    return Math.abs(my - slope * mx) <= tol;
  }

  /** Bytes were lost or added after byte position lossPos: forget what used later bytes. */
  lost(lossPos: number): void {
    this.n = 0;
    let k = 0;
    while (k < this.pN && this.pX[k] <= lossPos) k++;
    this.pN = k;
  }

  private commitOldest(): void {
    const a = Math.abs(this.pDev[0]);
    this.samples++;
    if (this.pDev[0] === STEP) {
      this.steps++;
      this.shiftPending();
      return;
    }
    if (a > this.maxAbsNs) this.maxAbsNs = a;
    if (a > GROSS_NS) this.gross++;
    if (a > PCR_ACCURACY_NS) {
      this.errors++;
      if (this.firstErrNs < 0) this.firstErrNs = this.pNs[0];
    }
    this.shiftPending();
  }

  private shiftPending(): void {
    this.pDev.copyWithin(0, 1, this.pN);
    this.pNs.copyWithin(0, 1, this.pN);
    this.pX.copyWithin(0, 1, this.pN);
    this.pN--;
  }

  /** Counts every pending evaluation (end of input, or a report). */
  flush(): void {
    while (this.pN > 0) this.commitOldest();
  }
}

export interface PcrPidStats {
  pid: number;
  count: number;
  samples: number;
  errors: number;
  maxAbsNs: number;
  /** PCRs at a change of rate, not counted as deviations. */
  steps: number;
  vbr: boolean;
  firstErrNs: number;
}

/** One PCR PID's state: PCRs seen, the last one and when it came, its accuracy window. */
interface PcrPid {
  count: number;
  lastPcr: number;
  lastNs: number;
  w: PcrWindow;
}

export class PcrChecker {
  /** By PID, made at its first PCR (a stream has one or a few: no 8192-entry tables). */
  private readonly pids = new Map<number, PcrPid>();

  constructor(private readonly counters: CheckCounters) {}

  /**
   * Bytes were lost or added after byte position lossPos (a continuity gap or duplicate on
   * any PID, lost sync): byte positions no longer measure transmission time across it, so
   * every accuracy window starts again and evaluations that used later PCRs are dropped.
   */
  lost(lossPos: number): void {
    for (const p of this.pids.values()) p.w.lost(lossPos);
  }

  /** PCRs seen on `pid`. */
  countOf(pid: number): number {
    return this.pids.get(pid)?.count ?? 0;
  }

  /**
   * A PCR on `pid` in the packet at byte position `pos`, at analyzer time nowNs (-1 when
   * unknown), discontinuity_indicator `di`; `arrival`: nowNs is an arrival time.
   */
  onPcr(pid: number, pcr: number, pos: number, nowNs: number, di: boolean, arrival: boolean): void {
    let p = this.pids.get(pid);
    if (!p) this.pids.set(pid, (p = { count: 0, lastPcr: 0, lastNs: 0, w: new PcrWindow() }));
    const w = p.w;
    const c = this.counters;
    if (p.count > 0) {
      const lastNs = p.lastNs;
      const elapsed = nowNs >= 0 && lastNs >= 0 ? nowNs - lastNs : -1;
      const stepTicks = pcrDelta(pcr, p.lastPcr);
      const stepNs = stepTicks * NS_PER_TICK;
      let continuous = !di;
      if (!di && (stepNs < 0 || stepNs > PCR_STEP_MAX_NS)) {
        const late = stepNs > 0 && elapsed >= 0 && Math.abs(stepNs - elapsed) <= CONSISTENT_NS;
        if (!late) {
          continuous = false;
          c.error(CK.PCR_DISC, nowNs);
          c.note(CK.PCR_DISC, pidName(pid));
        }
      }
      if (continuous) {
        const byValue = stepTicks > PCR_REPETITION_TICKS ? stepNs : 0;
        const byArrival = arrival && elapsed > PCR_ISO_LIMIT_NS ? elapsed : 0;
        this.repetition(pid, byValue > byArrival ? byValue : byArrival, nowNs);
      } else {
        this.repetition(pid, elapsed, nowNs);
        w.restart();
      }
    }
    p.count++;
    p.lastPcr = pcr;
    p.lastNs = nowNs;
    w.add(pcr, pos, nowNs);
  }

  /** 2.3a for an interval of intervalNs (≤ 0: not over the limit, or unknown). */
  private repetition(pid: number, intervalNs: number, nowNs: number): void {
    if (intervalNs <= PCR_REPETITION_NS) return;
    const c = this.counters;
    c.error(CK.PCR_REP, nowNs);
    c.note(CK.PCR_REP, pidName(pid));
    if (intervalNs > PCR_ISO_LIMIT_NS) c.note(CK.PCR_REP, pidName(pid) + ' > 100 ms');
  }

  /** Counts held-back evaluations (end of input). */
  flush(): void {
    for (const p of this.pids.values()) p.w.flush();
  }

  /** Per-PID PCR figures, VBR classification applied. */
  stats(): PcrPidStats[] {
    const out: PcrPidStats[] = [];
    for (const [pid, p] of [...this.pids].sort((a, b) => a[0] - b[0])) {
      const w = p.w;
      const vbr = w.samples >= VBR_MIN_SAMPLES && w.gross + w.steps > VBR_FRACTION * w.samples;
      out.push({
        pid,
        count: p.count,
        samples: w.samples,
        errors: w.errors,
        maxAbsNs: w.maxAbsNs,
        steps: w.steps,
        vbr,
        firstErrNs: w.firstErrNs,
      });
    }
    return out;
  }

  reset(): void {
    this.pids.clear();
  }
}

export function pidName(pid: number): string {
  return 'PID 0x' + pid.toString(16).padStart(4, '0');
}
