// Watches a source that is about to replace the one on the air (a planned switch: return to the
// primary, later timetables and overrides) for the moment it can take over cleanly: its video at
// a random access point (rap.ts). Until then the old source keeps playing; then the probe hands
// over the bytes a remuxer needs to start the new source right there:
//
//   PAT and PMT (the latest complete copies, so the remuxer knows the program at once)
//   + the packets from the last PCR of the program before the access point (the remuxer's
//     first anchor: without it the access point would fall before the new timeline begins)
//   + the access point and everything after it that has arrived.
//
// A program without video is ready at its first PCR once PAT and PMT are known. Packets are
// copied into one preallocated buffer; the probe lives only for the seconds a switch waits.

import { Framer } from './framer.js';
import { Demuxer } from './demux.js';
import type { ProgramInfo } from './demux.js';
import { TS_PACKET_SIZE, getPid, hasPcr, payloadUnitStart } from './packet.js';
import { PAT_PID } from './psi/pat.js';
import { codecFamily, isRandomAccess } from './rap.js';

/** Packets kept from the last PCR on (about 2.6 s at 6 Mbit/s); past that the probe waits on. */
const SPAN_PACKETS = 10_000;
/** Room kept for the rest of the chunk that makes the probe ready (a pipe read is ≤ 64 KiB). */
const REST_PACKETS = 512;
/** Packets kept of one PSI table (PAT or PMT) section. */
const PSI_PACKETS = 8;

export class SpliceProbe {
  private readonly framer: Framer;
  private readonly demux: Demuxer;
  private readonly span = new Uint8Array(SPAN_PACKETS * TS_PACKET_SIZE);
  private spanCount = 0;
  /** A PCR of the program opened the span. */
  private spanAnchored = false;
  private readonly pat = new Uint8Array(PSI_PACKETS * TS_PACKET_SIZE);
  private patCount = 0;
  private readonly pmt = new Uint8Array(PSI_PACKETS * TS_PACKET_SIZE);
  private pmtCount = 0;
  private pmtPid = -1;
  private pcrPid = -1;
  private videoPid = -1;
  private family = 0;
  private hasVideo = false;
  private isReady = false;

  constructor(program?: number) {
    this.demux = new Demuxer(program === undefined ? {} : { program }, {
      onProgram: (p) => this.onProgram(p),
    });
    this.framer = new Framer({ packet: (b, o) => this.packet(b, o) });
  }

  /** True once the source reached a point where it can take over. */
  get ready(): boolean {
    return this.isReady;
  }

  /** Takes source bytes; returns true when they made the probe ready. */
  push(chunk: Uint8Array): boolean {
    if (this.ready) return false;
    this.framer.push(chunk);
    return this.ready;
  }

  /**
   * The bytes to feed the remuxer after its splice() (PAT, PMT, the span from the last PCR);
   * the source's later chunks follow them. Valid until the next push.
   */
  handover(): Uint8Array {
    if (!this.ready) return new Uint8Array(0);
    const spanBytes = this.span.subarray(0, this.spanCount * TS_PACKET_SIZE);
    const tail = this.framer.pending();
    const out = new Uint8Array(
      (this.patCount + this.pmtCount) * TS_PACKET_SIZE + spanBytes.length + tail.length,
    );
    let at = 0;
    out.set(this.pat.subarray(0, this.patCount * TS_PACKET_SIZE), at);
    at += this.patCount * TS_PACKET_SIZE;
    out.set(this.pmt.subarray(0, this.pmtCount * TS_PACKET_SIZE), at);
    at += this.pmtCount * TS_PACKET_SIZE;
    out.set(spanBytes, at);
    at += spanBytes.length;
    out.set(tail, at);
    return out;
  }

  private onProgram(p: ProgramInfo): void {
    this.pmtPid = p.pmtPid;
    this.pcrPid = p.pcrPid;
    const v = p.streams.find((s) => s.kind === 'video');
    this.hasVideo = v !== undefined;
    this.videoPid = v ? v.pid : -1;
    this.family = v ? codecFamily(v.streamType, v.codec) : 0;
  }

  private packet(b: Uint8Array, o: number): void {
    if (this.ready) {
      // The rest of the chunk that made the probe ready: it follows the span.
      if (this.spanCount < SPAN_PACKETS) this.keep(b, o);
      return;
    }
    this.demux.process(b, o);
    const pid = getPid(b, o);
    if (pid === PAT_PID) this.patCount = this.keepPsi(this.pat, this.patCount, b, o);
    else if (pid === this.pmtPid) this.pmtCount = this.keepPsi(this.pmt, this.pmtCount, b, o);
    if (pid === this.pcrPid && hasPcr(b, o)) {
      this.spanCount = 0;
      this.spanAnchored = true;
    }
    if (!this.spanAnchored) return;
    this.keep(b, o);
    if (this.patCount === 0 || this.pmtCount === 0) return;
    if (this.hasVideo ? pid === this.videoPid && isRandomAccess(b, o, this.family) : true) {
      this.isReady = true;
    }
  }

  private keep(b: Uint8Array, o: number): void {
    if (!this.isReady && this.spanCount === SPAN_PACKETS - REST_PACKETS) {
      // Too long since the last PCR to hand over whole: start over at the next one.
      this.spanCount = 0;
      this.spanAnchored = false;
      return;
    }
    this.span.set(b.subarray(o, o + TS_PACKET_SIZE), this.spanCount * TS_PACKET_SIZE);
    this.spanCount++;
  }

  /** Keeps the packets of the latest section on a PSI PID (a new one starts at PUSI). */
  private keepPsi(store: Uint8Array, count: number, b: Uint8Array, o: number): number {
    if (payloadUnitStart(b, o)) count = 0;
    if (count === PSI_PACKETS) return count;
    store.set(b.subarray(o, o + TS_PACKET_SIZE), count * TS_PACKET_SIZE);
    return count + 1;
  }
}
