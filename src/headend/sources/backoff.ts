// Restart delays: exponential (initial × 2^n, capped) with ± jitter, forgotten once the source
// has been healthy long enough. Pure: time and randomness come in as arguments.

export interface BackoffOptions {
  /** First delay in ms. Default 500. */
  initialMs?: number;
  /** Cap in ms. Default 10 000. */
  maxMs?: number;
  /** Multiplier per failure. Default 2. */
  factor?: number;
  /** Relative jitter: 0.2 spreads each delay over ±20 %. Default 0.2. */
  jitter?: number;
  /** A run that stayed healthy this long resets the sequence. Default 10 000. */
  healthyMs?: number;
  /** Uniform in [0, 1). Default Math.random. */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly healthyMs: number;
  private readonly random: () => number;
  /** Failures in a row (since the last healthy run). */
  attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 10_000;
    this.factor = opts.factor ?? 2;
    this.jitter = opts.jitter ?? 0.2;
    this.healthyMs = opts.healthyMs ?? 10_000;
    this.random = opts.random ?? Math.random;
  }

  /**
   * Delay before the next start, after a failure.
   * @param healthyForMs how long the failed run had been delivering good data (0 if never)
   */
  next(healthyForMs: number): number {
    if (healthyForMs >= this.healthyMs) this.attempt = 0;
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    const spread = 1 + this.jitter * (2 * this.random() - 1);
    return Math.max(0, Math.round(base * spread));
  }

  reset(): void {
    this.attempt = 0;
  }
}
