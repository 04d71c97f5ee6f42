// A large table sent a little at a time: the EIT schedule of a service (ETSI EN 300 468
// §5.2.4), tens to hundreds of packets, goes out as a carousel of whole sections, a few
// packets in each PSI block, so it never makes a burst and each cycle takes about cycleMs.
// Whole sections only: the EIT p/f shares PID 0x0012, and a p/f section starting between two
// packets of a schedule section would cut that one short (ISO/IEC 13818-1 §2.4.4.1: a new
// section may start only after the previous one ended). The counter is the PID's, shared.
// A new set of sections replaces the old one at the end of a cycle, so no section is cut.

import { packetizeSections } from '../psi/section.js';
import { setCc, TS_PACKET_SIZE } from '../packet.js';
import { PidCounter } from './psi-table.js';

export class SectionCarousel {
  /** Packets of each section. */
  private sections: Uint8Array[] = [];
  private pending: Uint8Array[] | null = null;
  private next = 0;
  /** The chunk of the current walk: sections [from, to). */
  private from = 0;
  private to = 0;
  private chunkPackets = 0;
  private advanced = false;

  constructor(
    readonly pid: number,
    readonly counter = new PidCounter(),
  ) {}

  get empty(): boolean {
    return this.sections.length === 0 && this.pending === null;
  }

  /** The sections to cycle through (empty: stop); they take over when the cycle ends. */
  set(sections: readonly Uint8Array[]): void {
    const packets = sections.map((s) => packetizeSections([s], this.pid));
    if (this.sections.length === 0) {
      this.sections = packets;
      this.next = 0;
    } else this.pending = packets;
  }

  /** A walk begins: the next whole sections, about `budget` packets (at least one section). */
  begin(budget: number): number {
    if (this.next === 0 && this.pending !== null) {
      this.sections = this.pending;
      this.pending = null;
    }
    this.advanced = false;
    this.from = this.next;
    this.to = this.next;
    this.chunkPackets = 0;
    const n = this.sections.length;
    while (
      this.to < n &&
      (this.chunkPackets === 0 || this.chunkPackets + this.size(this.to) <= budget)
    ) {
      this.chunkPackets += this.size(this.to);
      this.to++;
    }
    return this.chunkPackets;
  }

  /** The first block of the walk started: the cursor moves on (later blocks repeat the chunk). */
  blockStart(): void {
    if (this.advanced || this.chunkPackets === 0) return;
    this.advanced = true;
    this.next = this.to >= this.sections.length ? 0 : this.to;
  }

  /** Writes packet i of the current chunk at dst[at]. */
  writePacket(i: number, dst: Uint8Array, at: number): void {
    let s = this.from;
    while (i >= this.size(s)) i -= this.size(s++);
    const src = this.sections[s];
    for (let k = 0, p = i * TS_PACKET_SIZE; k < TS_PACKET_SIZE; k++) dst[at + k] = src[p + k];
    setCc(dst, at, this.counter.next());
  }

  /** Packets in one whole cycle. */
  get cyclePackets(): number {
    let n = 0;
    for (const s of this.sections) n += s.length / TS_PACKET_SIZE;
    return n;
  }

  private size(s: number): number {
    return this.sections[s].length / TS_PACKET_SIZE;
  }
}
