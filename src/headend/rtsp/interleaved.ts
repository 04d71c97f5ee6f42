// RTP over the RTSP TCP connection (RFC 2326 §10.12): each RTP (and RTCP) packet is framed as
//
//   '$' (0x24) | channel (1 byte) | length (2 bytes, big endian) | RTP or RTCP packet
//
// One sender per TCP session, fed from the channel's datagram tap: its own SSRC and sequence
// (RFC 3550 §5.1, random starts), RTP timestamp = floor(pcr27 / 300) mod 2^32 (RFC 2250 §2,
// the same clock as the channel's RTP), payload = the datagram's TS packets. Each datagram is
// written as soon as the tap delivers it (TCP is not paced on the wire; the client buffers).
//
// A slow reader never slows anyone else: when the socket already holds more than
// `maxBuffered` unsent bytes the packet is dropped and counted; the server disconnects a
// session that keeps dropping (see `droppingSinceNs`). Frames are carved from a 64 KiB slab
// that is replaced when full, so there is no allocation per packet beyond the view handed to
// socket.write (which keeps a reference until the bytes are sent).

import type { Socket } from 'node:net';
import { writeRtpHeader, RTP_HEADER_SIZE } from '../../mpegts/rtp.js';

const SLAB_SIZE = 64 * 1024;

export class InterleavedSender {
  readonly ssrc: number;
  /** Sequence number of the next RTP packet (16 bits). */
  seq: number;
  packets = 0;
  octets = 0;
  dropped = 0;
  /** RTP timestamp and monotonic due time of the last packet written (for RTCP SR). */
  lastRtpTime = 0;
  lastDueNs = 0;
  /** Monotonic ns when the current run of drops began, 0 when not dropping. */
  droppingSinceNs = 0;
  private slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private off = 0;

  constructor(
    private readonly socket: Socket,
    private readonly channels: readonly [number, number],
    private readonly maxBuffered: number,
    random: () => number = () => Math.floor(Math.random() * 0x1_0000_0000),
  ) {
    this.ssrc = random() >>> 0;
    this.seq = random() & 0xffff;
  }

  /** The tap listener (bound, so it can be passed as is). */
  readonly onDatagram = (ts: Uint8Array, pcr27: number, dueNs: number): void => {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > this.maxBuffered) {
      this.dropped++;
      if (this.droppingSinceNs === 0) this.droppingSinceNs = Number(process.hrtime.bigint());
      return;
    }
    this.droppingSinceNs = 0;
    const size = 4 + RTP_HEADER_SIZE + ts.length;
    const frame = this.take(size);
    const timestamp = Math.floor(pcr27 / 300) % 0x1_0000_0000;
    frame[0] = 0x24;
    frame[1] = this.channels[0];
    frame.writeUInt16BE(size - 4, 2);
    writeRtpHeader(frame, 4, { sequence: this.seq, timestamp, ssrc: this.ssrc });
    frame.set(ts, 4 + RTP_HEADER_SIZE);
    this.seq = (this.seq + 1) & 0xffff;
    this.packets++;
    this.octets += ts.length;
    this.lastRtpTime = timestamp;
    this.lastDueNs = dueNs;
    this.socket.write(frame);
  };

  /** Writes an RTCP packet on the RTCP channel (skipped when the socket is backed up). */
  sendRtcp(packet: Buffer): boolean {
    if (this.socket.destroyed || this.socket.writableLength > this.maxBuffered) return false;
    const head = Buffer.from([0x24, this.channels[1], packet.length >> 8, packet.length & 0xff]);
    this.socket.write(Buffer.concat([head, packet]));
    return true;
  }

  private take(size: number): Buffer {
    if (this.off + size > SLAB_SIZE) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.off = 0;
    }
    const b = this.slab.subarray(this.off, this.off + size);
    this.off += size;
    return b;
  }
}
