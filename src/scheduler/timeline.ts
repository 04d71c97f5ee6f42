// Datagram timeline: cuts the remuxer's output into datagrams of N packets and gives each the
// output time of its first byte, as a decoder's system time clock would see it.
//
// ISO/IEC 13818-1 §2.4.2.2: between two consecutive PCRs the transport rate is constant, so the
// time of any byte is the linear interpolation of the two PCRs by byte position. A datagram's
// time is the time of its first packet; it is known once a PCR at or after that packet has been
// seen (and, for datagrams before the very first PCR, once a second PCR gives the rate to
// extrapolate back with). The tail after the last PCR waits for the next one.
//
// PCRs are read from the stream itself: the first PID seen carrying a PCR is the clock (the
// remuxer's output has exactly one). Values are unwrapped across 2^33·300 into one increasing
// double. A step that is backwards, longer than MAX_PCR_STEP, or flagged with
// discontinuity_indicator starts a new timeline: the datagrams before it are timed with the last
// known rate from the previous PCR, and the unwrapped value carries the jump (ClockMap
// re-anchors on it).
//
// Pure: no Node imports. Bytes are copied once, into blocks of BLOCK_DATAGRAMS datagrams that
// are never reused, so the views handed to drain() may be kept by the caller.

import {
  PCR_HZ,
  TS_PACKET_SIZE,
  discontinuityIndicator,
  getPid,
  hasPcr,
  pcrDelta,
  readPcrAt,
} from '../mpegts/packet.js';

/** A PCR step longer than this is a new timeline, not an interval (the remuxer's are ≤ 40 ms). */
const MAX_PCR_STEP = PCR_HZ; // 1 s
/** Datagrams per storage block. */
const BLOCK_DATAGRAMS = 64;
/** Untimed packets held at most (a stream without PCR); older ones are dropped and counted. */
const MAX_PENDING_PACKETS = 65536;

export interface DatagramTimelineOptions {
  /** TS packets per datagram (7 fill a 1500-byte MTU). */
  packetsPerDatagram: number;
}

interface Block {
  bytes: Uint8Array;
  /** Time of each datagram's first packet (27 MHz, unwrapped), NaN until known. */
  times: Float64Array;
}

export interface DatagramTimelineStats {
  datagrams: number;
  pcrs: number;
  /** PCR steps that started a new timeline (backwards, > 1 s, discontinuity_indicator). */
  discontinuities: number;
  /** Packets dropped because no PCR arrived to time them. */
  droppedPackets: number;
}

export class DatagramTimeline {
  readonly stats: DatagramTimelineStats = {
    datagrams: 0,
    pcrs: 0,
    discontinuities: 0,
    droppedPackets: 0,
  };
  private readonly n: number;
  private readonly dgBytes: number;
  private readonly blockBytes: number;
  /** Blocks holding datagrams from index `firstDg` on; blocks[0] starts at baseDg. */
  private readonly blocks: Block[] = [];
  private baseDg = 0;
  /** Packets received so far (absolute packet index of the next packet). */
  private packets = 0;
  /** Next datagram to hand out, and first datagram whose time is not yet known. */
  private nextOut = 0;
  private nextTimed = 0;

  private pcrPid = -1;
  private havePcr = false;
  /** Last PCR: packet index, raw value, unwrapped value. */
  private lastIdx = 0;
  private lastRaw = 0;
  private lastPcr = 0;
  /** Ticks per packet of the last regular interval; 0 until one is known. */
  private rate = 0;

  constructor(opts: DatagramTimelineOptions) {
    const n = Math.floor(opts.packetsPerDatagram);
    if (!(n >= 1 && n <= 7))
      throw new RangeError(`packetsPerDatagram must be 1..7, got ${opts.packetsPerDatagram}`);
    this.n = n;
    this.dgBytes = n * TS_PACKET_SIZE;
    this.blockBytes = this.dgBytes * BLOCK_DATAGRAMS;
  }

  /** Feeds whole 188-byte packets; the view is read during the call only. */
  push(packets: Uint8Array): void {
    const count = Math.floor(packets.length / TS_PACKET_SIZE);
    for (let i = 0; i < count; i++) {
      const o = i * TS_PACKET_SIZE;
      this.store(packets, o);
      if (hasPcr(packets, o)) {
        const pid = getPid(packets, o);
        if (this.pcrPid < 0) this.pcrPid = pid;
        if (pid === this.pcrPid)
          this.onPcr(this.packets, readPcrAt(packets, o + 6), discontinuityIndicator(packets, o));
      }
      this.packets++;
    }
    this.limitPending();
  }

  /** Hands out, in order, every complete datagram whose time is known. */
  drain(out: (bytes: Uint8Array, pcr27: number) => void): void {
    const completeDgs = Math.floor(this.packets / this.n);
    const last = Math.min(this.nextTimed, completeDgs);
    while (this.nextOut < last) {
      const d = this.nextOut++;
      const block = this.blocks[Math.floor((d - this.baseDg) / BLOCK_DATAGRAMS)];
      const k = (d - this.baseDg) % BLOCK_DATAGRAMS;
      const at = k * this.dgBytes;
      const time = block.times[k];
      if (k === BLOCK_DATAGRAMS - 1) {
        this.blocks.shift();
        this.baseDg += BLOCK_DATAGRAMS;
      }
      this.stats.datagrams++;
      out(block.bytes.subarray(at, at + this.dgBytes), time);
    }
  }

  /** Packets received but not yet handed out in a datagram. */
  get pendingPackets(): number {
    return this.packets - this.nextOut * this.n;
  }

  private store(src: Uint8Array, o: number): void {
    const pos = this.packets * TS_PACKET_SIZE - this.baseDg * this.dgBytes;
    const bi = Math.floor(pos / this.blockBytes);
    if (bi === this.blocks.length) {
      this.blocks.push({
        bytes: new Uint8Array(this.blockBytes),
        times: new Float64Array(BLOCK_DATAGRAMS).fill(NaN),
      });
    }
    this.blocks[bi].bytes.set(src.subarray(o, o + TS_PACKET_SIZE), pos - bi * this.blockBytes);
  }

  /** A PCR `raw` on the packet with absolute index `idx`. */
  private onPcr(idx: number, raw: number, discontinuity: boolean): void {
    this.stats.pcrs++;
    if (!this.havePcr) {
      this.havePcr = true;
      this.lastIdx = idx;
      this.lastRaw = raw;
      this.lastPcr = raw;
      // Datagrams starting exactly here are timed; earlier ones wait for a rate.
      this.timeUpTo(idx, true);
      return;
    }
    const step = pcrDelta(raw, this.lastRaw);
    const pcr = this.lastPcr + step;
    const packets = idx - this.lastIdx;
    if (discontinuity || step <= 0 || step > MAX_PCR_STEP || packets <= 0) {
      // The old timeline ends here: datagrams before this packet keep the last known rate.
      this.stats.discontinuities++;
    } else {
      // First rate known: datagrams before the first PCR are extrapolated back with it.
      this.rate = step / packets;
    }
    this.timeUpTo(idx - 1, false);
    this.lastIdx = idx;
    this.lastRaw = raw;
    this.lastPcr = pcr;
    // A datagram starting on this packet is timed by this PCR itself, exactly.
    this.timeUpTo(idx, true);
  }

  /**
   * Times datagrams whose first packet index ≤ idx from the last PCR and rate, by byte position
   * (exactOnly: only a datagram starting exactly on the last PCR's packet).
   */
  private timeUpTo(idx: number, exactOnly: boolean): void {
    while (this.nextTimed * this.n <= idx) {
      const d = this.nextTimed;
      const start = d * this.n;
      let t: number;
      if (start === this.lastIdx) t = this.lastPcr;
      else if (exactOnly) return;
      else t = this.lastPcr + (start - this.lastIdx) * this.rate;
      if (d < this.baseDg) {
        // Dropped while waiting for a PCR.
        this.nextTimed++;
        continue;
      }
      const block = this.blocks[Math.floor((d - this.baseDg) / BLOCK_DATAGRAMS)];
      if (block) block.times[(d - this.baseDg) % BLOCK_DATAGRAMS] = t;
      this.nextTimed++;
    }
  }

  /** Without PCR nothing can be timed: drops whole blocks beyond the limit. */
  private limitPending(): void {
    while (this.packets - this.nextOut * this.n > MAX_PENDING_PACKETS && this.blocks.length > 1) {
      this.blocks.shift();
      this.baseDg += BLOCK_DATAGRAMS;
      this.stats.droppedPackets += BLOCK_DATAGRAMS * this.n;
      if (this.nextOut < this.baseDg) this.nextOut = this.baseDg;
      if (this.nextTimed < this.baseDg) this.nextTimed = this.baseDg;
    }
  }
}
