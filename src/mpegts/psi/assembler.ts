// Reassembles PSI/SI sections from the TS packets of one PID. ISO/IEC 13818-1 §2.4.4.1-2.
//
// A packet with payload_unit_start_indicator = 1 begins with pointer_field(8): the number of
// bytes that finish the section already in progress before a new one starts. Several sections
// may follow one another in a packet; a 0xFF where a table_id would be means stuffing up to the
// end of the packet. A section may span many packets. A continuity gap drops the partial
// section (its bytes are lost); a duplicate packet (same CC) is ignored.
//
// Tables repeat unchanged many times a second (§2.4.4 and TS 101 211 §4.4: PAT/PMT every
// 100 ms, SDT 2 s …). A consumer that only needs to know a repetition arrived gives
// `onRepeat`: a section byte for byte equal to the last one emitted on the PID is then handed
// to it as that same array, without a copy or CRC check (its CRC was good: the bytes are the
// ones checked before) and without being parsed again.

import { sectionHasCrc, sectionCrcOk, MAX_PRIVATE_SECTION } from './section.js';
import {
  getCc,
  hasPayload,
  payloadOffset,
  payloadUnitStart,
  discontinuityIndicator,
  TS_PACKET_SIZE,
  transportError,
} from '../packet.js';

export type SectionFault = 'crc' | 'length' | 'continuity';

export interface SectionAssemblerEvents {
  /** A complete section with a good CRC (or none required). The array is the caller's to keep. */
  onSection(section: Uint8Array, pid: number): void;
  /** A section dropped for a bad CRC or impossible length, or a partial one lost to a CC gap. */
  onFault?(fault: SectionFault, pid: number, tableId: number): void;
  /**
   * A complete section equal to the last one passed to onSection on this PID; `section` is
   * that array. Without this handler a repetition goes to onSection like any section.
   */
  onRepeat?(section: Uint8Array, pid: number): void;
}

export class SectionAssembler {
  private readonly buf = new Uint8Array(MAX_PRIVATE_SECTION + TS_PACKET_SIZE);
  private len = 0;
  /** Total length of the section being assembled; -1 when fewer than 3 bytes are in. */
  private need = -1;
  private collecting = false;
  private lastCc = -1;
  /** The last section given to onSection (kept only when the consumer has onRepeat). */
  private last: Uint8Array | undefined;

  constructor(
    readonly pid: number,
    private readonly events: SectionAssemblerEvents,
  ) {}

  reset(): void {
    this.collecting = false;
    this.len = 0;
    this.need = -1;
    this.lastCc = -1;
    this.last = undefined;
  }

  /** Feeds the 188-byte packet at buf[o]. The packet's PID must be this assembler's. */
  push(b: Uint8Array, o: number): void {
    if (transportError(b, o) || !hasPayload(b, o)) return;
    const cc = getCc(b, o);
    if (this.lastCc >= 0) {
      if (cc === this.lastCc && !discontinuityIndicator(b, o)) return; // duplicate
      if (cc !== ((this.lastCc + 1) & 0x0f) && !discontinuityIndicator(b, o) && this.collecting) {
        this.events.onFault?.('continuity', this.pid, this.buf[0]);
        this.collecting = false;
      }
    }
    this.lastCc = cc;
    const po = payloadOffset(b, o);
    if (po < 0) return;
    let p = o + po;
    const end = o + TS_PACKET_SIZE;
    if (payloadUnitStart(b, o)) {
      const pointer = b[p++];
      if (p + pointer > end) {
        this.collecting = false;
        return;
      }
      if (this.collecting) this.append(b, p, p + pointer);
      this.collecting = false;
      p += pointer;
      while (p < end && b[p] !== 0xff) {
        this.collecting = true;
        this.len = 0;
        this.need = -1;
        p = this.append(b, p, end);
      }
    } else if (this.collecting) {
      this.append(b, p, end);
    }
  }

  /** Appends b[from, from+n) to the section (a loop: no view object per PSI packet). */
  private copy(b: Uint8Array, from: number, n: number): void {
    const buf = this.buf;
    for (let k = 0, at = this.len; k < n; k++) buf[at + k] = b[from + k];
    this.len += n;
  }

  /** Copies bytes of the current section; returns where it stopped. Emits when complete. */
  private append(b: Uint8Array, from: number, to: number): number {
    let p = from;
    if (this.need < 0) {
      const n = Math.min(3 - this.len, to - p);
      this.copy(b, p, n);
      p += n;
      if (this.len < 3) return p;
      this.need = 3 + (((this.buf[1] & 0x0f) << 8) | this.buf[2]);
      if (this.need > MAX_PRIVATE_SECTION || this.need < 3) {
        this.events.onFault?.('length', this.pid, this.buf[0]);
        this.collecting = false;
        return to;
      }
    }
    const n = Math.min(this.need - this.len, to - p);
    this.copy(b, p, n);
    p += n;
    if (this.len === this.need) {
      this.collecting = false;
      if (this.events.onRepeat && this.last && this.sameAsLast()) {
        this.events.onRepeat(this.last, this.pid);
        return p;
      }
      const s = this.buf.slice(0, this.len);
      if (sectionHasCrc(s) && !sectionCrcOk(s)) this.events.onFault?.('crc', this.pid, s[0]);
      else {
        if (this.events.onRepeat) this.last = s;
        this.events.onSection(s, this.pid);
      }
    }
    return p;
  }

  /** Whether the section just completed in buf equals `last`, byte for byte. */
  private sameAsLast(): boolean {
    const last = this.last!;
    const n = this.len;
    if (last.length !== n) return false;
    const buf = this.buf;
    // From the end: the CRC_32 differs first when anything does.
    for (let k = n - 1; k >= 0; k--) if (buf[k] !== last[k]) return false;
    return true;
  }
}
