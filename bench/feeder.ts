// A bench's input: a TS stream sent to udp://host:port in datagram-sized chunks (7 packets) at
// its own PCR pace (input.ts chunkTimes), from a timer every 2 ms. Shared by the benches that
// feed the real daemon one channel (rtsp-sessions.ts, http-clients.ts).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { TS_PACKET_SIZE } from '../src/mpegts/packet.js';
import { chunkTimes } from './input.js';

const TS_BYTES = 7 * TS_PACKET_SIZE;

/** Sends a TS stream to udp://host:port in datagram-sized chunks at its own PCR pace. */
export class Feeder {
  private readonly sock: UdpSocket = createSocket('udp4');
  private readonly times: Float64Array;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private anchorNs = 0;
  wraps = 0;

  constructor(
    private readonly ts: Uint8Array,
    private readonly port: number,
    private readonly host: string,
  ) {
    this.times = chunkTimes(ts, TS_BYTES);
  }

  start(): void {
    this.anchorNs = Number(process.hrtime.bigint());
    const tick = (): void => {
      const el = (Number(process.hrtime.bigint()) - this.anchorNs) / 1e9;
      while (this.times[this.next] <= el) {
        const at = this.next * TS_BYTES;
        this.sock.send(this.ts.subarray(at, at + TS_BYTES), this.port, this.host);
        if (++this.next === this.times.length) {
          // Past the end: start again (a discontinuity; the input is sized not to get here).
          this.next = 0;
          this.wraps++;
          this.anchorNs = Number(process.hrtime.bigint());
          break;
        }
      }
      this.timer = setTimeout(tick, 2);
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.sock.close();
  }
}
