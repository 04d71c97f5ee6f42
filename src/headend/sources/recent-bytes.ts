// The last moments of a source run's bytes (SupervisedSource keeps them): a subscriber that goes
// on exactly where another stopped reading (a channel moved to another worker or rebuilt in
// place: its remuxer was cut before an input packet, Remuxer.cutAtNextAnchor) asks for the
// bytes from that packet on, and gets them before the live ones, so nothing between the old
// reader's cut and the new one's subscription is lost (make-before-break of the input).
//
// Chunks are kept by reference (each source delivers fresh buffers: ffmpeg's stdout reads,
// the UDP receiver's batch copies), at most RECENT_MS and RECENT_BYTES of them; a new run of
// the source clears them (its bytes do not continue the old run's).

/** How long a chunk is kept: longer than a move or a rebuild takes from cut to subscription. */
export const RECENT_MS = 500;
/** At most this many bytes: 0.5 s up to 64 Mbit/s (a faster multiplex keeps less time). */
export const RECENT_BYTES = 4 << 20;

export class RecentBytes {
  private chunks: Uint8Array[] = [];
  private times: number[] = [];
  private bytes = 0;

  push(chunk: Uint8Array, nowMs: number): void {
    this.chunks.push(chunk);
    this.times.push(nowMs);
    this.bytes += chunk.length;
    while (
      this.chunks.length > 1 &&
      (this.bytes - this.chunks[0]!.length >= RECENT_BYTES || this.times[0]! < nowMs - RECENT_MS)
    ) {
      this.bytes -= this.chunks.shift()!.length;
      this.times.shift();
    }
  }

  clear(): void {
    this.chunks = [];
    this.times = [];
    this.bytes = 0;
  }

  /**
   * The bytes kept from the latest copy of `packet` (188 bytes: a PCR packet, unique in a run)
   * on, as one fresh buffer; null when it is not among them.
   */
  from(packet: Uint8Array): Uint8Array | null {
    if (this.chunks.length === 0) return null;
    const all = Buffer.concat(
      this.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)),
    );
    const at = all.lastIndexOf(Buffer.from(packet.buffer, packet.byteOffset, packet.length));
    return at < 0 ? null : all.subarray(at);
  }
}
