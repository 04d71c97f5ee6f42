// HLS of one channel (RFC 8216): its remuxed output, as the channel's tap gives it, cut into
// MPEG-TS media segments of about `targetMs` at random access points of its video (rap.ts; a
// channel without video: at a PES start of its first stream), kept in memory, a sliding
// window of `window` segments in a live media playlist. Made once per channel, however many
// watch: no ffmpeg per viewer.
//
// - Each segment starts with the PAT and PMT (§3.2: SHOULD), copies of the last ones sent
//   (same bytes and counters: a duplicate packet, ISO/IEC 13818-1 §2.4.3.3), then the access
//   point's packet and what follows. Nothing is kept before the first access point.
// - Durations are output time (the datagrams' 27 MHz times) between segment starts; a segment
//   with no access point is cut at 3 × target. EXT-X-TARGETDURATION is the largest rounded-up
//   duration so far, so it never goes down (§6.2.1: it MUST NOT change... nor be exceeded).
// - Output time going back, or forward by more than MAX_PCR_STEP (a channel rebuilt on a new
//   timeline), starts a new segment marked EXT-X-DISCONTINUITY; EXT-X-DISCONTINUITY-SEQUENCE
//   counts those that left the window (§4.3.3.3).

import { createCipheriv } from 'node:crypto';
import { Demuxer, ROLE_PSI } from '../../mpegts/demux.js';
import { MAX_PCR_STEP, getPid, payloadUnitStart, TS_PACKET_SIZE } from '../../mpegts/packet.js';
import { codecFamily, isRandomAccess } from '../../mpegts/rap.js';

const HZ = 27e6;

export interface HlsSegment {
  seq: number;
  bytes: Buffer;
  durationS: number;
  discontinuity: boolean;
}

export interface SegmenterOptions {
  /** Target segment duration, ms (default 2000). */
  targetMs?: number;
  /** Segments in the playlist (default 6). */
  window?: number;
  /**
   * AES-128 (§4.3.2.4): each segment encrypted whole, AES-128-CBC with PKCS#7 padding, under
   * this 16-byte key, its IV the segment's media sequence number (128-bit big-endian, §5.2).
   */
  key?: Buffer;
  /**
   * The encoder puts a random access point at each segment boundary (the ladder's transcode,
   * ladder.ts): cut at every one that comes at least half a target after the segment's start.
   * The boundaries are then the encoder's, the same in every rung, and not lost to a PCR that
   * puts one a little under the target after the last (the segment would run to the next).
   */
  keyframeAligned?: boolean;
}

export class HlsSegmenter {
  private readonly targetTicks: number;
  /** How long a segment runs at least before an access point ends it. */
  private readonly minTicks: number;
  private readonly window: number;
  private readonly key: Buffer | undefined;
  private readonly demux = new Demuxer();
  private pat: Uint8Array | null = null;
  private pmt: Uint8Array | null = null;
  private readonly segments: HlsSegment[] = [];
  private nextSeq = 0;
  /** Discontinuities that left the window. */
  private discontinuitySeq = 0;
  private target = 1;
  // The open segment.
  private buf = new Uint8Array(1 << 20);
  private used = 0;
  private startT = NaN;
  private open = false;
  private openDiscontinuity = false;
  private lastT = NaN;

  constructor(o: SegmenterOptions = {}) {
    this.targetTicks = ((o.targetMs ?? 2000) / 1000) * HZ;
    this.minTicks = o.keyframeAligned ? this.targetTicks / 2 : this.targetTicks;
    this.window = Math.max(2, o.window ?? 6);
    this.key = o.key;
  }

  /** One datagram of the channel's output (bytes valid during the call) at output time t27. */
  datagram(ts: Uint8Array, t27: number): void {
    const jump = !Number.isNaN(this.lastT) && (t27 < this.lastT || t27 - this.lastT > MAX_PCR_STEP);
    this.lastT = t27;
    if (jump && this.open) {
      this.close(t27);
      this.openDiscontinuity = true;
    } else if (jump) this.openDiscontinuity = true;
    for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) {
      const r = this.demux.process(ts, o);
      const pid = getPid(ts, o);
      if (pid === 0 && payloadUnitStart(ts, o)) this.pat = ts.slice(o, o + TS_PACKET_SIZE);
      const p = this.demux.program;
      if (p === null) continue;
      if (r === ROLE_PSI && pid !== 0 && payloadUnitStart(ts, o) && this.isPmtPid(pid))
        this.pmt = ts.slice(o, o + TS_PACKET_SIZE);
      if (r >= 0 && payloadUnitStart(ts, o) && this.cutsHere(r, ts, o)) {
        const due = !this.open || t27 - this.startT >= this.minTicks;
        if (due) {
          if (this.open) this.close(t27);
          this.begin(t27);
        }
      } else if (this.open && t27 - this.startT >= 3 * this.targetTicks) {
        // No access point for too long: cut anyway (the next segment starts undecodable).
        this.close(t27);
        this.begin(t27);
      }
      if (this.open) this.append(ts, o);
    }
  }

  /**
   * The live media playlist; `uri(seq)` names a segment, `keyUri` the key (encrypted ones).
   * Null before the first segment.
   */
  playlist(uri: (seq: number) => string, keyUri = 'key'): string | null {
    if (this.segments.length === 0) return null;
    const list = this.segments.slice(-this.window);
    const before = this.segments.length - list.length;
    const dseq =
      this.discontinuitySeq + this.segments.slice(0, before).filter((s) => s.discontinuity).length;
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      `#EXT-X-TARGETDURATION:${this.target}`,
      `#EXT-X-MEDIA-SEQUENCE:${list[0]!.seq}`,
    ];
    if (dseq > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${dseq}`);
    if (this.key) lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="${keyUri}"`);
    for (const s of list) {
      if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
      lines.push(`#EXTINF:${s.durationS.toFixed(3)},`, uri(s.seq));
    }
    return lines.join('\n') + '\n';
  }

  segment(seq: number): HlsSegment | undefined {
    return this.segments.find((s) => s.seq === seq);
  }

  /** The highest bit rate of a segment in the window (EXT-X-STREAM-INF BANDWIDTH), bit/s. */
  get peakBps(): number {
    let peak = 0;
    for (const s of this.segments) peak = Math.max(peak, (s.bytes.length * 8) / s.durationS);
    return Math.round(peak);
  }

  /** Segments in the window now. */
  get count(): number {
    return this.segments.length;
  }

  private isPmtPid(pid: number): boolean {
    return this.demux.pat?.programs.some((x) => x.pid === pid) ?? false;
  }

  /** Whether a segment may start at this PES start of stream `r`. */
  private cutsHere(r: number, ts: Uint8Array, o: number): boolean {
    const streams = this.demux.program!.streams;
    const video = streams.findIndex((s) => s.kind === 'video');
    if (video < 0) return r === 0;
    if (r !== video) return false;
    const s = streams[video]!;
    return isRandomAccess(ts, o, codecFamily(s.streamType, s.codec));
  }

  private begin(t27: number): void {
    this.open = true;
    this.startT = t27;
    this.used = 0;
    if (this.pat) this.put(this.pat, 0);
    if (this.pmt) this.put(this.pmt, 0);
  }

  private append(ts: Uint8Array, o: number): void {
    this.put(ts, o);
  }

  /** Copies one packet into the open segment (a plain loop: no view per packet). */
  private put(b: Uint8Array, o: number): void {
    if (this.used + TS_PACKET_SIZE > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf.subarray(0, this.used));
      this.buf = bigger;
    }
    const dst = this.buf;
    const at = this.used;
    for (let k = 0; k < TS_PACKET_SIZE; k++) dst[at + k] = b[o + k]!;
    this.used += TS_PACKET_SIZE;
  }

  private close(t27: number): void {
    this.open = false;
    const durationS = Math.max(0.001, (t27 - this.startT) / HZ);
    this.target = Math.max(this.target, Math.ceil(durationS));
    const seq = this.nextSeq++;
    const plain = Buffer.from(this.buf.slice(0, this.used).buffer);
    this.segments.push({
      seq,
      bytes: this.key ? encrypt(plain, this.key, seq) : plain,
      durationS,
      discontinuity: this.openDiscontinuity,
    });
    this.openDiscontinuity = false;
    // One more than the window stays, for a client that read the playlist just before it slid.
    while (this.segments.length > this.window + 1) {
      const gone = this.segments.shift()!;
      if (gone.discontinuity) this.discontinuitySeq++;
    }
  }
}

/** AES-128-CBC with PKCS#7 padding, the IV the media sequence number (RFC 8216 §5.2). */
function encrypt(plain: Buffer, key: Buffer, seq: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(seq), 8);
  const c = createCipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([c.update(plain), c.final()]);
}
