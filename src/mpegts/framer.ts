// Cuts a byte stream into 188-byte transport packets: ISO/IEC 13818-1 §2.4.3.1 (sync_byte) with
// the sync acquisition rule of ETSI TR 101 290 §5.2.1 (check 1.1): sync is acquired on five
// consecutive sync bytes 188 bytes apart, and lost at the first boundary without one. Garbage
// between packets is skipped and counted. (Two sync bytes 188 apart are not enough evidence:
// random bytes hold such a pair every 64 KiB, several times a second at broadcast rates, and a
// framer that locked on them handed garbage on as packets and hid a dead feed.)
//
// Chunks need not be aligned: a packet split across chunks is carried in the framer's own
// buffer. Bytes are staged in one preallocated buffer and packets are handed out as (buf, off)
// into it, so framing allocates nothing per packet.

import { SYNC_BYTE, TS_PACKET_SIZE } from './packet.js';

export interface PacketSink {
  /** One whole packet at buf[off .. off+188). The bytes may be edited in place. */
  packet(buf: Uint8Array, off: number): void;
}

/** Consecutive sync bytes, one packet apart, that acquire sync (TR 101 290 §5.2.1). */
export const SYNC_ACQUIRE = 5;
const SPAN = (SYNC_ACQUIRE - 1) * TS_PACKET_SIZE;

export class Framer {
  /** Backing store; the staging area is buf[base, base+capacity). */
  private store: Uint8Array;
  private base: number;
  private readonly cap: number;
  private carry = 0;
  private locked = false;
  /** Bytes discarded while searching for sync. */
  bytesSkipped = 0;
  /** Times sync was lost after having been acquired. */
  syncLosses = 0;

  /**
   * @param capacity staging bytes (at least 4 packets)
   * @param store optional backing array and offset to stage into, so that a caller can move
   *   packets with copyWithin inside one array (the remuxer does); default: a private buffer.
   */
  constructor(
    private readonly sink: PacketSink,
    capacity = 1316 * 64,
    store?: { buf: Uint8Array; base: number },
  ) {
    this.cap = Math.max(capacity, TS_PACKET_SIZE * (SYNC_ACQUIRE + 3));
    this.store = store ? store.buf : new Uint8Array(this.cap);
    this.base = store ? store.base : 0;
  }

  /** The backing store the packets handed out are in. */
  get buf(): Uint8Array {
    return this.store;
  }

  /**
   * Stages into `store` from now on, the bytes held moved there (a caller's array that had to
   * grow; the same capacity).
   */
  restage(store: { buf: Uint8Array; base: number }): void {
    store.buf.set(this.store.subarray(this.base, this.base + this.carry), store.base);
    this.store = store.buf;
    this.base = store.base;
  }

  push(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length;) {
      // The staging area holds what is carried (up to SYNC_ACQUIRE packets awaiting sync) and
      // this much of the chunk: never past its end, into the caller's store.
      const n = Math.min(this.cap - this.carry, chunk.length - at);
      this.store.set(
        at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n),
        this.base + this.carry,
      );
      at += n;
      this.scan(this.carry + n, false);
    }
  }

  /** Emits what can still be judged at end of input (a last packet not followed by another). */
  end(): void {
    this.scan(this.carry, true);
    this.bytesSkipped += this.carry;
    this.carry = 0;
  }

  reset(): void {
    this.carry = 0;
    this.locked = false;
  }

  /** How many bytes pending() holds (without a view made for it). */
  get pendingLength(): number {
    return this.carry;
  }

  /** The staged bytes not yet judged (a partial packet, or ones awaiting sync confirmation). */
  pending(): Uint8Array {
    return this.store.subarray(this.base, this.base + this.carry);
  }

  /**
   * Whether the 0x47 at p starts SYNC_ACQUIRE sync bytes one packet apart: 1 yes, -1 no, 0 not
   * yet known (the staged bytes end first; at the end of input, what is there decides).
   */
  private confirm(p: number, len: number, final: boolean): number {
    const b = this.store;
    for (let k = p + TS_PACKET_SIZE; k <= p + SPAN; k += TS_PACKET_SIZE) {
      if (k >= len) return final ? 1 : 0;
      if (b[k] !== SYNC_BYTE) return -1;
    }
    return 1;
  }

  /** Scans staged bytes [base, base+len). */
  private scan(stagedLen: number, final: boolean): void {
    const b = this.store;
    const len = this.base + stagedLen;
    let p = this.base;
    while (p + TS_PACKET_SIZE <= len) {
      if (b[p] === SYNC_BYTE) {
        if (this.locked) {
          this.sink.packet(b, p);
          p += TS_PACKET_SIZE;
          continue;
        }
        const v = this.confirm(p, len, final);
        if (v > 0) {
          this.locked = true;
          this.sink.packet(b, p);
          p += TS_PACKET_SIZE;
          continue;
        }
        if (v === 0) break; // cannot confirm yet: keep as carry
      } else if (this.locked) {
        this.locked = false;
        this.syncLosses++;
      }
      // Search for a 0x47 that the next ones confirm (or that the staged bytes cannot refute).
      let q = p + 1;
      while (q < len && !(b[q] === SYNC_BYTE && this.confirm(q, len, final) >= 0)) q++;
      this.bytesSkipped += q - p;
      p = q;
    }
    // Keep the unjudged tail at the front of the buffer.
    const tail = len - p;
    if (tail > 0 && p > this.base) b.copyWithin(this.base, p, len);
    this.carry = tail;
  }
}
