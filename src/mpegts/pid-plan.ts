// Which PIDs of a multiplex the channels on one tuner need, for a tuner's hardware PID filter
// (the Linux DVB demux, SAT>IP `pids=`): the DVB SI PIDs (ETSI EN 300 468 §5.1.3: PAT 0x0000,
// CAT 0x0001, NIT 0x0010, SDT/BAT 0x0011, EIT 0x0012, TDT/TOT 0x0014), the PMT PID of each
// wanted service (from the PAT, ISO/IEC 13818-1 §2.4.4.3) and that PMT's PCR_PID and
// elementary PIDs (§2.4.4.8). A wanted service of `undefined` means "the first program of the
// PAT" (a channel that names no service); ALL_SERVICES (0, which no service can be: it is the
// NIT's entry in the PAT) means every program (`headend scan`).
//
// Fed the packets the filter lets through, it widens itself as the tables arrive: first the
// SI PIDs, then the PMTs once the PAT is known, then the streams once each PMT is. It calls
// onChange with the sorted set whenever the set changes (a new PMT version, a reload that
// adds or removes a service). Pure: no I/O, no timers.

import type { PacketSink } from './framer.js';
import { getPid } from './packet.js';
import { SectionAssembler } from './psi/assembler.js';
import { parsePat, PAT_PID, PAT_TABLE_ID } from './psi/pat.js';
import { parsePmt, PMT_TABLE_ID } from './psi/pmt.js';
import { TableCollector } from './psi/table-collector.js';

/** The SI PIDs every tuner passes (EN 300 468 Table 1). */
export const SI_PIDS: readonly number[] = [0x0000, 0x0001, 0x0010, 0x0011, 0x0012, 0x0014];

/** In the wanted set: every program of the PAT. */
export const ALL_SERVICES = 0;

export class PidPlan implements PacketSink {
  private wanted: ReadonlySet<number | undefined>;
  private readonly tables = new TableCollector();
  private readonly assemblers = new Map<number, SectionAssembler>();
  /** program_number → PMT PID, in PAT order. */
  private programs: { programNumber: number; pid: number }[] = [];
  /** program_number → PIDs its PMT names (PCR and streams). */
  private readonly streams = new Map<number, number[]>();
  private current: number[] = [...SI_PIDS];
  private rev = 0;

  constructor(
    services: ReadonlySet<number | undefined>,
    private readonly onChange: (pids: readonly number[]) => void = () => undefined,
  ) {
    this.wanted = new Set(services);
    this.assemblers.set(PAT_PID, this.assembler(PAT_PID));
  }

  /** The PIDs to pass now, sorted. */
  get pids(): readonly number[] {
    return this.current;
  }

  /** Counts changes of what the tables say (PAT programs, a program's PIDs). */
  get revision(): number {
    return this.rev;
  }

  /**
   * The PIDs of one service as its PMT names them (PMT, PCR and streams; the SI PIDs apart),
   * or undefined while the PAT or that PMT is unknown, or the PAT does not list it.
   */
  pidsOf(service: number): readonly number[] | undefined {
    const entry = this.programs.find((p) => p.programNumber === service);
    const streams = this.streams.get(service);
    if (entry === undefined || streams === undefined) return undefined;
    return [entry.pid, ...streams];
  }

  /** The services changed (channels added or removed by a reload). */
  setServices(services: ReadonlySet<number | undefined>): void {
    this.wanted = new Set(services);
    this.update();
  }

  /** The input started again (a new tune): forget the tables, keep the wanted services. */
  reset(): void {
    this.tables.reset();
    this.programs = [];
    this.streams.clear();
    for (const a of this.assemblers.values()) a.reset();
    this.rev++;
    this.update();
  }

  packet(b: Uint8Array, o: number): void {
    this.assemblers.get(getPid(b, o))?.push(b, o);
  }

  private assembler(pid: number): SectionAssembler {
    return new SectionAssembler(pid, { onSection: (s, p) => this.section(s, p) });
  }

  private section(s: Uint8Array, pid: number): void {
    if (pid === PAT_PID) {
      if (s[0] !== PAT_TABLE_ID) return;
      const table = this.tables.push(s);
      if (table === null) return;
      this.programs = parsePat(table).programs.filter((p) => p.programNumber !== 0);
      for (const n of [...this.streams.keys()]) {
        if (!this.programs.some((p) => p.programNumber === n)) this.streams.delete(n);
      }
      this.rev++;
      this.update();
      return;
    }
    if (s[0] !== PMT_TABLE_ID) return;
    const table = this.tables.push(s, pid);
    if (table === null) return;
    const pmt = parsePmt(table[0]);
    if (!this.programs.some((p) => p.pid === pid && p.programNumber === pmt.programNumber)) return;
    const pids = [pmt.pcrPid, ...pmt.streams.map((st) => st.pid)].filter((p) => p < 0x1fff);
    this.streams.set(pmt.programNumber, pids);
    this.rev++;
    this.update();
  }

  /** The programs wanted now, as PAT entries. */
  private wantedPrograms(): { programNumber: number; pid: number }[] {
    return this.programs.filter(
      (p, i) =>
        this.wanted.has(ALL_SERVICES) ||
        this.wanted.has(p.programNumber) ||
        (i === 0 && this.wanted.has(undefined)),
    );
  }

  private update(): void {
    const set = new Set<number>(SI_PIDS);
    const pmtPids = new Set<number>();
    for (const p of this.wantedPrograms()) {
      set.add(p.pid);
      pmtPids.add(p.pid);
      for (const pid of this.streams.get(p.programNumber) ?? []) set.add(pid);
    }
    for (const pid of pmtPids) {
      if (!this.assemblers.has(pid)) this.assemblers.set(pid, this.assembler(pid));
    }
    for (const pid of [...this.assemblers.keys()]) {
      if (pid !== PAT_PID && !pmtPids.has(pid)) this.assemblers.delete(pid);
    }
    const next = [...set].sort((a, b) => a - b);
    if (next.length === this.current.length && next.every((p, i) => p === this.current[i])) {
      return;
    }
    this.current = next;
    this.onChange(next);
  }
}
