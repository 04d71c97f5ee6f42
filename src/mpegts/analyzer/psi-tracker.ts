// PSI/SI side of the analyzer: section reassembly on PSI PIDs, the program map, and the
// timers of TR 101 290 checks 1.3 (PAT), 1.5 (PMT), 1.6 (PID), 2.2 (CRC), 2.6 (CAT, wrong
// table), 3.1.a/3.5.a/3.6.a/3.8 (SI repetition), 3.2 (sections < 25 ms apart) and 3.4
// (unreferenced PID). ISO/IEC 13818-1 §2.4.4 (PAT, CAT, PMT), ETSI EN 300 468 §5 (SI PIDs and
// table_ids), TR 101 211 §4.4 (SI repetition).
//
// Timers are deadlines on the analyzer clock (ns). A deadline that passes counts one error and
// re-arms for another full period, so an outage of n periods counts n errors and a table that
// is merely late counts one. Nothing is armed while time is unknown (before the first PCR of a
// file). SI tables are only timed after they have been seen once, unless listed in
// `requiredSi`: a stream without an SDT is not an SDT error by default.

import { SectionAssembler, type SectionFault } from '../psi/assembler.js';
import { TableCollector } from '../psi/table-collector.js';
import { parsePat } from '../psi/pat.js';
import { parsePmt, type Pmt } from '../psi/pmt.js';
import { classifyStream, isPesKind } from '../stream-types.js';
import { CK, CheckCounters } from './checks.js';
import { pidName } from './pcr.js';
import { parseSdt, type SdtService } from '../psi/sdt.js';
import type { ProgramReport } from './report.js';
import { caPids, streamReport, tableName } from './psi-names.js';

export type SiTable = 'nit' | 'sdt' | 'eit' | 'tdt';

export const ROLE_NONE = 0;
export const ROLE_PSI = 1;
/** PES whose PTS interval is checked (video, audio). */
export const ROLE_PES_TIMED = 2;
/** PES read for nothing (subtitles, teletext, data): sparse by nature. */
export const ROLE_PES = 3;

const MS = 1e6;
const PAT_LIMIT = 500 * MS;
const PMT_LIMIT = 500 * MS;
const UNREF_LIMIT = 500 * MS;
const SI_MIN_GAP = 25 * MS;
const NIT = 0;
const SDT = 1;
const EIT0 = 2;
const EIT1 = 3;
const TDT = 4;
const SI_LIMIT = [10_000 * MS, 2_000 * MS, 2_000 * MS, 2_000 * MS, 30_000 * MS];
const SI_CHECK = [CK.NIT, CK.SDT, CK.EIT, CK.EIT, CK.TDT];
const SI_NAME = ['NIT actual', 'SDT actual', 'EIT p/f section 0', 'EIT p/f section 1', 'TDT'];

interface ProgramState {
  programNumber: number;
  pmtPid: number;
  pmt?: Pmt;
}

export interface PsiTrackerOptions {
  pidTimeoutNs: number;
  requiredSi: readonly SiTable[];
}

export class PsiTracker {
  readonly role = new Uint8Array(8192);
  readonly referenced = new Uint8Array(8192);
  /** PCR_PID of the program of each video/audio PID (from its PMT), -1 when none. */
  readonly pcrPidOf = new Int16Array(8192).fill(-1);
  /** rebuild()'s scratch: each PID's role from the PMTs, and which PIDs carry a PMT. */
  private readonly esRoleOf = new Uint8Array(8192);
  private readonly isPmtPid = new Uint8Array(8192);
  catSeen = false;
  private readonly assemblers = new Map<number, SectionAssembler>();
  private readonly tables = new TableCollector();
  private now = -1;
  private timeKnown = false;
  private patDeadline = Infinity;
  private patSeen = false;
  private programs: ProgramState[] = [];
  /** By PMT PID (absent: Infinity, no deadline). */
  private readonly pmtDeadline = new Map<number, number>();
  private pmtPids: number[] = [];
  private readonly siDeadline = new Float64Array(5).fill(Infinity);
  private readonly siSeen = new Uint8Array(5);
  private readonly siLast = new Map<number, number>();
  private readonly services = new Map<number, SdtService>();
  private emmPids: number[] = [];
  private labels = new Map<number, string>();
  /** PIDs watched by PID_error (1.6): ES PIDs of non-sparse kinds and PCR PIDs. */
  private watched: number[] = [];
  /** By watched PID (absent: 0). */
  private readonly watchArm = new Map<number, number>();
  private readonly unrefTracked = new Uint8Array(8192);
  private unrefPending: number[] = [];
  private unrefSince: number[] = [];

  constructor(
    private readonly counters: CheckCounters,
    private readonly lastSeenNs: Float64Array,
    private readonly opts: PsiTrackerOptions,
  ) {
    for (const pid of [0x00, 0x01, 0x10, 0x11, 0x12, 0x14]) this.addPsiPid(pid);
  }

  private addPsiPid(pid: number): void {
    this.role[pid] = ROLE_PSI;
    if (this.assemblers.has(pid)) return;
    this.assemblers.set(
      pid,
      new SectionAssembler(pid, {
        onSection: (s, p) => this.onSection(s, p, false),
        // An unchanged repetition: timed and checked like any section, not parsed again.
        onRepeat: (s, p) => this.onSection(s, p, true),
        onFault: (f, p, t) => this.onFault(f, p, t),
      }),
    );
  }

  /** Feeds a packet of a ROLE_PSI PID at analyzer time nowNs (-1 when unknown). */
  packet(b: Uint8Array, o: number, pid: number, nowNs: number): void {
    this.now = nowNs;
    this.assemblers.get(pid)?.push(b, o);
  }

  /** A scrambled packet on a PSI PID: PAT_error / PMT_error (1.3, 1.5). */
  scrambled(pid: number, nowNs: number): void {
    if (pid === 0) {
      this.counters.error(CK.PAT, nowNs);
      this.counters.note(CK.PAT, 'scrambled');
    } else if (this.pmtPids.includes(pid)) {
      this.counters.error(CK.PMT, nowNs);
      this.counters.note(CK.PMT, pidName(pid) + ' scrambled');
    }
  }

  /** First moment with a known time: arms the timers of what is already known. */
  start(nowNs: number): void {
    if (this.timeKnown) return;
    this.timeKnown = true;
    this.now = nowNs;
    this.patDeadline = nowNs + PAT_LIMIT;
    for (const pid of this.pmtPids) this.pmtDeadline.set(pid, nowNs + PMT_LIMIT);
    for (let i = 0; i < 5; i++) {
      const required = this.opts.requiredSi.includes(siKey(i));
      if (this.siSeen[i] || required) this.siDeadline[i] = nowNs + SI_LIMIT[i];
    }
    for (const pid of this.watched) this.watchArm.set(pid, nowNs);
  }

  /** Evaluates every deadline at nowNs. */
  tick(nowNs: number): void {
    const c = this.counters;
    if (nowNs > this.patDeadline) {
      c.error(CK.PAT, nowNs);
      c.note(CK.PAT, 'interval > 0.5 s');
      this.patDeadline = nowNs + PAT_LIMIT;
    }
    for (const pid of this.pmtPids) {
      if (nowNs > (this.pmtDeadline.get(pid) ?? Infinity)) {
        c.error(CK.PMT, nowNs);
        c.note(CK.PMT, pidName(pid));
        this.pmtDeadline.set(pid, nowNs + PMT_LIMIT);
      }
    }
    for (let i = 0; i < 5; i++) {
      if (nowNs > this.siDeadline[i]) {
        c.error(SI_CHECK[i], nowNs);
        c.note(SI_CHECK[i], SI_NAME[i] + ' missing');
        this.siDeadline[i] = nowNs + SI_LIMIT[i];
      }
    }
    const limit = this.opts.pidTimeoutNs;
    for (const pid of this.watched) {
      const seen = this.lastSeenNs[pid];
      const ref = seen > (this.watchArm.get(pid) ?? 0) ? seen : (this.watchArm.get(pid) ?? 0);
      if (nowNs - ref > limit) {
        c.error(CK.PID, nowNs);
        c.note(CK.PID, pidName(pid));
        this.watchArm.set(pid, nowNs);
      }
    }
    if (this.unrefPending.length) this.tickUnreferenced(nowNs);
  }

  /** A packet of an unreferenced PID ≥ 0x20 (not null): starts its 0.5 s grace (3.4). */
  unreferenced(pid: number, nowNs: number): void {
    if (this.unrefTracked[pid] || nowNs < 0) return;
    this.unrefTracked[pid] = 1;
    this.unrefPending.push(pid);
    this.unrefSince.push(nowNs);
  }

  private tickUnreferenced(nowNs: number): void {
    const keepP: number[] = [];
    const keepT: number[] = [];
    for (let i = 0; i < this.unrefPending.length; i++) {
      const pid = this.unrefPending[i];
      if (this.referenced[pid]) continue;
      if (nowNs - this.unrefSince[i] > UNREF_LIMIT) {
        this.counters.error(CK.UNREF, nowNs);
        this.counters.note(CK.UNREF, pidName(pid));
        continue;
      }
      keepP.push(pid);
      keepT.push(this.unrefSince[i]);
    }
    this.unrefPending = keepP;
    this.unrefSince = keepT;
  }

  private onFault(f: SectionFault, pid: number, tableId: number): void {
    if (f !== 'crc') return;
    this.counters.error(CK.CRC, this.now);
    this.counters.note(CK.CRC, `${tableName(tableId)} on ${pidName(pid)}`);
  }

  /** Checks a repeating table's deadline on arrival, then re-arms it. */
  private arrived(deadline: number, limit: number, check: number, what: string): number {
    if (!this.timeKnown) return Infinity;
    if (this.now > deadline) {
      this.counters.error(check, this.now);
      this.counters.note(check, what);
    }
    return this.now + limit;
  }

  /** A complete section; `repeat`: equal to the PID's previous one (its content known). */
  private onSection(s: Uint8Array, pid: number, repeat: boolean): void {
    const tid = s[0];
    if (pid === 0) {
      if (tid !== 0x00) return this.wrongTable(CK.PAT, pid, tid);
      this.patSeen = true;
      this.patDeadline = this.arrived(this.patDeadline, PAT_LIMIT, CK.PAT, 'interval > 0.5 s');
      if (repeat) return;
      const t = this.tables.push(s, 0);
      if (t) this.onPat(t);
      return;
    }
    if (pid === 1) {
      if (tid !== 0x01) return this.wrongTable(CK.CAT, pid, tid);
      this.catSeen = true;
      if (repeat) return;
      const t = this.tables.push(s, 1);
      if (t) this.onCat(t);
      return;
    }
    if (pid >= 0x10 && pid <= 0x14 && !this.pmtPids.includes(pid))
      return this.onSi(s, pid, tid, repeat);
    if (tid !== 0x02) return;
    this.pmtDeadline.set(
      pid,
      this.arrived(this.pmtDeadline.get(pid) ?? Infinity, PMT_LIMIT, CK.PMT, pidName(pid)),
    );
    if (repeat) return;
    const t = this.tables.push(s, pid);
    if (t) this.onPmt(parsePmt(t[0]), pid);
  }

  private wrongTable(check: number, pid: number, tid: number): void {
    this.counters.error(check, this.now);
    this.counters.note(check, `table_id 0x${tid.toString(16).padStart(2, '0')} on ${pidName(pid)}`);
  }

  private onSi(s: Uint8Array, pid: number, tid: number, repeat: boolean): void {
    let slot = -1;
    if (pid === 0x10) {
      if (tid === 0x40) slot = NIT;
      else if (tid !== 0x41 && tid !== 0x72) return this.wrongTable(CK.NIT, pid, tid);
    } else if (pid === 0x11) {
      if (tid === 0x42) {
        slot = SDT;
        if (!repeat) for (const sv of parseSdt([s]).services) this.services.set(sv.serviceId, sv);
      } else if (tid !== 0x46 && tid !== 0x4a && tid !== 0x72)
        return this.wrongTable(CK.SDT, pid, tid);
    } else if (pid === 0x12) {
      if (tid === 0x4e && s.length > 8 && s[6] <= 1) slot = s[6] === 0 ? EIT0 : EIT1;
      else if ((tid < 0x4e || tid > 0x6f) && tid !== 0x72) return this.wrongTable(CK.EIT, pid, tid);
    } else if (pid === 0x14) {
      if (tid === 0x70) slot = TDT;
      else if (tid !== 0x73 && tid !== 0x72) return this.wrongTable(CK.TDT, pid, tid);
    } else {
      return;
    }
    if (tid === 0x72) return;
    if (slot >= 0) {
      this.siSeen[slot] = 1;
      const d = this.arrived(this.siDeadline[slot], SI_LIMIT[slot], SI_CHECK[slot], SI_NAME[slot]);
      this.siDeadline[slot] = d;
    }
    // 3.2: the same section again within 25 ms (TR 101 211 §4.4).
    if (this.now >= 0) {
      const syntax = (s[1] & 0x80) !== 0 && s.length > 8;
      const ext = syntax ? (s[3] << 8) | s[4] : 0;
      const sec = syntax ? s[6] : 0;
      const key = ((pid * 256 + tid) * 65536 + ext) * 256 + sec;
      const last = this.siLast.get(key);
      if (last !== undefined && this.now - last < SI_MIN_GAP) this.counters.warning(CK.SI_REP);
      this.siLast.set(key, this.now);
    }
  }

  private onPat(sections: Uint8Array[]): void {
    const pat = parsePat(sections);
    const programs: ProgramState[] = [];
    const pmtPids: number[] = [];
    for (const p of pat.programs) {
      if (p.programNumber === 0) continue;
      const old = this.programs.find(
        (x) => x.programNumber === p.programNumber && x.pmtPid === p.pid,
      );
      programs.push(old ?? { programNumber: p.programNumber, pmtPid: p.pid });
      if (!pmtPids.includes(p.pid)) pmtPids.push(p.pid);
    }
    for (const pid of this.pmtPids) if (!pmtPids.includes(pid)) this.pmtDeadline.set(pid, Infinity);
    for (const pid of pmtPids) {
      if (!this.pmtPids.includes(pid) && this.timeKnown)
        this.pmtDeadline.set(pid, this.now + PMT_LIMIT);
      this.addPsiPid(pid);
    }
    this.programs = programs;
    this.pmtPids = pmtPids;
    this.rebuild(pat.programs.filter((p) => p.programNumber === 0).map((p) => p.pid));
  }

  private onCat(sections: Uint8Array[]): void {
    const emm: number[] = [];
    for (const s of sections) {
      const end = s.length - 4;
      let p = 8;
      while (p + 2 <= end) {
        const len = s[p + 1];
        if (s[p] === 0x09 && len >= 4 && p + 2 + len <= end)
          emm.push(((s[p + 4] & 0x1f) << 8) | s[p + 5]);
        p += 2 + len;
      }
    }
    this.emmPids = emm;
    this.rebuild(null);
  }

  private onPmt(pmt: Pmt, pid: number): void {
    const prog = this.programs.find(
      (p) => p.programNumber === pmt.programNumber && p.pmtPid === pid,
    );
    if (!prog) return;
    prog.pmt = pmt;
    this.rebuild(null);
  }

  private nitPids: number[] = [];

  /** Recomputes references, roles, labels and PID_error watches from PAT, PMTs and CAT. */
  private rebuild(nitPids: number[] | null): void {
    if (nitPids) this.nitPids = nitPids;
    const ref = this.referenced;
    ref.fill(0);
    const labels = new Map<number, string>([
      [0x00, 'PAT'],
      [0x01, 'CAT'],
      [0x10, 'NIT'],
      [0x11, 'SDT/BAT'],
      [0x12, 'EIT'],
      [0x14, 'TDT/TOT'],
      [0x1fff, 'null'],
    ]);
    for (let pid = 0; pid < 0x20; pid++) ref[pid] = 1;
    ref[0x1fff] = 1;
    for (const pid of this.nitPids) {
      ref[pid] = 1;
      labels.set(pid, 'NIT');
    }
    for (const pid of this.emmPids) {
      ref[pid] = 1;
      labels.set(pid, 'EMM');
    }
    const watched: number[] = [];
    const watch = (pid: number): void => {
      if (watched.includes(pid)) return;
      watched.push(pid);
      if (!this.watched.includes(pid)) this.watchArm.set(pid, this.timeKnown ? this.now : Infinity);
    };
    for (const pid of this.pmtPids) {
      ref[pid] = 1;
      labels.set(pid, 'PMT');
    }
    // By PID: the role its PMT gives it, and whether it carries a PMT (scratch, reused: the
    // 8192-PID pass below took a Map lookup and an array search per PID, 50-150 µs a rebuild, at
    // every channel's first PAT and PMT: 25-72 ms of a channel worker's start at 160 channels,
    // 14 ms with the arrays).
    const esRole = this.esRoleOf;
    esRole.fill(ROLE_NONE);
    const isPmt = this.isPmtPid;
    isPmt.fill(0);
    this.pcrPidOf.fill(-1);
    for (const prog of this.programs) {
      const pmt = prog.pmt;
      if (!pmt) continue;
      for (const pid of caPids(pmt.programInfo)) {
        ref[pid] = 1;
        labels.set(pid, 'ECM');
      }
      for (const s of pmt.streams) {
        const cls = classifyStream(s.streamType, s.descriptors);
        ref[s.pid] = 1;
        if (!labels.has(s.pid)) labels.set(s.pid, `${cls.kind} ${cls.codec}`);
        const timed = cls.kind === 'video' || cls.kind === 'audio';
        esRole[s.pid] = timed ? ROLE_PES_TIMED : isPesKind(cls.kind) ? ROLE_PES : ROLE_NONE;
        if (timed || cls.kind === 'teletext') watch(s.pid);
        if (timed && pmt.pcrPid !== 0x1fff) this.pcrPidOf[s.pid] = pmt.pcrPid;
        for (const pid of caPids(s.descriptors)) {
          ref[pid] = 1;
          labels.set(pid, 'ECM');
        }
      }
      if (pmt.pcrPid !== 0x1fff) {
        ref[pmt.pcrPid] = 1;
        if (!labels.has(pmt.pcrPid)) labels.set(pmt.pcrPid, 'PCR');
        watch(pmt.pcrPid);
      }
    }
    for (const pid of this.pmtPids) isPmt[pid] = 1;
    const role = this.role;
    for (let pid = 0x20; pid < 0x1fff; pid++) {
      if (role[pid] === ROLE_PSI && isPmt[pid] === 0) role[pid] = ROLE_NONE;
      if (role[pid] !== ROLE_PSI) role[pid] = esRole[pid];
    }
    this.labels = labels;
    this.watched = watched;
  }

  label(pid: number): string {
    return this.labels.get(pid) ?? 'unreferenced';
  }

  programReports(): ProgramReport[] {
    return this.programs.map((p) => {
      const r: ProgramReport = {
        programNumber: p.programNumber,
        pmtPid: p.pmtPid,
        pcrPid: p.pmt ? p.pmt.pcrPid : -1,
        streams: [],
      };
      const sv = this.services.get(p.programNumber);
      if (sv) {
        r.serviceName = sv.serviceName;
        r.providerName = sv.providerName;
      }
      if (p.pmt) r.streams = p.pmt.streams.map(streamReport);
      return r;
    });
  }

  get hasPat(): boolean {
    return this.patSeen;
  }
}

function siKey(slot: number): SiTable {
  return slot === NIT ? 'nit' : slot === SDT ? 'sdt' : slot === TDT ? 'tdt' : 'eit';
}
