// How fast a source's clock runs against ours, measured from how far ahead of now its queue runs.
//
// A channel's lead (due − now of each datagram as it is produced) moves at f + skew per second:
// f the source's rate against our clock (its stream time comes 1 + f times as fast as ours) and
// skew the correction ClockMap applies. Taking the correction back out,
//   u(t) = lead(t) − ∫ skew dt
// moves at f alone, whatever the controller did meanwhile. The estimate is the least-squares
// slope of u over blocks of BLOCK_NS (each the mean of the lead samples in it), with its
// standard error from the residuals, so a caller can tell a real rate from the queue's
// breathing (a producer that delivers in chunks). ISO/IEC 13818-1 2.4.2.1 bounds a source's
// clock to 27 MHz ± 810 Hz (±30 ppm) changing by at most 0.075 Hz/s: over the 10 minutes held
// (MAX_BLOCKS), f moves by at most 1.7 ppm. A source whose rate jumps (out of the standard, or
// this machine's clock stepping) leaves a kink in those 10 minutes, and their fit a large error;
// the last minute and the last two (WINDOWS) are fitted too, and the fit with the least error
// wins: a steady source's whole 10 minutes (~30 times less error than its last minute alone),
// a jumped one's time since the jump.
//
// Pure: time comes in as arguments.

/** One block: the mean lead over this long. */
const BLOCK_NS = 5e9;
/** Blocks held: 10 minutes. */
const MAX_BLOCKS = 120;
/** Blocks before the first estimate: 20 s. */
const MIN_BLOCKS = 4;
/** The shorter windows fitted besides all blocks held, in blocks: the last 1 and 2 minutes. */
const WINDOWS = [12, 24];

/** A DriftEstimate's state (plain data): an output moved to another thread keeps what it learnt. */
export interface DriftEstimateState {
  times: number[];
  values: number[];
  origin: number;
  sumNs: number;
  blockStart: number;
  blockT: number;
  blockU: number;
  blockN: number;
  rate: number;
  se: number;
}

export class DriftEstimate {
  /** Block centres (s since origin) and mean u (ns), oldest first. */
  private times: number[] = [];
  private values: number[] = [];
  /** Monotonic ns the block times count from (-1: nothing yet). */
  private origin = -1;
  /** ∫ skew dt since origin, ns. */
  private sumNs = 0;
  private blockStart = 0;
  private blockT = 0;
  private blockU = 0;
  private blockN = 0;
  private rate = NaN;
  private se = NaN;

  /** The source's rate against our clock (dimensionless, + fast), or NaN before MIN_BLOCKS. */
  get value(): number {
    return this.rate;
  }

  /** Standard error of `value` (dimensionless), NaN with it. */
  get error(): number {
    return this.se;
  }

  /** Forgets what was measured: the lead jumped on purpose (a new input, a new anchor). */
  reset(): void {
    this.times = [];
    this.values = [];
    this.origin = -1;
    this.sumNs = 0;
    this.blockT = 0;
    this.blockU = 0;
    this.blockN = 0;
    this.rate = NaN;
    this.se = NaN;
  }

  /**
   * A mean lead (ns) over the `sinceNs` before nowNs, during which the correction was `skew`.
   * Returns true when a block closed and the estimate was computed afresh.
   */
  add(nowNs: number, sinceNs: number, leadNs: number, skew: number): boolean {
    if (this.origin < 0) {
      this.origin = nowNs;
      this.blockStart = nowNs;
    } else this.sumNs += skew * sinceNs;
    this.blockT += nowNs - this.origin;
    this.blockU += leadNs - this.sumNs;
    this.blockN++;
    if (nowNs - this.blockStart < BLOCK_NS) return false;
    this.times.push(this.blockT / this.blockN / 1e9);
    this.values.push(this.blockU / this.blockN);
    if (this.times.length > MAX_BLOCKS) {
      this.times.shift();
      this.values.shift();
    }
    this.blockStart = nowNs;
    this.blockT = 0;
    this.blockU = 0;
    this.blockN = 0;
    this.fit();
    return true;
  }

  /** The rate and error of the fit with the least error, over all blocks and the last WINDOWS. */
  private fit(): void {
    const n = this.times.length;
    if (n < MIN_BLOCKS) return;
    this.fitLast(n);
    const rate = this.rate;
    const se = this.se;
    for (const w of WINDOWS) {
      if (w >= n) continue;
      this.fitLast(w);
      if (this.se < se) return;
      this.rate = rate;
      this.se = se;
    }
  }

  /** Least squares u = a + b·t over the last n blocks: rate b (ns/s → dimensionless), its error. */
  private fitLast(last: number): void {
    const n = this.times.length;
    const from = n - last;
    let tm = 0;
    let um = 0;
    for (let i = from; i < n; i++) {
      tm += this.times[i];
      um += this.values[i];
    }
    tm /= last;
    um /= last;
    let sxx = 0;
    let sxy = 0;
    for (let i = from; i < n; i++) {
      const dt = this.times[i] - tm;
      sxx += dt * dt;
      sxy += dt * (this.values[i] - um);
    }
    const b = sxy / sxx;
    let ss = 0;
    for (let i = from; i < n; i++) {
      const r = this.values[i] - um - b * (this.times[i] - tm);
      ss += r * r;
    }
    this.rate = b / 1e9;
    this.se = Math.sqrt(ss / (last - 2) / sxx) / 1e9;
  }

  state(): DriftEstimateState {
    return {
      times: [...this.times],
      values: [...this.values],
      origin: this.origin,
      sumNs: this.sumNs,
      blockStart: this.blockStart,
      blockT: this.blockT,
      blockU: this.blockU,
      blockN: this.blockN,
      rate: this.rate,
      se: this.se,
    };
  }

  restore(s: DriftEstimateState): void {
    Object.assign(this, s, { times: [...s.times], values: [...s.values] });
  }
}
