// Where a client that joins a running transport stream starts (HTTP-TS): it is given nothing
// until a PAT, then the PMT it names, then each elementary stream from the start of a PES
// (payload_unit_start_indicator, ISO/IEC 13818-1 §2.4.3.3), video from a random access point
// (rap.ts: random_access_indicator, or an IDR / IRAP / sequence header in the PES) when one
// comes within `rapWaitMs` of the PMT, else from its next PES. Other streams start with or
// after the video, so sound does not run ahead of the first picture. Sections (PSI/SI) go from
// their first payload_unit_start on; packets without payload (PCR only) from their PID's start
// (a separate PCR PID's always).
//
// Dropping what comes before a PID's first forwarded packet makes no continuity error for
// the client: it has seen no earlier counter on that PID. Once every stream has started
// (`started`), every packet goes as it is, and the caller can stop asking.

import { Demuxer, ROLE_PCR_ONLY } from './demux.js';
import { getPid, hasPayload, payloadUnitStart, TS_PACKET_SIZE } from './packet.js';
import { codecFamily, isRandomAccess } from './rap.js';

const MS27 = 27_000;

export class StreamStart {
  /** Every elementary stream has started: from here every packet is forwarded. */
  started = false;
  private readonly demux = new Demuxer();
  private readonly begun = new Uint8Array(8192);
  /** Output time (27 MHz) at which the PMT was first seen; NaN before. */
  private pmtAt = NaN;
  private videoBegun = false;

  constructor(private readonly rapWaitMs = 1000) {}

  /**
   * Whether the packet at b[o] goes to the client; `t27` is its datagram's output time (27 MHz,
   * the time the waits are measured in).
   */
  accept(b: Uint8Array, o: number, t27: number): boolean {
    if (this.started) return true;
    const r = this.demux.process(b, o);
    const pid = getPid(b, o);
    const p = this.demux.program;
    if (p === null) {
      // The PAT, and then the PMT (the packet that completes it makes `program` known).
      return pid === 0 && payloadUnitStart(b, o);
    }
    if (Number.isNaN(this.pmtAt)) this.pmtAt = t27;
    if (r === ROLE_PCR_ONLY || this.begun[pid] === 1) return true;
    // Before its first payload a PID's packets go nowhere, PCR-only ones too: their counters
    // follow payload the client never had (a decoder would count continuity errors).
    if (!hasPayload(b, o) || !payloadUnitStart(b, o)) return false;
    if (r < 0) {
      this.begun[pid] = 1; // a section starts here
      return true;
    }
    const s = p.streams[r]!;
    const waited = t27 - this.pmtAt > this.rapWaitMs * MS27;
    const hasVideo = p.streams.some((x) => x.kind === 'video');
    if (s.kind === 'video') {
      if (!waited && !isRandomAccess(b, o, codecFamily(s.streamType, s.codec))) return false;
      this.videoBegun = true;
    } else if (hasVideo && !this.videoBegun && !waited) {
      return false;
    }
    this.begun[pid] = 1;
    this.started = p.streams.every((x) => this.begun[x.pid] === 1);
    return true;
  }

  /**
   * The packets of a datagram (whole packets) that go to the client, copied to `out` at `at`;
   * returns the new end offset in `out`.
   */
  filter(dgram: Uint8Array, t27: number, out: Uint8Array, at: number): number {
    for (let o = 0; o + TS_PACKET_SIZE <= dgram.length; o += TS_PACKET_SIZE) {
      if (!this.accept(dgram, o, t27)) continue;
      out.set(dgram.subarray(o, o + TS_PACKET_SIZE), at);
      at += TS_PACKET_SIZE;
    }
    return at;
  }
}
