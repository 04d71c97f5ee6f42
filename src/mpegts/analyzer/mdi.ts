// Media Delivery Index, RFC 4445 §3: delay factor (DF) and media loss rate (MLR) per 1-s
// interval of arrival time.
//
// Every push() is one arrival (a UDP datagram, or whatever the caller reads at once): all its
// bytes share its time. Within an interval starting at T0 (the first arrival in it):
//   VB(i)  = bytes received before arrival i − rate × (T_i − T0)   (and after adding it)
//   DF     = (max VB − min VB) / rate
// rate = `mdiRateBps` when given (the nominal rate), else the interval's own average: its bytes
// over 1 s for a complete interval; for the last, partial one, the bytes before its last
// arrival over the time from its first to its last arrival. A perfectly paced stream shows DF
// equal to one datagram's duration. MLR = TS packets lost to continuity gaps (1.4) in the
// interval. Intervals are aligned to the first arrival; a gap in arrivals yields empty
// intervals (bitrate 0), at most MAX_EMPTY of them in a row.

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
    // Measured rate in bytes per ns.
    let measured = 0;
    if (complete) measured = total / INTERVAL_NS;
    else if (span > 0) measured = (total - this.sizes[n - 1]) / span;
    const rate = this.nominalBps > 0 ? this.nominalBps / 8 / 1e9 : measured;
    let df = 0;
    if (rate > 0) {
      let vbMin = 0;
      let vbMax = 0;
      let before = 0;
      for (let i = 0; i < n; i++) {
        const drain = rate * (this.times[i] - first);
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
