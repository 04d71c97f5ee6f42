// Continuity per PID: ETSI TR 101 290 §5.2.1 item 1.4 (Continuity_count_error: "incorrect
// packet order, a packet occurs more than twice, lost packet") and ISO/IEC 13818-1 §2.4.3.3
// (continuity_counter and duplicate packets).
//
// Payload packets (adaptation_field_control 01/11) must carry last+1; adaptation-only packets
// repeat last. A packet with discontinuity_indicator may carry any CC. One error per gap,
// however many packets are missing; the missing count ((cc - expected) mod 16) feeds the MDI
// MLR. Null packets (PID 0x1FFF) are not checked.
//
// Duplicates (§2.4.3.3): "duplicate packets may be sent as two, and only two, consecutive
// Transport Stream packets of the same PID"; same continuity_counter, payload present, and
// "each byte of the original packet shall be duplicated, with the exception that in the program
// clock reference fields, if present, a valid value shall be encoded". So a payload packet
// with the previous CC is a duplicate only when its bytes equal the previous packet's (PCR
// excluded; compared through a 32-bit hash kept per PID, no copy of the packet). The first
// duplicate is allowed and counted apart (informational, not an error); a third copy is a
// 1.4 error; a packet with the previous CC and other bytes is an ordinary continuity error.
// A stream known to carry no duplicates (the remuxer's own output: it never forwards one) is
// checked without the hash (new Continuity(false)): there a repeated CC is a continuity error.

import { TS_PACKET_SIZE } from '../packet.js';

const NPID = 8192;
const NULL_PID = 0x1fff;

/** Result of Continuity.packet(). */
export const CC_OK = 0;
/** A continuity error (gap, wrong order, same CC with other bytes): see `lost`. */
export const CC_GAP = 1;
/** The one allowed duplicate of the previous packet: not an error, not analyzed further. */
export const CC_DUP = 2;
/** A further copy of a duplicated packet: a 1.4 error, not analyzed further. */
export const CC_EXTRA_COPY = 3;

export class Continuity {
  /** 1.4 errors per PID (PIDs with none are absent: errors are rare, PIDs many). */
  readonly errors = new Map<number, number>();
  /** Allowed duplicates per PID (§2.4.3.3), not errors. */
  readonly duplicates = new Map<number, number>();
  /** Byte position of the PID's last packet (where a continuity gap began). */
  readonly lastPos = new Float64Array(NPID);
  /** Packets missing in the gap found by the last packet() that returned CC_GAP. */
  lost = 0;
  private readonly lastCc = new Int8Array(NPID).fill(-1);
  private readonly copies = new Uint8Array(NPID);
  /** 1 when the PID's last packet carried payload (only then can a packet duplicate it). */
  private readonly lastPayload = new Uint8Array(NPID);
  private readonly lastHash = new Int32Array(NPID);

  /** `allowDuplicates` false: the stream never carries §2.4.3.3 duplicates (see above). */
  constructor(private readonly allowDuplicates = true) {}

  /**
   * Checks the packet at b[o] (PID `pid`, at byte position `pos`; adaptation field flags and
   * length already read, 0 when absent). Returns CC_OK, CC_GAP, CC_DUP or CC_EXTRA_COPY.
   */
  packet(
    b: Uint8Array,
    o: number,
    pid: number,
    pos: number,
    afFlags: number,
    afLen: number,
  ): number {
    if (pid === NULL_PID) return CC_OK;
    const b3 = b[o + 3];
    const cc = b3 & 0x0f;
    const last = this.lastCc[pid];
    const payload = (b3 & 0x10) !== 0;
    const hash = payload && this.allowDuplicates ? packetHash(b, o, afFlags, afLen) : 0;
    let result = CC_OK;
    if (last >= 0 && (afFlags & 0x80) === 0) {
      if (payload) {
        const expected = (last + 1) & 0x0f;
        if (cc !== expected) {
          if (
            cc === last &&
            this.allowDuplicates &&
            this.lastPayload[pid] === 1 &&
            hash === this.lastHash[pid]
          ) {
            const n = this.copies[pid];
            if (n < 255) this.copies[pid] = n + 1;
            if (n >= 1) {
              this.errors.set(pid, (this.errors.get(pid) ?? 0) + 1);
              this.lost = 0;
              return CC_EXTRA_COPY;
            }
            this.duplicates.set(pid, (this.duplicates.get(pid) ?? 0) + 1);
            return CC_DUP;
          }
          result = this.gap(pid, (cc - expected) & 0x0f);
        }
      } else if (cc !== last) {
        result = this.gap(pid, (cc - last) & 0x0f);
      }
    }
    this.copies[pid] = 0;
    this.lastCc[pid] = cc;
    this.lastPos[pid] = pos;
    this.lastPayload[pid] = payload ? 1 : 0;
    this.lastHash[pid] = hash;
    return result;
  }

  private gap(pid: number, lost: number): number {
    this.errors.set(pid, (this.errors.get(pid) ?? 0) + 1);
    this.lost = lost;
    return CC_GAP;
  }
}

/**
 * A 32-bit hash (FNV-1a step over 4-byte words) of bytes 1..187 of the packet, the 6 PCR bytes
 * left out (§2.4.3.3: a duplicate may carry a fresh PCR). Byte 3 (CC) is included: it is equal
 * in a duplicate anyway.
 */
function packetHash(b: Uint8Array, o: number, afFlags: number, afLen: number): number {
  const P = 0x01000193;
  let h = Math.imul(0x811c9dc5 ^ (b[o + 1] | (b[o + 2] << 8) | (b[o + 3] << 16)), P);
  let i = o + 4;
  if ((afFlags & 0x10) !== 0 && afLen >= 7) {
    // PCR at o+6..o+11: keep bytes 4 and 5 (length, flags), skip to o+12.
    h = Math.imul(h ^ (b[i] | (b[i + 1] << 8)), P);
    i = o + 12;
  }
  const end = o + TS_PACKET_SIZE;
  for (; i < end; i += 4)
    h = Math.imul(h ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)), P);
  return h;
}
