// Streaming transport-stream analyzer: ETSI TR 101 290 priority 1, 2 and (SI repetition) 3
// checks and RFC 4445 MDI, for our own output and for anybody else's stream.
//
// push() takes any chunk; the Framer cuts it into packets (sync hysteresis, 1.1/1.2) and calls
// packet() for each. The packet loop allocates nothing: per-PID state lives in typed arrays
// indexed by PID; PSI/SI goes through SectionAssemblers only on PSI PIDs; PES headers are read
// only on payload_unit_start packets of video/audio PIDs. Stream faults are counted, never
// thrown.
//
// Clock: with arrival times, a packet's time is its chunk's arrival (datagram granularity).
// Without, it is the PCR of the first PCR-carrying PID interpolated by byte position (clock.ts);
// before that first PCR time is unknown and no interval check runs.
//
// Continuity (1.4) and duplicate packets (ISO/IEC 13818-1 §2.4.3.3): continuity.ts. Copies
// of a packet are not analyzed further (their PCR would look inaccurate). PCR checks: pcr.ts
// (2.3a is judged on each PID's own PCR values, not on this clock). Decode margin DTS − PCR
// per stream: decode-margin.ts. An input where sync (1.1) never held for more than a trace
// of the bytes is reported as no transport stream at all (report()).

import { TS_PACKET_SIZE, readPcrAt } from '../packet.js';
import { locatePesTimestamps, readTimestamp } from '../pes.js';
import { CK, CheckCounters, buildChecks } from './checks.js';
import type { Check } from './report.js';
import { PcrClock } from './clock.js';
import { CC_DUP, CC_GAP, CC_OK, Continuity } from './continuity.js';
import { DEFAULT_MIN_DTS_MARGIN_MS, DecodeMargin } from './decode-margin.js';
import { Framer, type FramerSink } from './framing.js';
import { MdiMeter } from './mdi.js';
import { PcrChecker, pidName } from './pcr.js';
import { PsiTracker, ROLE_PES_TIMED, ROLE_PSI, type SiTable } from './psi-tracker.js';
import type { AnalyzerReport, PidReport } from './report.js';

export interface AnalyzerOptions {
  /** PID_error (1.6): a PID named in a PMT absent this long is an error. Default 5000. */
  pidTimeoutMs?: number;
  /** Nominal rate for the MDI delay factor; default: each interval's own average rate. */
  mdiRateBps?: number;
  /** SI tables timed from the start even if never seen (default: none; see psi-tracker.ts). */
  requiredSi?: SiTable[];
  /** Decode margin (DTS − PCR) below this many ms is a warning (default 100; decode-margin.ts). */
  minDtsMarginMs?: number;
  /**
   * false: the stream never carries ISO/IEC 13818-1 §2.4.3.3 duplicate packets (a remuxer's
   * own output), so a payload packet repeating its PID's CC is a 1.4 error and packets are not
   * hashed to recognise duplicates (continuity.ts). Default true.
   */
  duplicates?: boolean;
}

const NPID = 8192;
const NULL_PID = 0x1fff;
const PTS_LIMIT_NS = 700e6;
const TICK_NS = 10e6;
/**
 * Below this share of the input in 188-byte packets there is no transport stream: sync never
 * held for more than a few packets (TR 101 290 1.1), e.g. five 0x47 by chance in random bytes.
 */
const NO_TS_SHARE = 0.05;
export const NO_TS_VERDICT = 'no MPEG transport stream found';

export class Analyzer implements FramerSink {
  private readonly counters = new CheckCounters();
  private readonly framer = new Framer(this);
  private readonly clock = new PcrClock();
  private readonly pcr = new PcrChecker(this.counters);
  private readonly lastSeenNs = new Float64Array(NPID).fill(-1);
  private readonly psi: PsiTracker;
  private readonly mdi: MdiMeter;
  private readonly margin: DecodeMargin;

  private readonly packets = new Float64Array(NPID);
  private readonly cc: Continuity;
  /** Packets with transport_error_indicator / scrambled, by PID (rare: absent when none). */
  private readonly teiPackets = new Map<number, number>();
  private readonly scrambledPackets = new Map<number, number>();
  private readonly catReported = new Uint8Array(NPID);
  /** By PID: when its last PTS came (absent: none yet). */
  private readonly lastPtsNs = new Map<number, number>();

  /** Byte position of the next packet among framed packets (skipped bytes excluded). */
  private bytePos = 0;
  private packetCount = 0;
  private bytesIn = 0;
  private arrivalMode = false;
  private chunkNs = -1;
  private nowNs = -1;
  private timeKnown = false;
  private nextTick = 0;
  private lostInChunk = 0;
  private faults = 0;

  constructor(opts: AnalyzerOptions = {}) {
    const timeout = opts.pidTimeoutMs ?? 5000;
    this.cc = new Continuity(opts.duplicates ?? true);
    this.psi = new PsiTracker(this.counters, this.lastSeenNs, {
      pidTimeoutNs: (Number.isFinite(timeout) && timeout > 0 ? timeout : 5000) * 1e6,
      requiredSi: opts.requiredSi ?? [],
    });
    const warn = opts.minDtsMarginMs ?? DEFAULT_MIN_DTS_MARGIN_MS;
    this.margin = new DecodeMargin(Number.isFinite(warn) ? warn : DEFAULT_MIN_DTS_MARGIN_MS);
    const rate = opts.mdiRateBps ?? 0;
    this.mdi = new MdiMeter(Number.isFinite(rate) && rate > 0 ? rate : 0);
  }

  /**
   * Feeds a chunk: a file read or one UDP datagram payload. arrivalNs, when known, is the
   * (kernel) receive time in ns; it switches the analyzer to arrival timing and enables MDI.
   * Never throws.
   */
  push(chunk: Uint8Array, arrivalNs?: number): void {
    try {
      if (arrivalNs !== undefined && Number.isFinite(arrivalNs)) {
        if (!this.arrivalMode) {
          this.arrivalMode = true;
          this.mdi.begin(arrivalNs);
        }
        const t = this.mdi.relative(arrivalNs);
        if (t > this.chunkNs) this.chunkNs = t;
      }
      this.lostInChunk = 0;
      this.bytesIn += chunk.length;
      this.framer.push(chunk);
      if (this.arrivalMode) this.mdi.arrival(this.chunkNs, chunk.length, this.lostInChunk);
    } catch {
      this.faults++;
    }
  }

  /** End of input: frames the tail, evaluates timeouts at the last time, closes MDI. */
  end(): void {
    try {
      this.framer.end();
      this.pcr.flush();
      this.margin.end();
      if (this.timeKnown) this.psi.tick(this.nowNs);
      if (this.arrivalMode) this.mdi.end();
    } catch {
      this.faults++;
    }
  }

  syncByteError(n: number, slotDropped: boolean): void {
    this.counters.error(CK.SYNC_BYTE, this.nowNs, n);
    // A dropped packet still took its place in the stream: keep byte positions (time) right.
    if (slotDropped) this.bytePos += TS_PACKET_SIZE;
  }

  syncLoss(): void {
    this.counters.error(CK.SYNC_LOSS, this.nowNs);
    this.pcr.lost(this.bytePos);
  }

  /** One 188-byte packet at b[o] (FramerSink). */
  packet(b: Uint8Array, o: number): void {
    const b1 = b[o + 1];
    const b3 = b[o + 3];
    const pid = ((b1 & 0x1f) << 8) | b[o + 2];
    const pos = this.bytePos;
    this.bytePos = pos + TS_PACKET_SIZE;
    this.packetCount++;
    this.packets[pid]++;
    // Adaptation field flags (§2.4.3.4); an impossible length means no usable flags.
    let afFlags = 0;
    let afLen = 0;
    if ((b3 & 0x20) !== 0) {
      afLen = b[o + 4];
      if (afLen > 0 && afLen <= 183) afFlags = b[o + 5];
    }
    const tei = (b1 & 0x80) !== 0;

    const cont = this.cc.packet(b, o, pid, pos, afFlags, afLen);
    if (cont !== CC_OK) {
      if (cont !== CC_DUP) this.ccError(pid, this.cc.lost);
      if (cont !== CC_GAP) {
        // A copy: not analyzed further (its PCR would look inaccurate); it added bytes.
        this.pcr.lost(pos);
        return;
      }
    }

    const hasPcr = (afFlags & 0x10) !== 0 && afLen >= 7 && !tei;
    const pcr = hasPcr ? readPcrAt(b, o + 6) : -1;
    let now: number;
    if (this.arrivalMode) {
      now = this.chunkNs;
    } else {
      const clock = this.clock;
      if (hasPcr) clock.onPcr(pid, pcr, pos, (afFlags & 0x80) !== 0);
      // clock.at(pos), inline (see PcrClock): no boxed number per packet.
      if (clock.known) {
        const d = (pos - clock.lastPos) * clock.nsPerByte;
        now = clock.lastNs + (d < clock.capNs ? d : clock.capNs);
      } else {
        now = -1;
      }
    }
    if (now >= 0) {
      if (!this.timeKnown) {
        this.timeKnown = true;
        this.psi.start(now);
        this.nextTick = now;
      }
      if (now >= this.nextTick) {
        this.psi.tick(now);
        this.nextTick = now + TICK_NS;
      }
    }
    this.nowNs = now;
    this.lastSeenNs[pid] = now;

    if (tei) {
      // §2.4.3.2: at least one uncorrectable bit error; nothing else in it is trusted.
      this.teiPackets.set(pid, (this.teiPackets.get(pid) ?? 0) + 1);
      this.counters.error(CK.TRANSPORT, now);
      return;
    }
    const scrambled = (b3 & 0xc0) !== 0;
    if (scrambled) {
      this.scrambledPackets.set(pid, (this.scrambledPackets.get(pid) ?? 0) + 1);
      if (!this.psi.catSeen && this.catReported[pid] === 0) {
        this.catReported[pid] = 1;
        this.counters.error(CK.CAT, now);
        this.counters.note(CK.CAT, pidName(pid) + ' scrambled, no CAT');
      }
    }
    if (hasPcr) {
      const di = (afFlags & 0x80) !== 0;
      this.pcr.onPcr(pid, pcr, pos, now, di, this.arrivalMode);
      this.margin.onPcr(pid, pcr, pos, di);
    }
    const role = this.psi.role[pid];
    if (role === ROLE_PSI) {
      if (scrambled) this.psi.scrambled(pid, now);
      else this.psi.packet(b, o, pid, now);
    } else if (role === ROLE_PES_TIMED) {
      if ((b1 & 0x40) !== 0 && !scrambled) this.pes(b, o, pid, pos);
    }
    if (pid >= 0x20 && pid !== NULL_PID && this.psi.referenced[pid] === 0)
      this.psi.unreferenced(pid, now);
  }

  private ccError(pid: number, lost: number): void {
    // Loss happened after this PID's previous packet.
    this.pcr.lost(this.cc.lastPos[pid]);
    this.counters.error(CK.CC, this.nowNs);
    this.lostInChunk += lost;
  }

  /**
   * PES header on a payload_unit_start packet (ISO/IEC 13818-1 §2.4.3.6-7):
   *   packet_start_code_prefix(24) stream_id(8) PES_packet_length(16)
   *   '10' scrambling(2) priority(1) alignment(1) copyright(1) original(1)
   *   PTS_DTS_flags(2) ... | PES_header_data_length(8) | PTS (5 bytes, marker bits set):
   *   pppp PTS[32..30] 1 | PTS[29..22] | PTS[21..15] 1 | PTS[14..7] | PTS[6..0] 1
   * PTS_error (2.5) is the time between PES headers carrying a PTS on the analyzer clock.
   * DTS (else PTS) − PCR goes to the decode margin (decode-margin.ts).
   */
  /** A PES start on a timed PID at byte position pos, at time this.nowNs. */
  private pes(b: Uint8Array, o: number, pid: number, pos: number): void {
    const at = locatePesTimestamps(b, o);
    if (at !== 0) {
      const dtsAt = at >> 8;
      this.margin.onPes(pid, this.psi.pcrPidOf[pid], readTimestamp(b, o + (dtsAt || at)), pos);
    }
    const now = this.nowNs;
    if (now < 0) return;
    const b3 = b[o + 3];
    if ((b3 & 0x10) === 0) return;
    const p = (b3 & 0x20) !== 0 ? o + 5 + b[o + 4] : o + 4;
    if (p + 14 > o + TS_PACKET_SIZE) return;
    if (b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 1) return;
    const sid = b[p + 3];
    // Streams without the optional header (§2.4.3.7, Table 2-22 exceptions).
    if (sid === 0xbc || sid === 0xbe || sid === 0xbf || sid === 0xf0 || sid === 0xf1) return;
    if (sid === 0xff || sid === 0xf2 || sid === 0xf8) return;
    if ((b[p + 6] & 0xc0) !== 0x80 || (b[p + 7] & 0x80) === 0) return;
    // Marker bits of the PTS field must be set; otherwise it is not a PTS.
    if ((b[p + 9] & 0x01) === 0 || (b[p + 11] & 0x01) === 0 || (b[p + 13] & 0x01) === 0) return;
    const last = this.lastPtsNs.get(pid) ?? -1;
    if (last >= 0 && now - last > PTS_LIMIT_NS) {
      this.counters.error(CK.PTS, now);
      this.counters.note(CK.PTS, pidName(pid));
    }
    this.lastPtsNs.set(pid, now);
  }

  report(): AnalyzerReport {
    const packetsTotal = this.packetCount;
    let durationNs = 0;
    let timeBase: AnalyzerReport['totals']['timeBase'] = 'none';
    if (this.arrivalMode) {
      timeBase = 'arrival';
      durationNs = Math.max(0, this.chunkNs);
    } else if (this.clock.known) {
      timeBase = 'pcr';
      durationNs = this.bytePos * this.clock.avgNsPerByte;
    }
    const sec = durationNs / 1e9;
    const override = new Map<number, Partial<Check>>();
    this.accuracy(override);
    const ccPids: string[] = [];
    const teiPids: string[] = [];
    const pids: PidReport[] = [];
    let duplicates = 0;
    for (let pid = 0; pid < NPID; pid++) {
      const n = this.packets[pid];
      if (n === 0) continue;
      const ccErrors = this.cc.errors.get(pid) ?? 0;
      const dups = this.cc.duplicates.get(pid) ?? 0;
      duplicates += dups;
      if (ccErrors > 0) ccPids.push(`${pidName(pid)} ×${ccErrors}`);
      const tei = this.teiPackets.get(pid) ?? 0;
      if (tei > 0) teiPids.push(`${pidName(pid)} ×${tei}`);
      pids.push({
        pid,
        label: this.psi.label(pid),
        packets: n,
        bitrate: sec > 0 ? (n * TS_PACKET_SIZE * 8) / sec : 0,
        ccErrors,
        duplicates: dups,
        pcrCount: this.pcr.countOf(pid),
        scrambled: (this.scrambledPackets.get(pid) ?? 0) > 0,
      });
    }
    if (ccPids.length) override.set(CK.CC, { detail: shortList(ccPids) });
    if (teiPids.length) override.set(CK.TRANSPORT, { detail: shortList(teiPids) });
    // No transport stream: what was framed (if anything) is noise, so no program, PID or
    // check is reported as if it meant something.
    const noTs =
      !this.framer.acquired || packetsTotal * TS_PACKET_SIZE < NO_TS_SHARE * this.bytesIn;
    const tr101290 = noTs
      ? buildChecks(new CheckCounters(), new Map())
      : buildChecks(this.counters, override);
    const sum = (cs: Check[]): number => cs.reduce((a, c) => a + c.errors, 0);
    const r: AnalyzerReport = {
      totals: {
        packets: packetsTotal,
        bytes: this.bytesIn,
        bytesSkipped: this.framer.bytesSkipped,
        duplicatePackets: duplicates,
        durationSec: sec,
        bitrate: sec > 0 ? (this.bytesIn * 8) / sec : 0,
        timeBase,
      },
      noTransportStream: noTs,
      programs: noTs ? [] : this.psi.programReports(),
      pids: noTs ? [] : pids,
      tr101290,
      priority1Errors: sum(tr101290.priority1),
      priority2Errors: sum(tr101290.priority2),
      priority3Errors: sum(tr101290.priority3),
    };
    if (noTs) r.verdict = NO_TS_VERDICT;
    else r.decodeMargin = this.margin.report((pid) => this.psi.label(pid));
    if (this.faults > 0) r.totals.analyzerFaults = this.faults;
    if (this.arrivalMode) r.mdi = this.mdi.report();
    return r;
  }

  /** 2.4 from the per-PID accuracy statistics, VBR PIDs excluded (see pcr.ts). */
  private accuracy(override: Map<number, Partial<Check>>): void {
    let errors = 0;
    let first = Infinity;
    const notes: string[] = [];
    for (const s of this.pcr.stats()) {
      if (s.samples === 0) continue;
      if (s.vbr) {
        notes.push(`${pidName(s.pid)} VBR, not assessed`);
        continue;
      }
      errors += s.errors;
      if (s.errors > 0 && s.firstErrNs >= 0 && s.firstErrNs < first) first = s.firstErrNs;
      const steps = s.steps > 0 ? ` (${s.steps} at rate steps)` : '';
      notes.push(`${pidName(s.pid)} max ${Math.round(s.maxAbsNs)} ns${steps}`);
    }
    const o: Partial<Check> = { errors };
    o.firstAtSec = first < Infinity ? first / 1e9 : undefined;
    if (notes.length) o.detail = shortList(notes);
    override.set(CK.PCR_ACC, o);
  }
}

function shortList(items: string[], max = 8): string {
  if (items.length <= max) return items.join(', ');
  return items.slice(0, max).join(', ') + `, +${items.length - max} more`;
}
