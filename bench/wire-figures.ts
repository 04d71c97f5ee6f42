// Figures of one output as captured on the wire (bench/pcap.ts), for the benches that judge
// whole programs (bench/dvblast.ts, bench/modes.ts): PCR overall jitter (PCR against arrival,
// linear trend removed), RFC 4445 DF (max, and the median second's), burst (most bytes in any
// 10 ms against the mean rate's share), datagram sizes, losses and TR 101 290 CC errors.
import { Analyzer } from '../src/mpegts/analyzer/index.js';
import { PcrArrivals } from './pcr-arrivals.js';
import type { Packet } from './receiver.js';

/** One full datagram (7 TS packets). */
const DG = 1316;

export interface OutputFigures {
  phase: string;
  tool: string;
  service: number;
  datagrams: number;
  bitrate: number;
  /** Datagram payload sizes, `size: count`. */
  sizes: Record<string, number>;
  pcrJitterP50Us: number;
  pcrJitterP99Us: number;
  pcrJitterMaxUs: number;
  dfMaxMs: number;
  /** The median second's DF (the steady state; the max is often one stall). */
  dfMedianMs: number;
  /** One datagram's duration at the output's mean rate, ms. */
  datagramMs: number;
  /** dfMaxMs ÷ datagramMs: 1.0 is a perfectly paced stream. */
  dfDatagrams: number;
  burstRatio: number;
  lostPackets: number;
  ccErrors: number;
  priority1: number;
  priority2: number;
}

export function figures(
  phase: string,
  tool: string,
  service: number,
  all: Packet[],
  fromNs: number,
  toNs: number,
): OutputFigures {
  const list = all.filter((p) => p.ns >= fromNs && p.ns <= toNs);
  const a = new Analyzer();
  const pairs = new PcrArrivals();
  const { xs, ys } = pairs;
  const sizes: Record<string, number> = {};
  for (const p of list) {
    sizes[p.size] = (sizes[p.size] ?? 0) + 1;
    a.push(p.data, p.ns);
    pairs.push(p.data, 0, p.ns);
  }
  a.end();
  const rep = a.report();
  const jit = detrendedResiduals(xs, ys);
  const pct = (q: number): number =>
    jit.length ? jit[Math.min(jit.length - 1, Math.floor(q * jit.length))] : NaN;
  // Burst: most bytes in any 10 ms window of arrivals, against the mean rate's 10 ms share.
  let bytes = 0;
  let maxBytes = 0;
  for (let i = 0, j = 0; i < list.length; i++) {
    bytes += list[i].size;
    while (list[i].ns - list[j].ns >= 10e6) bytes -= list[j++].size;
    if (bytes > maxBytes) maxBytes = bytes;
  }
  const seconds = list.length > 1 ? (list[list.length - 1].ns - list[0].ns) / 1e9 : 0;
  const bitrate = seconds > 0 ? (list.reduce((s, p) => s + p.size, 0) * 8) / seconds : 0;
  const datagramMs = bitrate > 0 ? ((DG * 8) / bitrate) * 1e3 : NaN;
  const dfMaxMs = rep.mdi?.dfMaxMs ?? NaN;
  const dfs = (rep.mdi?.intervals ?? []).filter((v) => v.bitrate > 0).map((v) => v.df_ms);
  const dfMedianMs = dfs.length ? dfs.sort((x, y) => x - y)[dfs.length >> 1] : NaN;
  const cc = rep.tr101290.priority1.find((c) => c.id === '1.4');
  return {
    phase,
    tool,
    service,
    datagrams: list.length,
    bitrate,
    sizes,
    pcrJitterP50Us: pct(0.5),
    pcrJitterP99Us: pct(0.99),
    pcrJitterMaxUs: jit.length ? jit[jit.length - 1] : NaN,
    dfMaxMs,
    dfMedianMs,
    datagramMs,
    dfDatagrams: dfMaxMs / datagramMs,
    burstRatio: bitrate > 0 ? maxBytes / ((bitrate / 8) * 0.01) : NaN,
    lostPackets: rep.mdi?.mlrTotal ?? 0,
    ccErrors: cc?.errors ?? 0,
    priority1: rep.priority1Errors,
    priority2: rep.priority2Errors,
  };
}

/**
 * |arrival − (c + m·PCR)| in µs, sorted: the PCR overall jitter. The line is a least-squares
 * fit made twice, the second time without the 2 % of points furthest from the first: on a busy
 * box a few sends held back by 100 ms or more would otherwise tilt the line and show up as
 * jitter of every other PCR (p50 and p99 then measure one stall). Every point's residual is
 * kept, so the max still shows the stall. Both tools are measured the same way.
 */
function detrendedResiduals(xs: number[], ys: number[]): Float64Array {
  const n = xs.length;
  if (n < 3) return new Float64Array(0);
  const x0 = xs[0];
  const y0 = ys[0];
  const fit = (use: (i: number) => boolean): [number, number] => {
    let k = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      if (!use(i)) continue;
      const x = xs[i] - x0;
      const y = ys[i] - y0;
      k++;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const m = (k * sxy - sx * sy) / (k * sxx - sx * sx);
    return [m, (sy - m * sx) / k];
  };
  const residuals = ([m, c]: [number, number]): Float64Array => {
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) r[i] = Math.abs(ys[i] - y0 - (c + m * (xs[i] - x0))) * 1e6;
    return r;
  };
  const first = residuals(fit(() => true));
  const cut = Float64Array.from(first).sort()[Math.floor(0.98 * (n - 1))];
  return residuals(fit((i) => first[i] <= cut)).sort();
}

export type Key =
  'pcrJitterP50Us' | 'pcrJitterP99Us' | 'pcrJitterMaxUs' | 'dfDatagrams' | 'burstRatio';
export const PACING: Key[] = [
  'pcrJitterP50Us',
  'pcrJitterP99Us',
  'pcrJitterMaxUs',
  'dfDatagrams',
  'burstRatio',
];

/** Worst of a tool's outputs in one phase (and its losses summed). */
export function worstOf(rows: OutputFigures[]) {
  const max = (k: Key | 'dfMaxMs' | 'dfMedianMs'): number => Math.max(...rows.map((r) => r[k]));
  return {
    pcrJitterP50Us: max('pcrJitterP50Us'),
    pcrJitterP99Us: max('pcrJitterP99Us'),
    pcrJitterMaxUs: max('pcrJitterMaxUs'),
    dfMedianMs: max('dfMedianMs'),
    dfMaxMs: max('dfMaxMs'),
    dfDatagrams: max('dfDatagrams'),
    burstRatio: max('burstRatio'),
    lostPackets: rows.reduce((s, r) => s + r.lostPackets, 0),
    ccErrors: rows.reduce((s, r) => s + r.ccErrors, 0),
  };
}
