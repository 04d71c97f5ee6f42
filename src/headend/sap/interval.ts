// How often SAP re-announces (RFC 2974 §3.1): all announcements on a group share a bandwidth
// limit of 4000 bit/s, so with N announcements of `size` bytes each
//
//   ad_interval = max(300 s, 8 · N · size / limit)
//   interval    = ad_interval + offset,  offset uniform in [-ad_interval/3, +ad_interval/3]
//
// The randomisation keeps many announcers from sending in step.

export const SAP_BANDWIDTH_LIMIT_BPS = 4000;
export const SAP_MIN_INTERVAL_MS = 300_000;

/** The base interval in ms for `count` announcements averaging `avgBytes` each. */
export function sapBaseIntervalMs(count: number, avgBytes: number): number {
  const ms = ((8 * count * avgBytes) / SAP_BANDWIDTH_LIMIT_BPS) * 1000;
  return Math.max(SAP_MIN_INTERVAL_MS, Math.ceil(ms));
}

/** The next interval: the base ±1/3 (random01 in [0, 1), e.g. Math.random). */
export function sapIntervalMs(count: number, avgBytes: number, random01: number): number {
  const base = sapBaseIntervalMs(count, avgBytes);
  const offset = ((random01 * 2 - 1) * base) / 3;
  return Math.round(base + offset);
}
