// Media Delivery Index, RFC 4445 §3: delay factor (DF) and media loss rate (MLR) per 1-s
// interval of arrival time.
//
// Every push() is one arrival (a UDP datagram, or whatever the caller reads at once): all its
// bytes share its time. Intervals are 1 s on a grid from the stream's first arrival. Within an
// interval starting at T0:
//   VB(i)  = bytes received before arrival i − rate × (T_i − T0)   (and after adding it)
//   DF     = (max VB − min VB) / rate
// rate = `mdiRateBps` when given (RFC 4445's nominal media rate), else the interval's own rate:
// the least-squares slope of the bytes received before each arrival against its time (fitRate).
// Not the interval's bytes over 1 s: a 1-s window holds a whole number of datagrams, so at
// 4 Mbit/s (379.9 datagrams/s) a window of 379 drained 0.25 % slow, VB climbed by one datagram
// over the second, and a perfectly paced stream showed DF 5.1 ms, 1.94 datagrams. The fit has no
// such step and hardly moves with the jitter of single arrivals. A perfectly paced stream shows
// DF equal to one datagram's duration. MLR = TS packets lost to continuity gaps (1.4) in the
// interval. The buffer drains from T0, not from the interval's first arrival, so that a silence
// at the start of an interval shows (drained from its first arrival, a stream that stopped for
// 0.7 s and went on at its rate showed one datagram). A silence of whole intervals yields
// empty intervals (bitrate 0), at most MAX_EMPTY of them in a row.

import type { MdiInterval, MdiReport } from './report.js';

const INTERVAL_NS = 1e9;
const MAX_EMPTY = 3600;

export class MdiMeter {
  private started = false;
  private t0 = 0;
  /** Start of the current interval, ns relative to t0. */
  private start = 0;
  private times = new Float64Array(1024);
  private sizes = new Float64Array(1024);
  private n = 0;
  private lost = 0;
  private lastT = 0;
  readonly intervals: MdiInterval[] = [];

  constructor(private readonly nominalBps = 0) {}

  /** Time base: arrival ns minus the first arrival. */
  relative(arrivalNs: number): number {
    if (!this.started) return 0;
    return arrivalNs - this.t0;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Must be called before relative(): fixes the first arrival. */
  begin(arrivalNs: number): void {
    if (this.started) return;
    this.started = true;
    this.t0 = arrivalNs;
    this.start = 0;
  }

  /** One arrival of `bytes` at relative time t (ns), carrying `lost` packets lost before it. */
  arrival(t: number, bytes: number, lost: number): void {
    if (t < this.lastT) t = this.lastT; // arrival times never go back
    this.lastT = t;
    if (t >= this.start + INTERVAL_NS) {
      this.close(true);
      let k = Math.floor((t - this.start) / INTERVAL_NS);
      // Empty intervals for a silence in the arrivals.
      let empties = 0;
      while (k > 1 && empties < MAX_EMPTY) {
        this.start += INTERVAL_NS;
        this.intervals.push({ startSec: this.start / 1e9, df_ms: 0, mlr: 0, bitrate: 0 });
        k--;
        empties++;
      }
      this.start = t - ((t - this.start) % INTERVAL_NS);
      if (this.start > t) this.start = t;
    }
    if (this.n === this.times.length) this.grow();
    this.times[this.n] = t;
    this.sizes[this.n] = bytes;
    this.n++;
    this.lost += lost;
  }

  /** Closes the interval in progress (end of input). */
  end(): void {
    this.close(false);
  }

  private grow(): void {
    const t = new Float64Array(this.times.length * 2);
    t.set(this.times);
    this.times = t;
    const s = new Float64Array(this.sizes.length * 2);
    s.set(this.sizes);
    this.sizes = s;
  }

  private close(complete: boolean): void {
    const n = this.n;
    if (n === 0) return;
    let total = 0;
    for (let i = 0; i < n; i++) total += this.sizes[i];
    const first = this.times[0];
    const span = this.times[n - 1] - first;
    // Measured rate in bytes per ns (the interval's bitrate).
    let measured = 0;
    if (complete) measured = total / INTERVAL_NS;
    else if (span > 0) measured = (total - this.sizes[n - 1]) / span;
    const fitted = this.fitRate();
    const rate = this.nominalBps > 0 ? this.nominalBps / 8 / 1e9 : fitted > 0 ? fitted : measured;
    let df = 0;
    if (rate > 0) {
      let vbMin = 0;
      let vbMax = 0;
      let before = 0;
      for (let i = 0; i < n; i++) {
        const drain = rate * (this.times[i] - this.start);
        const vb0 = before - drain;
        before += this.sizes[i];
        const vb1 = before - drain;
        if (vb0 < vbMin) vbMin = vb0;
        if (vb1 > vbMax) vbMax = vb1;
      }
      df = (vbMax - vbMin) / rate / 1e6;
    }
    this.intervals.push({
      startSec: this.start / 1e9,
      df_ms: df,
      mlr: this.lost,
      bitrate: measured * 8e9,
    });
    this.n = 0;
    this.lost = 0;
  }

  /**
   * The interval's rate in bytes per ns: the least-squares slope of the bytes received before
   * arrival i against its time, over the interval's arrivals (0 when fewer than 3, or all at one
   * time). Two passes, about the means, so that the sums stay exact in doubles at any rate.
   */
  private fitRate(): number {
    const n = this.n;
    if (n < 3) return 0;
    const times = this.times;
    const sizes = this.sizes;
    let tMean = 0;
    let bMean = 0;
    let before = 0;
    for (let i = 0; i < n; i++) {
      tMean += times[i];
      bMean += before;
      before += sizes[i];
    }
    tMean /= n;
    bMean /= n;
    let stb = 0;
    let stt = 0;
    before = 0;
    for (let i = 0; i < n; i++) {
      const dt = times[i] - tMean;
      stb += dt * (before - bMean);
      stt += dt * dt;
      before += sizes[i];
    }
    return stt > 0 ? stb / stt : 0;
  }

  report(): MdiReport {
    let max = 0;
    let sum = 0;
    let lost = 0;
    for (const i of this.intervals) {
      if (i.df_ms > max) max = i.df_ms;
      sum += i.df_ms;
      lost += i.mlr;
    }
    return {
      intervals: this.intervals.slice(),
      dfMaxMs: max,
      dfAvgMs: this.intervals.length ? sum / this.intervals.length : 0,
      mlrTotal: lost,
    };
  }
}
