// Test helpers for the RTSP server over raw TCP: a stub channel source (no media) with two
// channels, and a client that writes hand-made requests (RFC 2326 §6) and reads responses
// (§7) one by one. Used by server.test.ts and abuse.test.ts.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import { connect, type Socket } from 'node:net';
import type { RtspServer } from '../../../src/headend/rtsp/server.js';
import type {
  RtpDestination,
  RtspChannel,
  RtspChannelSource,
} from '../../../src/headend/rtsp/types.js';

export const CHANNELS: RtspChannel[] = [
  {
    number: 7,
    name: 'Seven',
    provider: 'P',
    slug: 'seven',
    output: { protocol: 'udp', group: '239.255.50.7', port: 5000, ttl: 2 },
    companionGroup: '239.255.178.7',
  },
  {
    number: 8,
    name: 'Eight',
    provider: 'P',
    slug: 'eight',
    output: { protocol: 'udp', group: '127.0.0.1', port: 5002, ttl: 1 },
  },
];

export class StubSource implements RtspChannelSource {
  dest = new Map<string, RtpDestination>();
  channels = () => CHANNELS;
  addDestination = async (slug: string, d: RtpDestination) =>
    void this.dest.set(`${slug}/${d.id}`, d);
  removeDestination = (slug: string, id: string) => void this.dest.delete(`${slug}/${id}`);
  rtpState = () => ({
    ssrc: 0xcafe,
    nextSeq: 1234,
    rtpTime: 5000,
    atNs: Number(process.hrtime.bigint()),
    packets: 0,
    octets: 0,
  });
  tap = () => () => undefined;
}

/** A client that reads responses one by one. */
export class Client {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  static open(server: RtspServer): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect(server.address.port, '127.0.0.1', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  send(text: string): void {
    this.socket.write(text);
  }
  async response(): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const lines = this.buf.slice(0, end).split('\r\n');
        const headers = new Map(
          lines
            .slice(1)
            .map(
              (l) =>
                [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [
                  string,
                  string,
                ],
            ),
        );
        const len = Number(headers.get('content-length') ?? 0);
        if (this.buf.length >= end + 4 + len) {
          const body = this.buf.slice(end + 4, end + 4 + len);
          this.buf = this.buf.slice(end + 4 + len);
          return { status: Number(lines[0].split(' ')[1]), headers, body };
        }
      }
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  async request(method: string, uri: string, cseq: number, extra: string[] = []) {
    this.send([`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, ...extra, '', ''].join('\r\n'));
    return this.response();
  }
}
