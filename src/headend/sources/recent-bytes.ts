// The last moments of a source run's bytes (SupervisedSource keeps them): a subscriber that goes
// on exactly where another stopped reading (a channel moved to another worker or rebuilt in
// place: its remuxer was cut before an input packet, Remuxer.cutAtNextAnchor) asks for the
// bytes from that packet on, and gets them before the live ones, so nothing between the old
// reader's cut and the new one's subscription is lost (make-before-break of the input).
//
// The bytes are copied into a ring that grows to what RECENT_MS holds (up to RECENT_BYTES), with
// the time of each chunk beside it: nothing is allocated per chunk and the chunks themselves
// die young. Kept by reference (an array of chunks), 0.5 s of every input outlived V8's young
// generation: the channel worker spent 16 % of its time in GC at 40 channels (bench/scale
// with --cpu-prof), and the array's shift() another 4 %. A new run of the source clears them
// (its bytes do not continue the old run's).

/** How long a chunk is kept: longer than a move or a rebuild takes from cut to subscription. */
export const RECENT_MS = 500;
/** At most this many bytes: 0.5 s up to 64 Mbit/s (a faster multiplex keeps less time). */
export const RECENT_BYTES = 4 << 20;

/** The ring's first size; it doubles while RECENT_MS of bytes do not fit. */
const FIRST_BYTES = 64 << 10;
/** Chunk marks kept (a chunk older than the oldest mark is gone): 5 ms batches for 5 s. */
const MARKS = 1024;

export class RecentBytes {
  private ring = new Uint8Array(0);
  /** Bytes ever pushed in this run, and the first of them still kept (absolute offsets). */
  private end = 0;
  private start = 0;
  /** Per chunk, oldest at `head`: where it starts (absolute) and when it came. */
  private readonly markAt = new Float64Array(MARKS);
  private readonly markMs = new Float64Array(MARKS);
  private head = 0;
  private marks = 0;

  push(chunk: Uint8Array, nowMs: number): void {
    // Forget the chunks older than RECENT_MS (the newest is always kept).
    while (this.marks > 0 && this.markMs[this.head]! < nowMs - RECENT_MS) this.dropMark();
    if (this.marks === MARKS) this.dropMark();
    const kept = this.end - this.start;
    if (kept + chunk.length > this.ring.length && this.ring.length < RECENT_BYTES) {
      let size = Math.max(this.ring.length, FIRST_BYTES);
      while (size < kept + chunk.length && size < RECENT_BYTES) size *= 2;
      this.grow(Math.min(size, RECENT_BYTES));
    }
    const cap = this.ring.length;
    const src = chunk.length > cap ? chunk.subarray(chunk.length - cap) : chunk;
    const at = (this.end + chunk.length - src.length) % cap;
    if (src.length <= cap - at) this.ring.set(src, at);
    else {
      const first = cap - at;
      this.ring.set(src.subarray(0, first), at);
      this.ring.set(src.subarray(first), 0);
    }
    const t = (this.head + this.marks) % MARKS;
    this.markAt[t] = this.end;
    this.markMs[t] = nowMs;
    this.marks++;
    this.end += chunk.length;
    if (this.start < this.end - cap) this.start = this.end - cap;
  }

  clear(): void {
    this.end = 0;
    this.start = 0;
    this.marks = 0;
  }

  /**
   * The bytes kept from the latest copy of `packet` (188 bytes: a PCR packet, unique in a run)
   * on, as one fresh buffer; null when it is not among them.
   */
  from(packet: Uint8Array): Uint8Array | null {
    if (this.end <= this.start) return null;
    const all = this.kept();
    const i = all.lastIndexOf(Buffer.from(packet.buffer, packet.byteOffset, packet.length));
    return i < 0 ? null : all.subarray(i);
  }

  /** What is kept, in order, as one fresh buffer. */
  private kept(): Buffer {
    const n = this.end - this.start;
    const all = Buffer.alloc(n);
    const cap = this.ring.length;
    const at = this.start % cap;
    const first = Math.min(n, cap - at);
    all.set(this.ring.subarray(at, at + first), 0);
    if (first < n) all.set(this.ring.subarray(0, n - first), first);
    return all;
  }

  /** The oldest chunk is gone: what is kept starts at the next one. */
  private dropMark(): void {
    this.head = (this.head + 1) % MARKS;
    this.marks--;
    const next = this.marks > 0 ? this.markAt[this.head]! : this.end;
    if (next > this.start) this.start = next;
  }

  /** A larger ring: absolute offset x of what is kept goes to x % size. */
  private grow(size: number): void {
    const next = new Uint8Array(size);
    if (this.end > this.start) {
      const all = this.kept();
      const at = this.start % size;
      const first = Math.min(all.length, size - at);
      next.set(all.subarray(0, first), at);
      if (first < all.length) next.set(all.subarray(first), 0);
    }
    this.ring = next;
  }
}
