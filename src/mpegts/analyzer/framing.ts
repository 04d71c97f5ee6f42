// Packet framing with sync-loss hysteresis for arbitrary chunks. ETSI TR 101 290 §5.2.1
// items 1.1 and 1.2: sync is acquired after 5 consecutive sync bytes at 188-byte spacing and
// lost after 2 consecutive corrupted sync bytes (the TR's recommended hysteresis values).
//
// Behaviour, decided only by the bytes (so any split of the input gives the same result):
// - synced, 0x47 at the boundary: the packet goes to the sink.
// - synced, bad byte at boundary B but 0x47 at B+188: one Sync_byte_error; the 188 bytes at
//   B are dropped as unreliable (counted as skipped) and framing continues at B+188.
// - synced, bad bytes at B and B+188: two Sync_byte_errors and one TS_sync_loss; hunting
//   restarts at B+1, so a packet that follows inserted garbage is not lost.
// - hunting: bytes are skipped until 0x47 appears at p, p+188, ..., p+752 (five sync bytes,
//   1.1). Fewer are accepted only for an input shorter than five packets that starts with a
//   packet and is nothing but packets (every complete packet starts with 0x47): a tiny file
//   of our own. Anywhere else, a 0x47 near the end of garbage is not a stream.
// A partial packet or missing look-ahead is carried into the next chunk (at most ~1.1 kB).

import { SYNC_BYTE, TS_PACKET_SIZE } from '../packet.js';

export interface FramerSink {
  /** A 188-byte packet at b[o]; the view is only valid during the call. */
  packet(b: Uint8Array, o: number): void;
  /**
   * n corrupted sync bytes at expected packet boundaries. slotDropped: the 188 bytes at the
   * first one were dropped although the stream stays aligned (the packet's slot existed).
   */
  syncByteError(n: number, slotDropped: boolean): void;
  syncLoss(): void;
}

/** Consecutive sync bytes needed to (re)acquire sync. */
export const SYNC_ACQUIRE = 5;
const LOOKAHEAD = TS_PACKET_SIZE * (SYNC_ACQUIRE - 1) + 1;
/** Bytes of a new chunk copied behind the carried bytes before framing resumes in the chunk. */
const PREFIX = 2048;

export class Framer {
  private readonly carry = new Uint8Array(4096);
  private carryLen = 0;
  private synced = false;
  private everSynced = false;
  /** Bytes not part of any delivered packet. */
  bytesSkipped = 0;

  constructor(private readonly sink: FramerSink) {}

  get isSynced(): boolean {
    return this.synced;
  }

  /** Whether sync was ever acquired (TR 101 290 1.1). */
  get acquired(): boolean {
    return this.everSynced;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.carryLen > 0) {
      const old = this.carryLen;
      const n = Math.min(chunk.length, PREFIX);
      this.carry.set(chunk.subarray(0, n), old);
      const len = old + n;
      const used = this.scan(this.carry, 0, len, old, false);
      if (used < old || n === chunk.length) {
        // Stalled inside the carried bytes, or the chunk was short: keep the rest.
        this.carry.copyWithin(0, used, len);
        this.carryLen = len - used;
        return;
      }
      start = used - old;
    }
    const used = this.scan(chunk, start, chunk.length, chunk.length, false);
    const rest = chunk.length - used;
    if (rest > 0) this.carry.set(chunk.subarray(used), 0);
    this.carryLen = rest;
  }

  /** End of input: frames what is left, counting what cannot be framed as skipped. */
  end(): void {
    const len = this.carryLen;
    this.carryLen = 0;
    if (len > 0) this.scan(this.carry, 0, len, len, true);
  }

  /**
   * Frames b[pos, len) while pos < stopAt; returns where it stopped. Stops early (without
   * `final`) when a decision needs bytes beyond len.
   */
  private scan(b: Uint8Array, pos: number, len: number, stopAt: number, final: boolean): number {
    const sink = this.sink;
    while (pos < stopAt) {
      if (this.synced) {
        // Fast path: aligned packets.
        while (pos < stopAt && pos + TS_PACKET_SIZE <= len && b[pos] === SYNC_BYTE) {
          sink.packet(b, pos);
          pos += TS_PACKET_SIZE;
        }
        if (pos >= stopAt) break;
        if (pos + TS_PACKET_SIZE > len) {
          if (!final) break;
          this.bytesSkipped += len - pos; // truncated last packet
          return len;
        }
        // Corrupted sync byte at an expected boundary.
        if (pos + TS_PACKET_SIZE >= len) {
          if (!final) break;
          sink.syncByteError(1, false);
          this.bytesSkipped += len - pos;
          return len;
        }
        if (b[pos + TS_PACKET_SIZE] === SYNC_BYTE) {
          sink.syncByteError(1, true);
          this.bytesSkipped += TS_PACKET_SIZE;
          pos += TS_PACKET_SIZE;
          continue;
        }
        sink.syncByteError(2, false);
        sink.syncLoss();
        this.synced = false;
        this.bytesSkipped++;
        pos++;
        continue;
      }
      // Hunting.
      if (b[pos] !== SYNC_BYTE) {
        let q = b.indexOf(SYNC_BYTE, pos);
        if (q < 0 || q >= len) q = len;
        if (q > stopAt) q = stopAt;
        this.bytesSkipped += q - pos;
        pos = q;
        continue;
      }
      if (pos + LOOKAHEAD > len) {
        if (!final) break;
        if (!this.everSynced && this.bytesSkipped === 0 && this.confirmsToEnd(b, pos, len)) {
          this.synced = true;
          this.everSynced = true;
          continue;
        }
      } else if (this.confirms(b, pos)) {
        this.synced = true;
        this.everSynced = true;
        continue;
      }
      this.bytesSkipped++;
      pos++;
    }
    return pos;
  }

  private confirms(b: Uint8Array, p: number): boolean {
    for (let k = 1; k < SYNC_ACQUIRE; k++)
      if (b[p + k * TS_PACKET_SIZE] !== SYNC_BYTE) return false;
    return true;
  }

  private confirmsToEnd(b: Uint8Array, p: number, len: number): boolean {
    if (p + TS_PACKET_SIZE > len) return false;
    for (let q = p + TS_PACKET_SIZE; q < len; q += TS_PACKET_SIZE)
      if (b[q] !== SYNC_BYTE) return false;
    return true;
  }
}
