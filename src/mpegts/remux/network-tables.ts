// The SI a channel's output carries besides its own PAT/PMT/SDT, riding in the remuxer's PSI
// blocks when due:
// - NIT actual (ETSI EN 300 468 §5.2.1, PID 0x0010): sections made by the caller for the whole
//   line-up, version included, so that every output of a headend carries the same table;
// - TDT and TOT (§5.2.5, §5.2.6, PID 0x0014), stamped at the output time of the block that
//   carries them through a UTC reference the caller keeps current (output time ↔ UTC), the TOT
//   with the local_time_offset entries the caller's function gives for that instant;
// - the service's EIT present/following (§5.2.4, PID 0x0012, table_id 0x4E), sections built by
//   the caller from its guide, version moved here when their content changes;
// - its EIT schedule (table_id 0x50…), a carousel of whole sections, a few packets in every
//   PSI block, one cycle about every scheduleCycleMs (section-carousel.ts).
// Repetition (TS 101 211 §4.4, TR 101 290 3.1.a/3.6.a/3.8): NIT every nitIntervalMs (≤ 10 s),
// EIT p/f every eitIntervalMs (≤ 2 s), TDT/TOT every timeIntervalMs (≤ 30 s), in output time;
// a table is due at the start of a walk and leaves in its next PSI block, so a gap can exceed
// the interval by one PSI interval and one PCR interval (the defaults leave room for both).
// The TDT/TOT is aimed at whole UTC seconds: after one goes out at UTC u, the next is due at
// ⌊u⌋ + the interval, so the second it carries is at most one PSI interval old when it leaves.
//
// The remuxer asks at the start of each walk (beginWalk) which of them ride in its PSI blocks:
// a walk's blocks all have the same size, so a table due at the start of a walk goes in each
// of its blocks (walks are one PCR interval long, rarely holding two blocks), each copy stamped
// at its own block's time.

import { PCR_HZ, PCR_MODULUS, pcrDelta } from '../packet.js';
import { NIT_PID } from '../psi/nit.js';
import { EIT_PID } from '../psi/eit.js';
import { serializeTdt, serializeTot, TDT_TOT_PID, type LocalTimeOffset } from '../psi/tdt-tot.js';
import { PsiTable, type PsiTableState } from './psi-table.js';
import { SectionCarousel } from './section-carousel.js';

const MS = PCR_HZ / 1000;

export interface NetworkTablesOptions {
  /** NIT repetition, ms of output time. Default 5000. */
  nitIntervalMs?: number;
  /** TDT/TOT repetition, ms of output time. Default 5000. */
  timeIntervalMs?: number;
  /** EIT present/following repetition, ms of output time. Default 1500. */
  eitIntervalMs?: number;
  /** One cycle of the EIT schedule, ms (TS 101 211: ≤ 10 s for the next days). Default 8000. */
  scheduleCycleMs?: number;
  /** The PSI interval of the output (blocks per second), ms. Default 100. */
  psiIntervalMs?: number;
  /** The TOT's local_time_offset entries at a UTC instant (ms); absent: no TOT, TDT only. */
  localTimeOffsets?: (utcMs: number) => readonly LocalTimeOffset[];
}

/**
 * Where the network tables stand (NetworkTables.state): each table's version and continuity
 * counter, when each is next due, the UTC reference. The EIT schedule's sections are not in it:
 * the channel that goes on sets them again.
 */
export interface NetworkTablesState {
  nit: PsiTableState;
  time: PsiTableState;
  eitPf: PsiTableState;
  hasNit: boolean;
  hasEit: boolean;
  due: { nit: number; time: number; eit: number };
  refT: number;
  refUtcMs: number;
}

export class NetworkTables {
  private readonly nit = new PsiTable(NIT_PID);
  private readonly time = new PsiTable(TDT_TOT_PID);
  private readonly eitPf = new PsiTable(EIT_PID);
  private readonly schedule = new SectionCarousel(EIT_PID, this.eitPf.counter);
  private schedulePackets = 0;
  private readonly scheduleShare: number;
  private hasNit = false;
  private hasEit = false;
  private eitDue = -Infinity;
  private withEit = false;
  private nitDue = -Infinity;
  private timeDue = -Infinity;
  private withNit = false;
  private withTime = false;
  /** Output time (27 MHz, any unwrapping) and the UTC ms it corresponds to; NaN until set. */
  private refT = NaN;
  private refUtcMs = NaN;
  private readonly nitTicks: number;
  private readonly timeTicks: number;
  private readonly eitTicks: number;
  private readonly offsets: ((utcMs: number) => readonly LocalTimeOffset[]) | undefined;

  constructor(o: NetworkTablesOptions = {}) {
    this.nitTicks = (o.nitIntervalMs ?? 5000) * MS;
    this.timeTicks = (o.timeIntervalMs ?? 5000) * MS;
    this.eitTicks = (o.eitIntervalMs ?? 1500) * MS;
    this.scheduleShare = (o.psiIntervalMs ?? 100) / (o.scheduleCycleMs ?? 8000);
    this.offsets = o.localTimeOffsets;
  }

  state(): NetworkTablesState {
    return {
      nit: this.nit.state(),
      time: this.time.state(),
      eitPf: this.eitPf.state(),
      hasNit: this.hasNit,
      hasEit: this.hasEit,
      due: { nit: this.nitDue, time: this.timeDue, eit: this.eitDue },
      refT: this.refT,
      refUtcMs: this.refUtcMs,
    };
  }

  /** Goes on from another NetworkTables' state (an output carried to another thread). */
  restore(s: NetworkTablesState): void {
    this.nit.restore(s.nit);
    this.time.restore(s.time);
    this.eitPf.restore(s.eitPf);
    this.hasNit = s.hasNit;
    this.hasEit = s.hasEit;
    this.nitDue = s.due.nit;
    this.timeDue = s.due.time;
    this.eitDue = s.due.eit;
    this.refT = s.refT;
    this.refUtcMs = s.refUtcMs;
  }

  /** The NIT to carry (sections with their version), or null for none. Sent at the next block. */
  setNit(sections: readonly Uint8Array[] | null): void {
    this.hasNit = sections !== null && sections.length > 0;
    this.nit.setSections(this.hasNit ? sections! : []);
    this.nitDue = -Infinity;
  }

  /**
   * The service's EIT p/f: a builder of its sections for a version number (called with 0 to
   * compare contents; the version moves only on a change, which goes out with the next block),
   * or null for none.
   */
  setEitPf(build: ((version: number) => Uint8Array[]) | null): void {
    if (build === null) {
      this.hasEit = false;
      return;
    }
    if (this.eitPf.update(build) || !this.hasEit) this.eitDue = -Infinity;
    this.hasEit = true;
  }

  /** The service's EIT schedule sections (version included); [] for none. */
  setEitSchedule(sections: readonly Uint8Array[]): void {
    this.schedule.set(sections);
  }

  /** Output time `t27` (27 MHz) leaves at UTC `utcMs`. TDT/TOT start once this is known. */
  setUtcReference(t27: number, utcMs: number): void {
    this.refT = t27 % PCR_MODULUS;
    this.refUtcMs = utcMs;
  }

  /** UTC ms of output time t, NaN before a reference. */
  utcAt(t: number): number {
    if (Number.isNaN(this.refT)) return NaN;
    return this.refUtcMs + pcrDelta(t % PCR_MODULUS, this.refT) / MS;
  }

  /** Which tables ride in the PSI blocks of a walk starting at t0: returns their packet count. */
  beginWalk(t0: number): number {
    this.withNit = this.hasNit && t0 >= this.nitDue;
    this.withEit = this.hasEit && t0 >= this.eitDue;
    this.withTime = t0 >= this.timeDue && this.stampTime(t0);
    this.schedulePackets = this.schedule.empty
      ? 0
      : this.schedule.begin(
          Math.max(1, Math.ceil(this.schedule.cyclePackets * this.scheduleShare)),
        );
    return this.packetCount;
  }

  /** Packets they add to each PSI block of the current walk. */
  get packetCount(): number {
    return (
      (this.withNit ? this.nit.packetCount : 0) +
      (this.withEit ? this.eitPf.packetCount : 0) +
      this.schedulePackets +
      (this.withTime ? this.time.packetCount : 0)
    );
  }

  /** A PSI block of the current walk starts at output time t. */
  blockStart(t: number): void {
    if (this.withNit) this.nitDue = t + this.nitTicks;
    if (this.withEit) this.eitDue = t + this.eitTicks;
    if (this.schedulePackets > 0) this.schedule.blockStart();
    if (this.withTime && this.stampTime(t)) {
      const u = this.utcAt(t);
      this.timeDue = t + this.timeTicks - (u - Math.floor(u / 1000) * 1000) * MS;
    }
  }

  /** Writes packet i of the tables in the current walk's blocks at dst[at]. */
  writePacket(i: number, dst: Uint8Array, at: number): void {
    const nn = this.withNit ? this.nit.packetCount : 0;
    const ne = this.withEit ? this.eitPf.packetCount : 0;
    const ns = this.schedulePackets;
    if (i < nn) this.nit.writePacket(i, dst, at);
    else if (i < nn + ne) this.eitPf.writePacket(i - nn, dst, at);
    else if (i < nn + ne + ns) this.schedule.writePacket(i - nn - ne, dst, at);
    else this.time.writePacket(i - nn - ne - ns, dst, at);
  }

  /** Rebuilds TDT (+TOT) for output time t; false without a UTC reference. */
  private stampTime(t: number): boolean {
    const u = this.utcAt(t);
    if (!Number.isFinite(u)) return false;
    const utc = new Date(Math.round(u / 1000) * 1000);
    const sections = [serializeTdt({ utc })];
    if (this.offsets !== undefined)
      sections.push(serializeTot({ utc, offsets: [...this.offsets(u)], otherDescriptors: [] }));
    this.time.setSections(sections);
    return true;
  }
}
