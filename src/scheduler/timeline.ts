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
// The datagram size can change while running (setPacketsPerDatagram, a hot reload): the new size
// applies from the next datagram boundary of the old one, so no datagram is cut short, and the
// remuxer's PCR alignment (Remuxer.setMux pcrAlign) switches at the same packet.
//
// Pure: no Node imports. Bytes are copied once, into blocks of up to BLOCK_DATAGRAMS datagrams
// of one size that are never reused, so the views handed to drain() may be kept by the caller.

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
/**
 * Handed-out blocks kept for reuse. A channel fills a block every 64 datagrams (8 a second at
 * 5.5 Mbit/s); a fresh one each time was 84 KB allocated, zeroed and collected per block, most
 * of the main thread's garbage at 8 channels.
 */
const SPARE_BLOCKS = 2;
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
  /** Index of its first datagram, and of that datagram's first packet. */
  dg0: number;
  pkt0: number;
  /** Packets per datagram in this block. */
  n: number;
  /** Datagrams it holds: BLOCK_DATAGRAMS, fewer when the size changed after them. */
  cap: number;
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
  /** Packets per datagram of the blocks to come. */
  private n: number;
  /** Blocks holding the datagrams not yet handed out, in order. */
  private readonly blocks: Block[] = [];
  /** Blocks handed out whole, for store() to reuse. */
  private readonly spare: Block[] = [];
  /** Where the next block starts: datagram index and packet index. */
  private tailDg = 0;
  private tailPkt = 0;
  /** A size change waiting for its packet index (-1: none). */
  private switchAt = -1;
  private switchN = 0;
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
    this.n = checkSize(opts.packetsPerDatagram);
  }

  /**
   * Changes the packets per datagram from the next datagram boundary of the current size (the
   * first packet index ≥ packets received on its grid), which it returns. Called again before
   * that packet, the latest size wins at the same boundary.
   */
  setPacketsPerDatagram(packetsPerDatagram: number): number {
    const n = checkSize(packetsPerDatagram);
    if (this.switchAt < 0) {
      const last = this.blocks[this.blocks.length - 1];
      const [pkt0, cur] = last ? [last.pkt0, last.n] : [this.tailPkt, this.n];
      this.switchAt = pkt0 + Math.ceil((this.packets - pkt0) / cur) * cur;
    }
    this.switchN = n;
    return this.switchAt;
  }

  /** Feeds whole 188-byte packets; the view is read during the call only. */
  push(packets: Uint8Array): void {
    const count = Math.floor(packets.length / TS_PACKET_SIZE);
    let i = 0;
    while (i < count) {
      // Copied a run at a time (one view per run, none per packet), then the run's PCRs read.
      const run = this.store(packets, i, count - i);
      for (const end = i + run; i < end; i++) {
        const o = i * TS_PACKET_SIZE;
        if (hasPcr(packets, o)) {
          const pid = getPid(packets, o);
          if (this.pcrPid < 0) this.pcrPid = pid;
          if (pid === this.pcrPid)
            this.onPcr(this.packets, readPcrAt(packets, o + 6), discontinuityIndicator(packets, o));
        }
        this.packets++;
      }
    }
    this.limitPending();
  }

  /**
   * Hands out, in order, every complete datagram whose time is known. The bytes are valid only
   * during the call (their block is filled again later): copy them to keep them.
   */
  drain(out: (bytes: Uint8Array, pcr27: number) => void): void {
    while (this.nextOut < this.nextTimed) {
      const block = this.blocks[0];
      if (!block) return;
      const k = this.nextOut - block.dg0;
      if (k >= block.cap) {
        // Cut short by a size change after its last datagram had been handed out.
        this.blocks.shift();
        continue;
      }
      const dgBytes = block.n * TS_PACKET_SIZE;
      // Complete: its last packet has arrived.
      if (block.pkt0 + (k + 1) * block.n > this.packets) return;
      this.nextOut++;
      const done = k === block.cap - 1;
      if (done) this.blocks.shift();
      this.stats.datagrams++;
      out(block.bytes.subarray(k * dgBytes, (k + 1) * dgBytes), block.times[k]);
      if (done) this.recycle(block);
    }
  }

  /** Keeps a block no longer needed for store() to fill again. */
  private recycle(block: Block): void {
    if (this.spare.length < SPARE_BLOCKS) this.spare.push(block);
  }

  /** Packets received but not yet handed out in a datagram. */
  get pendingPackets(): number {
    const b = this.blocks[0];
    return this.packets - (b ? b.pkt0 + (this.nextOut - b.dg0) * b.n : this.tailPkt);
  }

  /**
   * Copies up to `max` packets from src's packet index `first` into the last block (a new one
   * when it is full) and returns how many: the run ends at the block's end or at a size change.
   * The packets are not counted yet (push does, as it reads their PCRs).
   */
  private store(src: Uint8Array, first: number, max: number): number {
    const p = this.packets;
    let last = this.blocks[this.blocks.length - 1];
    if (p === this.switchAt) {
      // The new size starts here: the block in use ends with the datagram before.
      if (last && p < last.pkt0 + last.cap * last.n) {
        last.cap = (p - last.pkt0) / last.n;
        this.tailDg = last.dg0 + last.cap;
        this.tailPkt = p;
      }
      this.n = this.switchN;
      this.switchAt = -1;
    }
    if (!last || p >= last.pkt0 + last.cap * last.n) {
      const bytes = BLOCK_DATAGRAMS * this.n * TS_PACKET_SIZE;
      let spare = this.spare.pop();
      while (spare && spare.bytes.length !== bytes) spare = this.spare.pop();
      if (spare) {
        spare.times.fill(NaN);
        spare.dg0 = this.tailDg;
        spare.pkt0 = this.tailPkt;
        spare.n = this.n;
        spare.cap = BLOCK_DATAGRAMS;
        last = spare;
      } else {
        last = {
          bytes: new Uint8Array(bytes),
          times: new Float64Array(BLOCK_DATAGRAMS).fill(NaN),
          dg0: this.tailDg,
          pkt0: this.tailPkt,
          n: this.n,
          cap: BLOCK_DATAGRAMS,
        };
      }
      this.blocks.push(last);
      this.tailDg += BLOCK_DATAGRAMS;
      this.tailPkt += BLOCK_DATAGRAMS * this.n;
    }
    let run = Math.min(max, last.pkt0 + last.cap * last.n - p);
    if (this.switchAt > p) run = Math.min(run, this.switchAt - p);
    const o = first * TS_PACKET_SIZE;
    last.bytes.set(src.subarray(o, o + run * TS_PACKET_SIZE), (p - last.pkt0) * TS_PACKET_SIZE);
    return run;
  }

  /** The block holding datagram d (undefined: dropped, or not started yet). */
  private blockOf(d: number): Block | undefined {
    for (const b of this.blocks) {
      if (d < b.dg0) return undefined;
      if (d < b.dg0 + b.cap) return b;
    }
    return undefined;
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
    for (;;) {
      const d = this.nextTimed;
      const block = this.blockOf(d);
      // Not started yet (its first packet is still to come): nothing more to time.
      if (!block) return;
      const start = block.pkt0 + (d - block.dg0) * block.n;
      if (start > idx) return;
      let t: number;
      if (start === this.lastIdx) t = this.lastPcr;
      else if (exactOnly) return;
      else t = this.lastPcr + (start - this.lastIdx) * this.rate;
      block.times[d - block.dg0] = t;
      this.nextTimed++;
    }
  }

  /** Without PCR nothing can be timed: drops whole blocks beyond the limit. */
  private limitPending(): void {
    while (this.pendingPackets > MAX_PENDING_PACKETS && this.blocks.length > 1) {
      const gone = this.blocks.shift()!;
      this.stats.droppedPackets += gone.cap * gone.n;
      const next = this.blocks[0].dg0;
      if (this.nextOut < next) this.nextOut = next;
      if (this.nextTimed < next) this.nextTimed = next;
    }
  }
}

function checkSize(packetsPerDatagram: number): number {
  const n = Math.floor(packetsPerDatagram);
  if (!(n >= 1 && n <= 7))
    throw new RangeError(`packetsPerDatagram must be 1..7, got ${packetsPerDatagram}`);
  return n;
}
