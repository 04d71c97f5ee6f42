// Monotonic nanoseconds in process.hrtime.bigint()'s domain (the pacer's due times), read
// through performance.now(): the same CLOCK_MONOTONIC from a fixed origin, without a BigInt per
// read (a hot path reads it per datagram or per source chunk). Each thread that imports this
// measures the origin once: the pair of reads closest together of 20, after the first (slow,
// lazily set up) read of each clock.

const originNs = ((): number => {
  let best = Infinity;
  let origin = 0;
  for (let i = 0; i < 20; i++) {
    const a = performance.now();
    const h = Number(process.hrtime.bigint());
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      origin = h - ((a + b) / 2) * 1e6;
    }
  }
  return origin;
})();

/** Now, monotonic ns (Number(process.hrtime.bigint()) within a few µs). */
export const monotonicNs = (): number => performance.now() * 1e6 + originNs;
