// Is a source delivering transport stream? Counts bytes and what the Framer (ISO/IEC 13818-1
// sync with the TR 101 290 §5.2.1 acquisition rule) had to skip, and judges:
//   stall    no bytes at all for stallMs (startMs before the first byte of a run)
//   garbage  more than half of a ~1 MB window skipped, or bytes but no packet for stallMs
// Pure: time comes in as arguments.

import { Framer } from '../../mpegts/framer.js';

export const GARBAGE_WINDOW_BYTES = 1 << 20;

export class SourceHealth {
  private readonly framer: Framer;
  private packets = 0;
  private lastBytesAt = 0;
  private lastPacketAt = 0;
  private bytesSincePacket = 0;
  private windowBytes = 0;
  private windowSkipped = 0;
  /** Bytes seen in this run. */
  bytes = 0;

  constructor(private readonly windowSize = GARBAGE_WINDOW_BYTES) {
    this.framer = new Framer({ packet: () => this.packets++ }, 188 * 512);
  }

  /** A new run starts now. */
  reset(now: number): void {
    this.framer.reset();
    this.framer.bytesSkipped = 0;
    this.lastBytesAt = now;
    this.lastPacketAt = now;
    this.bytesSincePacket = 0;
    this.windowBytes = 0;
    this.windowSkipped = 0;
    this.bytes = 0;
  }

  /** Takes a chunk; returns 'garbage' when a full window was mostly not TS. */
  push(chunk: Uint8Array, now: number): 'garbage' | undefined {
    const before = this.packets;
    this.framer.push(chunk);
    this.bytes += chunk.length;
    this.lastBytesAt = now;
    if (this.packets !== before) {
      this.lastPacketAt = now;
      this.bytesSincePacket = 0;
    } else {
      this.bytesSincePacket += chunk.length;
    }
    this.windowBytes += chunk.length;
    if (this.windowBytes >= this.windowSize) {
      const skipped = this.framer.bytesSkipped - this.windowSkipped;
      this.windowSkipped = this.framer.bytesSkipped;
      const total = this.windowBytes;
      this.windowBytes = 0;
      if (skipped * 2 > total) return 'garbage';
    }
    return undefined;
  }

  /** Judges silence; `started` false means no byte yet in this run (startMs applies). */
  check(now: number, stallMs: number, startMs: number): 'stall' | 'garbage' | undefined {
    const limit = this.bytes === 0 ? Math.max(stallMs, startMs) : stallMs;
    if (now - this.lastBytesAt > limit) return 'stall';
    if (this.bytesSincePacket > 0 && now - this.lastPacketAt > stallMs) return 'garbage';
    return undefined;
  }

  /** Bytes the framer skipped in this run. */
  get skipped(): number {
    return this.framer.bytesSkipped;
  }
}
