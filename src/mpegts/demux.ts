// Demultiplexer: follows PAT and PMT (ISO/IEC 13818-1 §2.4.4.3, §2.4.4.8) and the SDT
// (EN 300 468 §5.2.3) of an SPTS or MPTS, selects one program, and classifies every packet by
// PID through a lookup table, so the per-packet cost is one array read. Version changes of
// PAT/PMT are followed: the selected program is re-announced whenever its PMT changes.

import { getPid, MAX_PID, TS_PACKET_SIZE } from './packet.js';
import { SectionAssembler } from './psi/assembler.js';
import type { SectionFault } from './psi/assembler.js';
import { TableCollector } from './psi/table-collector.js';
import { parsePat, PAT_PID, PAT_TABLE_ID } from './psi/pat.js';
import type { Pat } from './psi/pat.js';
import { parsePmt, PMT_TABLE_ID } from './psi/pmt.js';
import type { Pmt } from './psi/pmt.js';
import type { Descriptor } from './psi/descriptors.js';
import { describeStream, type StreamDescription } from './stream-types.js';
import { parseSdt, SDT_PID } from './psi/sdt.js';
import type { Sdt } from './psi/sdt.js';

export interface ElementaryStream extends StreamDescription {
  descriptors: Descriptor[];
}

export interface ProgramInfo {
  programNumber: number;
  pmtPid: number;
  pcrPid: number;
  version: number;
  programInfo: Descriptor[];
  streams: ElementaryStream[];
}

export interface ServiceInfo {
  serviceId: number;
  serviceName: string;
  providerName: string;
  serviceType: number;
  /** The entry's descriptors other than its service_descriptor, raw and in order. */
  otherDescriptors: Descriptor[];
}

export interface DemuxEvents {
  /** Every new PAT (version or content change). */
  onPat?(pat: Pat): void;
  /** The selected program appeared or its PMT changed. */
  onProgram?(program: ProgramInfo): void;
  /** The selected program disappeared from the PAT. */
  onProgramLost?(programNumber: number): void;
  /** SDT entry of the selected program (new or changed). */
  onService?(service: ServiceInfo): void;
  /** A PSI section dropped (bad CRC, impossible length, lost to a CC gap). */
  onSectionFault?(fault: SectionFault, pid: number, tableId: number): void;
}

/** Role of a PID for the selected program (Demuxer.role). */
export const ROLE_DROP = -1;
export const ROLE_PSI = -2;
/** PCR PID that carries no elementary stream of the program. */
export const ROLE_PCR_ONLY = -3;

export interface DemuxOptions {
  /** program_number to select; default the first program (≠ 0) of the PAT. */
  program?: number;
}

/**
 * The input's PSI as a Demuxer last took it whole: the sections of its PAT, of the selected
 * program's PMT (with its PID) and of its SDT. Plain data: prime() gives it to another Demuxer,
 * which then knows the program before the input repeats its tables (a remuxer resumed where
 * another was cut, remuxer.ts).
 */
export interface DemuxPsi {
  pat: Uint8Array[] | null;
  pmt: { pid: number; sections: Uint8Array[] } | null;
  sdt: Uint8Array[] | null;
}

export class Demuxer {
  /** Per-PID role: ROLE_* or the index of the elementary stream in `program.streams`. */
  readonly role = new Int16Array(MAX_PID + 1).fill(ROLE_DROP);
  program: ProgramInfo | null = null;
  pat: Pat | null = null;
  service: ServiceInfo | null = null;
  private readonly assemblers = new Map<number, SectionAssembler>();
  private readonly tables = new TableCollector();
  /** PMTs are collected apart so that a new PAT can forget them (the PMT PID may be reused). */
  private readonly pmtTables = new TableCollector();
  private lastSdt: Sdt | null = null;
  private pmtPid = -1;
  /** The sections of the last PAT, PMT and SDT taken (psi()). */
  private readonly taken: DemuxPsi = { pat: null, pmt: null, sdt: null };

  constructor(
    private readonly opts: DemuxOptions = {},
    private readonly events: DemuxEvents = {},
  ) {
    this.watchPsi(PAT_PID);
    this.watchPsi(SDT_PID);
  }

  /** The program_number this demuxer is after, once known. */
  get selectedProgram(): number | undefined {
    return this.opts.program ?? this.pendingProgram;
  }

  /**
   * Classifies the packet at buf[o]: consumes PSI, returns the elementary-stream index
   * (≥ 0) for packets of the selected program, ROLE_PCR_ONLY for its separate PCR PID, or a
   * negative role for everything else.
   */
  process(b: Uint8Array, o: number): number {
    const pid = getPid(b, o);
    const r = this.role[pid];
    if (r === ROLE_PSI) this.assemblers.get(pid)?.push(b, o);
    return r;
  }

  /**
   * Forgets all PSI state (new source): the next PAT/PMT are taken as they come. With
   * `program`, selects another program_number from now on (null: the first of the PAT).
   */
  reset(program?: number | null): void {
    if (program !== undefined) this.opts.program = program ?? undefined;
    this.role.fill(ROLE_DROP);
    this.assemblers.clear();
    this.tables.reset();
    this.pmtTables.reset();
    this.lastSdt = null;
    this.taken.pat = this.taken.pmt = this.taken.sdt = null;
    this.program = null;
    this.pat = null;
    this.service = null;
    this.pmtPid = -1;
    this.pendingProgram = undefined;
    this.watchPsi(PAT_PID);
    this.watchPsi(SDT_PID);
  }

  /** The input's PSI as last taken whole (copies). */
  psi(): DemuxPsi {
    const copy = (l: Uint8Array[] | null) => l && l.map((x) => x.slice());
    const t = this.taken;
    return {
      pat: copy(t.pat),
      pmt: t.pmt && { pid: t.pmt.pid, sections: copy(t.pmt.sections)! },
      sdt: copy(t.sdt),
    };
  }

  /** Takes another Demuxer's psi() as if those sections had just arrived: PAT, PMT, SDT. */
  prime(p: DemuxPsi): void {
    for (const x of p.pat ?? []) this.onSection(x, PAT_PID);
    if (p.pmt && p.pmt.pid === this.pmtPid)
      for (const x of p.pmt.sections) this.onSection(x, p.pmt.pid);
    for (const x of p.sdt ?? []) this.onSection(x, SDT_PID);
  }

  /** Convenience for offline use: classifies every packet of a chunk aligned on 188 bytes. */
  processAligned(chunk: Uint8Array): void {
    for (let o = 0; o + TS_PACKET_SIZE <= chunk.length; o += TS_PACKET_SIZE) this.process(chunk, o);
  }

  private watchPsi(pid: number): void {
    this.role[pid] = ROLE_PSI;
    if (!this.assemblers.has(pid)) {
      this.assemblers.set(
        pid,
        new SectionAssembler(pid, {
          onSection: (s, p) => this.onSection(s, p),
          onFault: (f, p, t) => this.events.onSectionFault?.(f, p, t),
        }),
      );
    }
  }

  private onSection(s: Uint8Array, pid: number): void {
    const tableId = s[0];
    if (pid === PAT_PID) {
      if (tableId !== PAT_TABLE_ID) return;
      const sections = this.tables.push(s);
      if (!sections) return;
      this.taken.pat = sections.slice();
      this.onPat(parsePat(sections));
    } else if (pid === this.pmtPid && tableId === PMT_TABLE_ID) {
      const sections = this.pmtTables.push(s, pid);
      if (!sections) return;
      const pmt = parsePmt(sections[0]);
      if (pmt.programNumber !== this.selectedProgram) return;
      this.taken.pmt = { pid, sections: sections.slice() };
      this.onPmt(pmt);
    } else if (pid === SDT_PID && tableId === 0x42) {
      const sections = this.tables.push(s);
      if (!sections) return;
      this.taken.sdt = sections.slice();
      this.onSdt(sections);
    }
  }

  private onPat(pat: Pat): void {
    this.pat = pat;
    this.pmtTables.reset();
    this.events.onPat?.(pat);
    const want = this.opts.program;
    const entry = pat.programs.find((p) =>
      want === undefined ? p.programNumber !== 0 : p.programNumber === want,
    );
    if (!entry) {
      if (this.program) {
        const lost = this.program.programNumber;
        this.clearProgram();
        this.events.onProgramLost?.(lost);
      }
      return;
    }
    if (entry.pid !== this.pmtPid) {
      if (this.pmtPid >= 0 && this.role[this.pmtPid] === ROLE_PSI) {
        this.role[this.pmtPid] = ROLE_DROP;
        this.assemblers.delete(this.pmtPid);
      }
      this.pmtPid = entry.pid;
      this.watchPsi(entry.pid);
    }
    if (this.program && this.program.programNumber !== entry.programNumber) this.clearProgram();
    this.pendingProgram = entry.programNumber;
  }

  /** Program chosen from the PAT whose PMT is awaited (when no program was configured). */
  private pendingProgram: number | undefined;

  private onPmt(pmt: Pmt): void {
    this.clearProgramRoles();
    const streams: ElementaryStream[] = pmt.streams.map((s) => ({
      ...describeStream(s),
      descriptors: s.descriptors,
    }));
    streams.forEach((s, i) => {
      if (this.role[s.pid] !== ROLE_PSI) this.role[s.pid] = i;
    });
    if (pmt.pcrPid !== 0x1fff && this.role[pmt.pcrPid] === ROLE_DROP)
      this.role[pmt.pcrPid] = ROLE_PCR_ONLY;
    this.program = {
      programNumber: pmt.programNumber,
      pmtPid: this.pmtPid,
      pcrPid: pmt.pcrPid,
      version: pmt.version,
      programInfo: pmt.programInfo,
      streams,
    };
    if (this.service && this.service.serviceId !== pmt.programNumber) this.service = null;
    this.events.onProgram?.(this.program);
    this.applySdt();
  }

  private onSdt(sections: Uint8Array[]): void {
    this.lastSdt = parseSdt(sections);
    this.applySdt();
  }

  /** Looks the selected program up in the last SDT (which may come before the PAT: ffmpeg). */
  private applySdt(): void {
    const want = this.selectedProgram;
    if (!this.lastSdt || want === undefined) return;
    const svc = this.lastSdt.services.find((s) => s.serviceId === want);
    if (!svc) return;
    const info: ServiceInfo = {
      serviceId: svc.serviceId,
      serviceName: svc.serviceName,
      providerName: svc.providerName,
      serviceType: svc.serviceType,
      otherDescriptors: svc.otherDescriptors,
    };
    const old = this.service;
    if (
      old &&
      old.serviceName === info.serviceName &&
      old.providerName === info.providerName &&
      old.serviceType === info.serviceType &&
      sameDescriptors(old.otherDescriptors, info.otherDescriptors)
    )
      return;
    this.service = info;
    this.events.onService?.(info);
  }

  private clearProgramRoles(): void {
    if (!this.program) return;
    for (const s of this.program.streams) if (this.role[s.pid] >= 0) this.role[s.pid] = ROLE_DROP;
    if (this.role[this.program.pcrPid] === ROLE_PCR_ONLY)
      this.role[this.program.pcrPid] = ROLE_DROP;
  }

  private clearProgram(): void {
    this.clearProgramRoles();
    this.program = null;
  }
}

function sameDescriptors(a: readonly Descriptor[], b: readonly Descriptor[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.tag !== y.tag || x.data.length !== y.data.length) return false;
    for (let k = 0; k < x.data.length; k++) if (x.data[k] !== y.data[k]) return false;
  }
  return true;
}
