// Cuts a remuxer's output into datagrams of N packets, each handed on with its output time: the
// time the remuxer gave a packet's slot when it laid it out (RemuxSink's `times`, 27 MHz,
// unwrapped) — of the first packet that carries a PCR, else of its first packet. The time
// travels with the bytes; nothing is parsed back out of PCR fields, and a datagram is handed on
// the moment its last packet arrives.
//
// ISO/IEC 13818-1 §2.4.2.2: a PCR names the time its packet arrives, and a datagram's packets
// all arrive at once. With the remuxer's pcrAlign equal to N every PCR opens a datagram, so its
// time is the first packet's. Where datagrams come too sparsely for that (CBR under ~300
// kbit/s: heads more than 35 ms apart, the PCR interval) the remuxer places PCRs anywhere, and
// a datagram timed by its first packet sent a PCR in packet k k slots early (so did every VBR
// output under ~900 kbit/s before the remuxer aligned VBR down to its floor: up to 26 ms, PCR
// jitter p50 6.7 ms on the example's Test Card). Timed by its PCR, the packets before the PCR
// leave up to 6 slots late instead, well within the decode margin (100 ms).
//
// The datagram size can change while running (setPacketsPerDatagram, a hot reload): the new size
// applies from the next datagram boundary of the old one, so no datagram is cut short, and the
// remuxer's PCR alignment (Remuxer.setMux pcrAlign) switches at the same packet.
//
// Pure: no Node imports. A datagram whose packets came in one push is handed on as a view of
// that push's bytes; only one whose packets straddle two pushes is copied (into `carry`). Either
// way the view is valid only during the call. The views are made once per position in the
// pushing buffer and kept (a remuxer pushes from the same buffer every time): a new view per
// datagram was the channel worker's largest garbage (~120 bytes a datagram, 25 MB in 14 s at
// 40 channels), and hot paths allocate nothing per packet.

import { TS_PACKET_SIZE, hasPcr } from '../mpegts/packet.js';

/** Receives one datagram: its bytes (valid during the call only) and its output time (27 MHz). */
export type DatagramOut = (bytes: Uint8Array, t27: number) => void;

export interface DatagramCutterOptions {
  /** TS packets per datagram (7 fill a 1500-byte MTU). */
  packetsPerDatagram: number;
}

/** A cutter's state (DatagramCutter.state): a datagram begun, its size, where a size change waits. */
export interface DatagramCutterState {
  n: number;
  /** The packets of the datagram begun (carried of them), and its time. */
  carry: Uint8Array;
  carryT: number;
  /** Whether carryT is a PCR packet's time (a later PCR then does not move it). */
  carryPcr: boolean;
  packets: number;
  switchAt: number;
  switchN: number;
  datagrams: number;
}

export class DatagramCutter {
  /** Datagrams handed on. */
  datagrams = 0;
  private n: number;
  /** The start of a datagram whose packets straddle pushes, and its time. */
  private readonly carry = new Uint8Array(7 * TS_PACKET_SIZE);
  private carried = 0;
  private carryT = 0;
  private carryPcr = false;
  /** Packets received so far (absolute index of the next one). */
  private packets = 0;
  /** A size change waiting for its packet index (-1: none). */
  private switchAt = -1;
  private switchN = 0;
  /** Views of the pushing buffer by byte offset (of the buffer `viewsOf`), and of `carry` by n. */
  private readonly views = new Map<number, Uint8Array>();
  private viewsOf: ArrayBufferLike | null = null;
  private readonly carryViews: Uint8Array[] = [];

  constructor(
    opts: DatagramCutterOptions,
    private out: DatagramOut,
  ) {
    this.n = checkSize(opts.packetsPerDatagram);
  }

  /** Hands datagrams to `out` from now on (a partial one included, when it completes). */
  setOut(out: DatagramOut): void {
    this.out = out;
  }

  /**
   * Changes the packets per datagram from the next datagram boundary of the current size (the
   * first packet index ≥ packets received on its grid), which it returns. Called again before
   * that packet, the latest size wins at the same boundary.
   */
  setPacketsPerDatagram(packetsPerDatagram: number): number {
    const n = checkSize(packetsPerDatagram);
    if (this.switchAt < 0)
      this.switchAt = this.packets + (this.carried > 0 ? this.n - this.carried : 0);
    this.switchN = n;
    return this.switchAt;
  }

  /** Its state, for a cutter that goes on in another thread (the datagram begun is copied). */
  state(): DatagramCutterState {
    return {
      n: this.n,
      carry: this.carry.slice(0, this.carried * TS_PACKET_SIZE),
      carryT: this.carryT,
      carryPcr: this.carryPcr,
      packets: this.packets,
      switchAt: this.switchAt,
      switchN: this.switchN,
      datagrams: this.datagrams,
    };
  }

  /** Goes on from another cutter's state(): the datagram it began completes here. */
  restore(s: DatagramCutterState): void {
    this.n = s.n;
    this.carry.set(s.carry);
    this.carried = s.carry.length / TS_PACKET_SIZE;
    this.carryT = s.carryT;
    this.carryPcr = s.carryPcr;
    this.packets = s.packets;
    this.switchAt = s.switchAt;
    this.switchN = s.switchN;
    this.datagrams = s.datagrams;
  }

  /** Packets received but not yet handed on (the start of the next datagram). */
  get pendingPackets(): number {
    return this.carried;
  }

  /** A RemuxSink: whole packets and their output times, read during the call only. */
  readonly push = (packets: Uint8Array, times: ArrayLike<number>): void => {
    const count = Math.floor(packets.length / TS_PACKET_SIZE);
    let i = 0;
    while (i < count) {
      if (this.carried === 0 && this.packets === this.switchAt) {
        this.n = this.switchN;
        this.switchAt = -1;
      }
      const n = this.n;
      if (this.carried > 0 || count - i < n) {
        if (this.carried === 0) {
          this.carryT = times[i];
          this.carryPcr = false;
        }
        const take = Math.min(n - this.carried, count - i);
        const o = i * TS_PACKET_SIZE;
        for (let j = 0; j < take && !this.carryPcr; j++) {
          if (!hasPcr(packets, o + j * TS_PACKET_SIZE)) continue;
          this.carryT = times[i + j];
          this.carryPcr = true;
        }
        this.carry.set(
          packets.subarray(o, o + take * TS_PACKET_SIZE),
          this.carried * TS_PACKET_SIZE,
        );
        this.carried += take;
        this.packets += take;
        i += take;
        if (this.carried < n) return;
        this.carried = 0;
        this.datagrams++;
        this.out((this.carryViews[n] ??= this.carry.subarray(0, n * TS_PACKET_SIZE)), this.carryT);
        continue;
      }
      const o = i * TS_PACKET_SIZE;
      let at = i;
      for (let j = 0; j < n; j++) {
        if (!hasPcr(packets, o + j * TS_PACKET_SIZE)) continue;
        at = i + j;
        break;
      }
      this.packets += n;
      i += n;
      this.datagrams++;
      this.out(this.view(packets, o, n * TS_PACKET_SIZE), times[at]);
    }
  };

  /** packets[o, o + len) as a view kept for that place of the pushing buffer. */
  private view(packets: Uint8Array, o: number, len: number): Uint8Array {
    const buf = packets.buffer;
    if (buf !== this.viewsOf || this.views.size > MAX_VIEWS) {
      this.views.clear();
      this.viewsOf = buf;
    }
    const at = packets.byteOffset + o;
    let v = this.views.get(at);
    if (v === undefined || v.length !== len) {
      v = new Uint8Array(buf, at, len);
      this.views.set(at, v);
    }
    return v;
  }
}

/** Views kept at most (then made afresh): a pushing buffer of up to ~1 MB of packets. */
const MAX_VIEWS = 6000;

function checkSize(packetsPerDatagram: number): number {
  const n = Math.floor(packetsPerDatagram);
  if (!(n >= 1 && n <= 7))
    throw new RangeError(`packetsPerDatagram must be 1..7, got ${packetsPerDatagram}`);
  return n;
}
