// Monitor of a channel's own output: fed with every datagram the channel queues for pacing
// (Channel.tap), it keeps what the metrics and the JSON API show about what actually leaves.
//
// 1. Repetition intervals of PAT, PMT and SDT actual, and of the NIT actual (0x0010, table_id
//    0x40), EIT p/f actual (0x0012, 0x4E), TDT (0x0014, 0x70) and TOT (0x73), TS 101 211 §4.4 (ISO/IEC 13818-1 §2.4.4; ETSI TR 101 290
//    §5.2.1 checks 1.3 and 1.5, EN 300 468 §5.2.3), as Prometheus histograms in seconds. A
//    table "arrives" at the packet where its section_number 0 starts (payload_unit_start on PID
//    0 with table_id 0x00, on the PMT PID learnt from the PAT with table_id 0x02, on 0x0011
//    with table_id 0x42). Its time is the datagram's output time (pcr27, the time of the
//    datagram's first packet) plus its index in the datagram times the packet duration of the
//    previous datagram (its pcr27 step over its packet count): exact while the rate holds,
//    a few packet times off at a rate step; within one datagram's resolution in any case.
// 2. PCR intervals (TR 101 290 §5.2.2 check 2.3): the difference of consecutive PCR values on
//    the same PID (§2.4.3.5, modulo 2^33·300), exact. A step with discontinuity_indicator,
//    backwards, or over 1 s is a new timeline, not an interval, and is not observed.
// 3. Our TR 101 290 analyzer (src/mpegts/analyzer) on the same datagrams, each timed by its
//    due time (arrival mode: the checks are timed on when the datagram is scheduled to leave).
//    Its report() walks all 8192 PIDs and copies the MDI history, so analyzerCounters() caches
//    it for `cacheMs`. The analyzer keeps one MDI interval object per second of input for ever
//    (RFC 4445 history for the CLI report); to stay bounded over days it is replaced every
//    `rotateMs` of output time, its final counts carried into a base. Continuity, PCR and PSI
//    state start again at a rotation, so a fault straddling the boundary may go uncounted.
//
// Per packet nothing is allocated: offsets into the given buffer, state in numbers and typed
// arrays. Histogram snapshots and counter records are built at scrape time only.

import {
  Analyzer,
  type AnalyzerOptions,
  type AnalyzerReport,
} from '../../mpegts/analyzer/index.js';
import { crc32Mpeg2 } from '../../mpegts/crc32.js';
import { MAX_PCR_STEP, PCR_HZ, TS_PACKET_SIZE, pcrDelta, readPcrAt } from '../../mpegts/packet.js';
import type { HistogramSnapshot } from '../metrics/types.js';

/** Upper bounds (s) of the PSI repetition histograms. */
export const PSI_BUCKETS: readonly number[] = [0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1];
/** Upper bounds (s) of the SI repetition histograms (NIT, EIT p/f, TDT, TOT). */
export const SI_BUCKETS: readonly number[] = [0.5, 1, 1.5, 2, 3, 5, 10, 30];
/** Upper bounds (s) of the PCR interval histogram. */
export const PCR_BUCKETS: readonly number[] = [0.005, 0.01, 0.02, 0.03, 0.04, 0.06, 0.1, 0.5];

const NULL_PID = 0x1fff;
const SDT_PID = 0x0011;
const NIT_PID = 0x0010;
const EIT_PID = 0x0012;
const TDT_PID = 0x0014;

export interface OutputMonitorOptions {
  /** Options of the TR 101 290 analyzer. */
  analyzer?: AnalyzerOptions;
  /** Output time (ms, by due time) after which the analyzer is replaced. Default 1 h. */
  rotateMs?: number;
  /** How long analyzerCounters() reuses a report. Default 1000 ms. */
  cacheMs?: number;
  /** Monotonic clock in ms for the cache (default performance.now). */
  nowMs?: () => number;
}

/** A Prometheus-style histogram accumulated with plain arrays (no per-observation allocation). */
class Histogram {
  private readonly bounds: Float64Array;
  /** Observations per bucket, not cumulative; the last slot is above every bound. */
  private readonly perBucket: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(private readonly buckets: readonly number[]) {
    this.bounds = Float64Array.from(buckets);
    this.perBucket = new Float64Array(buckets.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.perBucket[i]++;
    this.sum += v;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    const counts: number[] = [];
    let c = 0;
    for (let i = 0; i < this.bounds.length; i++) counts.push((c += this.perBucket[i]));
    return { buckets: this.buckets.slice(), counts, sum: this.sum, count: this.count };
  }
}

/** Names of analyzerCounters() keys by TR 101 290 check id (errors of that check). */
const CHECK_KEYS: readonly (readonly [string, string])[] = [
  ['1.1', 'syncLossErrors'],
  ['1.2', 'syncByteErrors'],
  ['1.3', 'patErrors'],
  ['1.4', 'ccErrors'],
  ['1.5', 'pmtErrors'],
  ['1.6', 'pidErrors'],
  ['2.1', 'transportErrors'],
  ['2.2', 'crcErrors'],
  ['2.3a', 'pcrRepetitionErrors'],
  ['2.3b', 'pcrDiscontinuityErrors'],
  ['2.4', 'pcrAccuracyErrors'],
  ['2.5', 'ptsErrors'],
  ['2.6', 'catErrors'],
  ['3.5.a', 'sdtErrors'],
];

/** The analyzer's report reduced to numbers (all cumulative). */
function reportCounters(r: AnalyzerReport): Record<string, number> {
  const out: Record<string, number> = {
    packets: r.totals.packets,
    bytesSkipped: r.totals.bytesSkipped,
    priority1Errors: r.priority1Errors,
    priority2Errors: r.priority2Errors,
    priority3Errors: r.priority3Errors,
    pcrRepetitionWarnings: 0,
    mdiLostPackets: r.mdi ? r.mdi.mlrTotal : 0,
  };
  for (const [, key] of CHECK_KEYS) out[key] = 0;
  for (const group of [r.tr101290.priority1, r.tr101290.priority2, r.tr101290.priority3]) {
    for (const c of group) {
      for (const [id, key] of CHECK_KEYS) if (c.id === id) out[key] = c.errors;
      if (c.id === '2.3a') out.pcrRepetitionWarnings = c.warnings ?? 0;
    }
  }
  return out;
}

export class OutputMonitor {
  private readonly pat = new Histogram(PSI_BUCKETS);
  private readonly pmt = new Histogram(PSI_BUCKETS);
  private readonly sdt = new Histogram(PSI_BUCKETS);
  private readonly pcr = new Histogram(PCR_BUCKETS);
  /** NIT actual, EIT p/f actual (section 0), TDT, TOT. */
  private readonly si = [SI_BUCKETS, SI_BUCKETS, SI_BUCKETS, SI_BUCKETS].map(
    (b) => new Histogram(b),
  );
  private readonly lastSiT = [NaN, NaN, NaN, NaN];

  /** Last PCR value per PID (27 MHz, raw), -1 before the first. */
  /** The last PCR by PID (a stream has one PCR PID or a few). */
  private readonly lastPcr = new Map<number, number>();
  /** Output time (27 MHz, unwrapped) of the last PAT / PMT / SDT start, NaN before the first. */
  private lastPatT = NaN;
  private lastPmtT = NaN;
  private lastSdtT = NaN;
  /** PMT PID of the first program in the last good PAT, -1 until one. */
  private pmtPid = -1;
  /** Previous datagram: output time and packet count; ticks per packet derived from them. */
  private prevPcr27 = NaN;
  private prevPackets = 0;
  private ticksPerPacket = 0;

  private readonly analyzerOpts: AnalyzerOptions;
  private analyzer: Analyzer;
  private analyzerStartNs = NaN;
  private readonly rotateNs: number;
  /** Counters of rotated-out analyzers. */
  private readonly base: Record<string, number> = {};
  private rotations = 0;
  private readonly cacheMs: number;
  private readonly nowMs: () => number;
  private cached: Record<string, number> | null = null;
  private cachedAtMs = 0;
  private dirty = true;

  constructor(opts: OutputMonitorOptions = {}) {
    // The remuxer never forwards a duplicate packet (§2.4.3.3): its output is checked without
    // hashing every packet for one, and a repeated CC there is a continuity error.
    this.analyzerOpts = { duplicates: false, ...opts.analyzer };
    this.analyzer = new Analyzer(this.analyzerOpts);
    const rotateMs = opts.rotateMs ?? 3_600_000;
    this.rotateNs = (Number.isFinite(rotateMs) && rotateMs > 0 ? rotateMs : 3_600_000) * 1e6;
    const cacheMs = opts.cacheMs ?? 1000;
    this.cacheMs = Number.isFinite(cacheMs) && cacheMs >= 0 ? cacheMs : 1000;
    this.nowMs = opts.nowMs ?? (() => performance.now());
  }

  /**
   * One datagram as queued: whole 188-byte packets (read during the call only), the output time
   * of its first packet (27 MHz, unwrapped) and its due time (monotonic ns). Never throws.
   */
  datagram(ts: Uint8Array, pcr27: number, dueNs: number): void {
    const n = Math.floor(ts.length / TS_PACKET_SIZE);
    if (n === 0) return;
    // Packet duration from the previous datagram (the timeline interpolates linearly between
    // PCRs, so this is the rate of the current PCR interval unless it just changed).
    const step = pcr27 - this.prevPcr27;
    if (step > 0 && step <= MAX_PCR_STEP && this.prevPackets > 0)
      this.ticksPerPacket = step / this.prevPackets;
    this.prevPcr27 = pcr27;
    this.prevPackets = n;

    for (let i = 0; i < n; i++)
      this.packet(ts, i * TS_PACKET_SIZE, pcr27 + i * this.ticksPerPacket);

    if (Number.isFinite(dueNs)) {
      if (!(dueNs - this.analyzerStartNs < this.rotateNs)) this.rotate(dueNs);
      this.analyzer.push(ts, dueNs);
    } else {
      this.analyzer.push(ts);
    }
    this.dirty = true;
  }

  /**
   * One packet at b[o], output time t (27 MHz). Header (§2.4.3.2):
   *   sync(8) | TEI(1) PUSI(1) priority(1) PID(13) | scrambling(2) AFC(2) CC(4)
   * Adaptation field (§2.4.3.4): length(8) | DI(1) RAI(1) ESPI(1) PCR_flag(1) ... | PCR(48)
   */
  private packet(b: Uint8Array, o: number, t: number): void {
    const b1 = b[o + 1];
    const b3 = b[o + 3];
    if (b[o] !== 0x47 || (b1 & 0x80) !== 0) return;
    const pid = ((b1 & 0x1f) << 8) | b[o + 2];
    if (pid === NULL_PID) return;
    let p = o + 4;
    if ((b3 & 0x20) !== 0) {
      const afLen = b[o + 4];
      if (afLen > 183) return;
      if (afLen >= 7 && (b[o + 5] & 0x10) !== 0) this.onPcr(pid, readPcrAt(b, o + 6), b[o + 5]);
      p += 1 + afLen;
    }
    // Section start: payload_unit_start, payload, not scrambled, on a table PID.
    if ((b1 & 0x40) === 0 || (b3 & 0x10) === 0 || (b3 & 0xc0) !== 0) return;
    if (pid !== 0 && pid !== this.pmtPid && pid !== SDT_PID && (pid < NIT_PID || pid > TDT_PID))
      return;
    this.sectionStart(b, o, p, pid, t);
  }

  /** A PCR on pid; af0 = the adaptation field's flags byte (bit 7 discontinuity_indicator). */
  private onPcr(pid: number, pcr: number, af0: number): void {
    const last = this.lastPcr.get(pid) ?? -1;
    this.lastPcr.set(pid, pcr);
    if (last < 0 || (af0 & 0x80) !== 0) return;
    const d = pcrDelta(pcr, last);
    if (d > 0 && d <= MAX_PCR_STEP) this.pcr.observe(d / PCR_HZ);
  }

  /**
   * payload_unit_start on a table PID; payload at b[p]. PSI (§2.4.4.1-2):
   *   pointer_field(8) [pointer_field bytes] | table_id(8) | SSI(1) '0' rsv(2) length(12) |
   *   table_id_extension(16) | rsv(2) version(5) current_next(1) | section_number(8) |
   *   last_section_number(8) | ... | CRC_32(32)
   */
  private sectionStart(b: Uint8Array, o: number, p: number, pid: number, t: number): void {
    const end = o + TS_PACKET_SIZE;
    if (p >= end) return;
    const s = p + 1 + b[p];
    if (s + 7 > end) return;
    const tid = b[s];
    // TDT and TOT are short sections: no section_number.
    if (pid === TDT_PID && (tid === 0x70 || tid === 0x73)) {
      const k = tid === 0x70 ? 2 : 3;
      this.lastSiT[k] = this.interval(this.si[k], this.lastSiT[k], t);
      return;
    }
    if (b[s + 6] !== 0 || (b[s + 5] & 0x01) === 0) return; // section 0 of a current table
    if (pid === 0) {
      if (tid !== 0x00) return;
      this.lastPatT = this.interval(this.pat, this.lastPatT, t);
      this.learnPmtPid(b, s, end);
    } else if (pid === this.pmtPid) {
      if (tid === 0x02) this.lastPmtT = this.interval(this.pmt, this.lastPmtT, t);
    } else if (pid === SDT_PID) {
      if (tid === 0x42) this.lastSdtT = this.interval(this.sdt, this.lastSdtT, t);
    } else if (pid === NIT_PID) {
      if (tid === 0x40) this.lastSiT[0] = this.interval(this.si[0], this.lastSiT[0], t);
    } else if (pid === EIT_PID) {
      if (tid === 0x4e) this.lastSiT[1] = this.interval(this.si[1], this.lastSiT[1], t);
    }
  }

  /** Observes t − last (s) when it is a forward step; returns t as the new last time. */
  private interval(h: Histogram, last: number, t: number): number {
    const d = t - last;
    if (d > 0) h.observe(d / PCR_HZ);
    return t;
  }

  /**
   * PMT PID of the first program (program_number ≠ 0) of a PAT section wholly in this packet,
   * CRC checked (§2.4.4.3): after the 8-byte header, 4-byte entries
   *   program_number(16) | rsv(3) program_map_PID(13)
   * up to the CRC_32. A PAT spanning packets leaves the PMT PID as it was.
   */
  private learnPmtPid(b: Uint8Array, s: number, end: number): void {
    const sectionEnd = s + 3 + (((b[s + 1] & 0x0f) << 8) | b[s + 2]);
    if ((b[s + 1] & 0x80) === 0 || sectionEnd > end || sectionEnd < s + 12) return;
    if (crc32Mpeg2(b, s, sectionEnd) !== 0) return;
    for (let q = s + 8; q + 4 <= sectionEnd - 4; q += 4) {
      if (((b[q] << 8) | b[q + 1]) === 0) continue;
      const pid = ((b[q + 2] & 0x1f) << 8) | b[q + 3];
      if (pid !== this.pmtPid) {
        this.pmtPid = pid;
        this.lastPmtT = NaN;
      }
      return;
    }
  }

  /** Replaces the analyzer (bounded memory), carrying its final counts into the base. */
  private rotate(dueNs: number): void {
    if (Number.isFinite(this.analyzerStartNs)) {
      this.analyzer.end();
      this.addToBase(reportCounters(this.analyzer.report()));
      this.analyzer = new Analyzer(this.analyzerOpts);
      this.rotations++;
      this.cached = null;
    }
    this.analyzerStartNs = dueNs;
  }

  private addToBase(c: Record<string, number>): void {
    for (const k of Object.keys(c)) this.base[k] = (this.base[k] ?? 0) + c[k];
  }

  psiIntervals(): { pat: HistogramSnapshot; pmt: HistogramSnapshot; sdt: HistogramSnapshot } {
    return { pat: this.pat.snapshot(), pmt: this.pmt.snapshot(), sdt: this.sdt.snapshot() };
  }

  /** Repetition of the network SI: NIT actual, EIT p/f actual, TDT, TOT. */
  siIntervals(): {
    nit: HistogramSnapshot;
    eit_pf: HistogramSnapshot;
    tdt: HistogramSnapshot;
    tot: HistogramSnapshot;
  } {
    const [nit, eit, tdt, tot] = this.si.map((h) => h.snapshot());
    return { nit, eit_pf: eit, tdt, tot };
  }

  pcrInterval(): HistogramSnapshot {
    return this.pcr.snapshot();
  }

  /**
   * TR 101 290 counters of the output since the monitor started (all only grow): packets,
   * ccErrors (1.4), patErrors (1.3), pmtErrors (1.5), pcrRepetitionErrors (2.3a),
   * pcrDiscontinuityErrors (2.3b), priority1/2/3Errors and the other checks' errors, plus
   * analyzerRotations. Recomputed at most every cacheMs.
   */
  analyzerCounters(): Record<string, number> {
    const now = this.nowMs();
    if (this.cached === null || (this.dirty && now - this.cachedAtMs >= this.cacheMs)) {
      const c = reportCounters(this.analyzer.report());
      for (const k of Object.keys(this.base)) c[k] = (c[k] ?? 0) + this.base[k];
      c.analyzerRotations = this.rotations;
      this.cached = c;
      this.cachedAtMs = now;
      this.dirty = false;
    }
    return { ...this.cached };
  }
}
