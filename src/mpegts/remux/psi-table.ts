// One output PSI/SI table, kept as ready-made TS packets and re-sent on every repetition with the
// continuity counter of its PID (ISO/IEC 13818-1 §2.4.3.3): DVBlast's cached-table idea. The
// version_number advances (mod 32, §2.4.4.5) only when the table's content really changes.

import { packetizeSections } from '../psi/section.js';
import { setCc, TS_PACKET_SIZE } from '../packet.js';

/** The continuity counter of one PID, shared by the tables sent on it (EIT p/f and schedule). */
export class PidCounter {
  cc = 15;
  /** The next counter value (mod 16). */
  next(): number {
    this.cc = (this.cc + 1) & 0x0f;
    return this.cc;
  }
}

/** A table as it is being sent (PsiTable.state): what an output carried to another thread needs. */
export interface PsiTableState {
  packets: Uint8Array;
  version: number;
  content: string;
  cc: number;
}

export class PsiTable {
  private packets: Uint8Array = new Uint8Array(0);
  private version = -1;
  private content = '';

  constructor(
    readonly pid: number,
    readonly counter = new PidCounter(),
  ) {}

  /** The table as sent now, its version and its PID's continuity counter (a copy). */
  state(): PsiTableState {
    return {
      packets: this.packets.slice(),
      version: this.version,
      content: this.content,
      cc: this.counter.cc,
    };
  }

  /** Goes on from `s` (another PsiTable's state): the same packets, version and counter. */
  restore(s: PsiTableState): void {
    this.packets = s.packets;
    this.version = s.version;
    this.content = s.content;
    this.counter.cc = s.cc;
  }

  /** Number of packets one repetition takes. */
  get packetCount(): number {
    return this.packets.length / TS_PACKET_SIZE;
  }

  get currentVersion(): number {
    return this.version;
  }

  /**
   * Sets the table from a builder taking a version number. Rebuilds only when the content
   * (built with version 0) differs from what is being sent; returns true when it changed.
   */
  update(build: (version: number) => Uint8Array[]): boolean {
    const probe = build(0);
    const key = probe
      .map((s) => Array.from(s.subarray(0, s.length - 4), (x) => x.toString(16)).join(','))
      .join('|');
    if (key === this.content) return false;
    this.content = key;
    this.version = (this.version + 1) & 0x1f;
    this.packets = packetizeSections(build(this.version), this.pid);
    return true;
  }

  /**
   * Sets the table from sections made elsewhere, version included (a table shared by several
   * outputs, or one without a version such as the TDT). Continuity carries on.
   */
  setSections(sections: readonly Uint8Array[]): void {
    this.packets = packetizeSections(sections, this.pid);
    this.content = '';
  }

  /** Copies one repetition into dst at off with this PID's continuity counters; returns packets written. */
  writeTo(dst: Uint8Array, off: number): number {
    dst.set(this.packets, off);
    const n = this.packetCount;
    for (let i = 0; i < n; i++) setCc(dst, off + i * TS_PACKET_SIZE, this.counter.next());
    return n;
  }

  /**
   * Writes packet i of one repetition at dst[off] (the walk places PSI one packet per slot).
   * A plain loop rather than set(subarray): no view object per PSI packet.
   */
  writePacket(i: number, dst: Uint8Array, off: number): void {
    const src = this.packets;
    for (let k = 0, p = i * TS_PACKET_SIZE; k < TS_PACKET_SIZE; k++) dst[off + k] = src[p + k];
    setCc(dst, off, this.counter.next());
  }
}
