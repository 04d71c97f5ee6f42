// Where a byte stream stands between transport packets (ISO/IEC 13818-1 §2.4.3.1: 188 bytes,
// each starting with sync_byte 0x47), followed chunk by chunk for about one comparison each:
// how many bytes of a packet begun and not yet whole the stream has given so far.
//
// For a source read by one channel, whose chunks (an ffmpeg pipe, an HTTP body) are handed on
// as they come, with no framing of its own: when a second reader makes the source route its
// packets (service-router.ts, whole packets from the next boundary on), the first reader still
// holds the head of the packet astride and must be given its tail (SupervisedSource.lead).
//
// Each chunk checks that a packet starts where the phase says one must (one byte). When it does
// not (bytes lost, garbage), the phase is unknown until a chunk shows three sync bytes one packet
// apart at one offset; a shorter chunk cannot say. Not a framer: TR 101 290's five-sync rule
// (framer.ts) is for whoever reads the packets; this only says where the boundary is.

import { SYNC_BYTE, TS_PACKET_SIZE } from './packet.js';

/** Sync bytes one packet apart, at one offset in one chunk, that find the phase again. */
const FIND = 3;

export class PacketPhase {
  /** Bytes of the last packet begun and not yet whole (0 .. 187); −1 while not known. */
  partial = 0;

  /** A new stream (a new run of the source): it starts at a packet boundary. */
  reset(): void {
    this.partial = 0;
  }

  push(chunk: Uint8Array): void {
    const len = chunk.length;
    if (this.partial >= 0) {
      const next = (TS_PACKET_SIZE - this.partial) % TS_PACKET_SIZE;
      if (next >= len) {
        this.partial = (this.partial + len) % TS_PACKET_SIZE;
        return;
      }
      if (chunk[next] === SYNC_BYTE) {
        this.partial = (len - next) % TS_PACKET_SIZE;
        return;
      }
      this.partial = -1;
    }
    this.find(chunk);
  }

  private find(chunk: Uint8Array): void {
    const len = chunk.length;
    const span = (FIND - 1) * TS_PACKET_SIZE;
    for (let p = 0; p < TS_PACKET_SIZE && p + span < len; p++) {
      let k = p;
      while (k < len && chunk[k] === SYNC_BYTE) k += TS_PACKET_SIZE;
      if (k >= len && k - p > span) {
        this.partial = (len - (k - TS_PACKET_SIZE)) % TS_PACKET_SIZE;
        return;
      }
    }
  }
}
