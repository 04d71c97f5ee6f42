// An independent reading of an output stream for remux tests: continuity per PID, PCR values
// and spacing, PSI spacing (timed by PCR interpolated over packet index), PTS per PID,
// discontinuity flags. Deliberately simple and separate from the analyzer.

import {
  getPid,
  getCc,
  hasPayload,
  getPcr,
  payloadUnitStart,
  discontinuityIndicator,
  pcrDiff,
  ptsDelta,
} from '../../src/mpegts/packet.js';
import { locatePesTimestamps, readTimestamp } from '../../src/mpegts/pes.js';
import { concatBytes } from '../../src/mpegts/psi/section.js';
import { Analyzer } from '../../src/mpegts/analyzer/analyzer.js';

export interface StreamCheck {
  packets: number;
  pids: Map<number, number>;
  ccErrors: number;
  discontinuities: number;
  /** [packet index, PCR] on the PCR PID. */
  pcrs: [number, number][];
  /** Largest forward PCR step (ms), smallest step (ms). */
  maxPcrGapMs: number;
  minPcrStepMs: number;
  /** Largest gap (ms) between PAT starts and between PMT starts, by PCR-interpolated time. */
  maxPatGapMs: number;
  maxPmtGapMs: number;
  /** PTS per PID in order of appearance. */
  pts: Map<number, number[]>;
}

export function checkStream(ts: Uint8Array, pcrPid: number, pmtPid: number): StreamCheck {
  const n = Math.floor(ts.length / 188);
  const lastCc = new Map<number, number>();
  const pids = new Map<number, number>();
  const pcrs: [number, number][] = [];
  const pts = new Map<number, number[]>();
  const patAt: number[] = [];
  const pmtAt: number[] = [];
  let ccErrors = 0;
  let discontinuities = 0;
  for (let i = 0; i < n; i++) {
    const o = i * 188;
    const pid = getPid(ts, o);
    pids.set(pid, (pids.get(pid) ?? 0) + 1);
    if (pid === 0x1fff) continue;
    if (discontinuityIndicator(ts, o)) discontinuities++;
    const cc = getCc(ts, o);
    const last = lastCc.get(pid);
    if (last !== undefined) {
      const want = hasPayload(ts, o) ? (last + 1) & 15 : last;
      if (cc !== want) ccErrors++;
    }
    lastCc.set(pid, cc);
    if (pid === pcrPid) {
      const pcr = getPcr(ts, o);
      if (pcr >= 0) pcrs.push([i, pcr]);
    }
    if (payloadUnitStart(ts, o)) {
      if (pid === 0) patAt.push(i);
      if (pid === pmtPid) pmtAt.push(i);
      const loc = locatePesTimestamps(ts, o);
      if (loc !== 0) {
        if (!pts.has(pid)) pts.set(pid, []);
        pts.get(pid)!.push(readTimestamp(ts, o + (loc & 0xff)));
      }
    }
  }
  let maxPcrGapMs = 0;
  let minPcrStepMs = Infinity;
  for (let k = 1; k < pcrs.length; k++) {
    const d = pcrDiff(pcrs[k][1], pcrs[k - 1][1]) / 27000;
    maxPcrGapMs = Math.max(maxPcrGapMs, d);
    minPcrStepMs = Math.min(minPcrStepMs, d);
  }
  // Time of packet i: PCR interpolated between the PCRs around it.
  const timeOf = (i: number): number => {
    let k = 0;
    while (k + 1 < pcrs.length && pcrs[k + 1][0] <= i) k++;
    if (k + 1 >= pcrs.length) return NaN;
    const [i0, p0] = pcrs[k];
    const [i1, p1] = pcrs[k + 1];
    return (p0 + ((i - i0) * pcrDiff(p1, p0)) / (i1 - i0)) / 27000;
  };
  const maxGap = (at: number[]): number => {
    let g = 0;
    for (let k = 1; k < at.length; k++) {
      const d = timeOf(at[k]) - timeOf(at[k - 1]);
      if (!Number.isNaN(d)) g = Math.max(g, d);
    }
    return g;
  };
  return {
    packets: n,
    pids,
    ccErrors,
    discontinuities,
    pcrs,
    maxPcrGapMs,
    minPcrStepMs,
    maxPatGapMs: maxGap(patAt),
    maxPmtGapMs: maxGap(pmtAt),
    pts,
  };
}

/**
 * Decode margin of every PES: DTS (else PTS) − the PCR at the PES's first packet (interpolated
 * by packet index between the PCRs around it), in ms, per PID in order of appearance.
 */
export function decodeMargins(ts: Uint8Array, pcrPid: number): Map<number, number[]> {
  const n = Math.floor(ts.length / 188);
  const pcrs: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const pcr = getPid(ts, i * 188) === pcrPid ? getPcr(ts, i * 188) : -1;
    if (pcr >= 0) pcrs.push([i, pcr]);
  }
  const out = new Map<number, number[]>();
  let k = 0;
  for (let i = 0; i < n; i++) {
    const o = i * 188;
    while (k + 1 < pcrs.length && pcrs[k + 1][0] <= i) k++;
    if (k + 1 >= pcrs.length || pcrs[k][0] > i || !payloadUnitStart(ts, o)) continue;
    const loc = locatePesTimestamps(ts, o);
    if (loc === 0) continue;
    const [i0, p0] = pcrs[k];
    const [i1, p1] = pcrs[k + 1];
    const pcr = p0 + ((i - i0) * pcrDiff(p1, p0)) / (i1 - i0);
    const dts = readTimestamp(ts, o + (loc >> 8 || loc & 0xff));
    const pid = getPid(ts, o);
    if (!out.has(pid)) out.set(pid, []);
    out.get(pid)!.push((ptsDelta(dts, Math.floor(pcr / 300) % 2 ** 33) * 300) / 27000);
  }
  return out;
}

/** Concatenates what a Remuxer sink receives. */
export function collector(): { sink: (p: Uint8Array) => void; bytes: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    sink: (p) => parts.push(p.slice()),
    bytes: () => concatBytes(parts),
  };
}

/** Deterministic PRNG for property tests. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** TR 101 290 priority-1 and -2 checks that failed on `out` (our analyzer): `id name count`. */
export function priority12(out: Uint8Array): string[] {
  const a = new Analyzer();
  a.push(out);
  a.end();
  const rep = a.report();
  return [...rep.tr101290.priority1, ...rep.tr101290.priority2]
    .filter((x) => x.errors > 0)
    .map((x) => `${x.id} ${x.name} ${x.errors}`);
}
