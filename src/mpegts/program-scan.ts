// What a transport stream carries, for `headend probe`: every program of the PAT
// (ISO/IEC 13818-1 §2.4.4.3) with its PMT (§2.4.4.8: PCR PID, streams with stream_type and
// ISO 639 language descriptors), the SDT actual's service names (ETSI EN 300 468 §5.2.3), and
// the bitrate of every PID. Counting is per packet into a preallocated array; tables are parsed
// only when a section completes.

import { Framer } from './framer.js';
import type { PacketSink } from './framer.js';
import { getPcr, getPid, hasPcr, pcrDiff } from './packet.js';
import { SectionAssembler } from './psi/assembler.js';
import { TableCollector } from './psi/table-collector.js';
import { parsePat, PAT_PID, PAT_TABLE_ID } from './psi/pat.js';
import { parsePmt, PMT_TABLE_ID } from './psi/pmt.js';
import { parseSdt, SDT_ACTUAL_TABLE_ID, SDT_PID } from './psi/sdt.js';
import { describeStream, type StreamDescription } from './stream-types.js';

export interface ScannedStream extends StreamDescription {
  /** bit/s over the scan. */
  bitrate: number;
}

export interface ScannedProgram {
  programNumber: number;
  pmtPid: number;
  pcrPid?: number;
  serviceName?: string;
  providerName?: string;
  serviceType?: number;
  streams: ScannedStream[];
}

export interface ScanResult {
  transportStreamId?: number;
  packets: number;
  /** bit/s of the whole stream over the scan. */
  bitrate: number;
  seconds: number;
  programs: ScannedProgram[];
  sdtSeen: boolean;
}

interface PmtEntry {
  pcrPid: number;
  streams: Parameters<typeof describeStream>[0][];
}

export class ProgramScanner implements PacketSink {
  private readonly framer = new Framer(this);
  private readonly bytes = new Float64Array(8192);
  private readonly assemblers = new Map<number, SectionAssembler>();
  private readonly tables = new TableCollector();
  private pat: { tsid: number; programs: { programNumber: number; pid: number }[] } | null = null;
  private readonly pmts = new Map<number, PmtEntry>();
  private readonly services = new Map<
    number,
    { serviceName: string; providerName: string; serviceType: number }
  >();
  private sdtSeen = false;
  private packets = 0;
  private firstMs = -1;
  private lastMs = -1;
  /** The stream's own clock: the first PID seen with a PCR, and the PCR span on it (27 MHz). */
  private pcrPid = -1;
  private lastPcr = -1;
  private pcrSpan = 0;

  /**
   * @param clock 'wall': bitrates over the time the bytes took to arrive (live inputs);
   *   'pcr': over the stream time its PCRs span (a file read as fast as the disk goes).
   */
  constructor(
    private readonly clock: 'wall' | 'pcr' = 'wall',
    private readonly now: () => number = () => performance.now(),
  ) {
    this.watch(PAT_PID);
    this.watch(SDT_PID);
  }

  push(chunk: Uint8Array): void {
    const t = this.now();
    if (this.firstMs < 0) this.firstMs = t;
    this.lastMs = t;
    this.framer.push(chunk);
  }

  packet(b: Uint8Array, o: number): void {
    this.packets++;
    const pid = getPid(b, o);
    this.bytes[pid] += 188;
    if (hasPcr(b, o) && (this.pcrPid < 0 || pid === this.pcrPid)) {
      const pcr = getPcr(b, o);
      this.pcrPid = pid;
      // Forward steps only, up to 1 s: a loop or discontinuity does not count as time.
      const d = this.lastPcr < 0 ? 0 : pcrDiff(pcr, this.lastPcr);
      if (d > 0 && d < 27_000_000) this.pcrSpan += d;
      this.lastPcr = pcr;
    }
    this.assemblers.get(pid)?.push(b, o);
  }

  /** PAT, every PMT of it and the SDT seen: the stream's structure is known. */
  get complete(): boolean {
    if (!this.pat || !this.sdtSeen) return false;
    return this.pat.programs.every((p) => p.programNumber === 0 || this.pmts.has(p.programNumber));
  }

  get packetCount(): number {
    return this.packets;
  }

  /** Stream time covered so far by the PCRs, ms. */
  get pcrMs(): number {
    return this.pcrSpan / 27_000;
  }

  result(): ScanResult {
    const wall = this.firstMs < 0 ? 0 : Math.max(0.001, (this.lastMs - this.firstMs) / 1000);
    const seconds = this.clock === 'pcr' ? this.pcrSpan / 27e6 : wall;
    const rate = (n: number): number => (seconds > 0 ? Math.round((n * 8) / seconds) : 0);
    const programs: ScannedProgram[] = (this.pat?.programs ?? [])
      .filter((p) => p.programNumber !== 0)
      .map((p) => {
        const pmt = this.pmts.get(p.programNumber);
        const s = this.services.get(p.programNumber);
        return {
          programNumber: p.programNumber,
          pmtPid: p.pid,
          ...(pmt ? { pcrPid: pmt.pcrPid } : {}),
          ...(s ? s : {}),
          streams: (pmt?.streams ?? []).map((st) => ({
            ...describeStream(st),
            bitrate: rate(this.bytes[st.pid]),
          })),
        };
      });
    return {
      ...(this.pat ? { transportStreamId: this.pat.tsid } : {}),
      packets: this.packets,
      bitrate: rate(this.packets * 188),
      seconds,
      programs,
      sdtSeen: this.sdtSeen,
    };
  }

  private watch(pid: number): void {
    if (this.assemblers.has(pid)) return;
    this.assemblers.set(
      pid,
      new SectionAssembler(pid, { onSection: (s, p) => this.onSection(s, p) }),
    );
  }

  private onSection(section: Uint8Array, pid: number): void {
    const tableId = section[0];
    if (pid === PAT_PID && tableId === PAT_TABLE_ID) {
      const sections = this.tables.push(section, pid);
      if (!sections) return;
      const pat = parsePat(sections);
      this.pat = { tsid: pat.transportStreamId, programs: pat.programs };
      for (const p of pat.programs) if (p.programNumber !== 0) this.watch(p.pid);
    } else if (pid === SDT_PID && tableId === SDT_ACTUAL_TABLE_ID) {
      const sections = this.tables.push(section, pid);
      if (!sections) return;
      this.sdtSeen = true;
      for (const s of parseSdt(sections).services)
        this.services.set(s.serviceId, {
          serviceName: s.serviceName,
          providerName: s.providerName,
          serviceType: s.serviceType,
        });
    } else if (tableId === PMT_TABLE_ID) {
      const pmt = parsePmt(section);
      this.pmts.set(pmt.programNumber, { pcrPid: pmt.pcrPid, streams: pmt.streams });
    }
  }
}
