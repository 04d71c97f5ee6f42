// PCR-versus-arrival pairs of one captured flow, for the PCR jitter figures of the benches
// (pacing.ts, dvblast.ts): the PCRs of the first PID that carries one (ISO/IEC 13818-1
// §2.4.3.5), unwrapped across the 2^33 base wrap, each with its datagram's arrival time.

import { TS_PACKET_SIZE, getPcr, getPid, pcrDelta } from '../src/mpegts/packet.js';

export class PcrArrivals {
  /** Stream time of each PCR, s (unwrapped). */
  readonly xs: number[] = [];
  /** Arrival time of its datagram, s. */
  readonly ys: number[] = [];
  private pcrPid = -1;
  private lastRaw = -1;
  private unwrapped = 0;

  /** The TS packets of `d` from byte `off` on, which arrived at `ns`. */
  push(d: Uint8Array, off: number, ns: number): void {
    for (let o = off; o + TS_PACKET_SIZE <= d.length; o += TS_PACKET_SIZE) {
      const pcr = getPcr(d, o);
      if (pcr < 0) continue;
      const pid = getPid(d, o);
      if (this.pcrPid < 0) this.pcrPid = pid;
      if (pid !== this.pcrPid) continue;
      this.unwrapped = this.lastRaw < 0 ? pcr : this.unwrapped + pcrDelta(pcr, this.lastRaw);
      this.lastRaw = pcr;
      this.xs.push(this.unwrapped / 27e6);
      this.ys.push(ns / 1e9);
    }
  }
}
