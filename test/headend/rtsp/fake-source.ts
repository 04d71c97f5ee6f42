// A stand-in for the daemon's pacer in the RTSP tests: implements RtspChannelSource over a real
// MPEG-TS clip (made by ffmpeg). Every channel plays the same clip, cut into datagrams of 7 TS
// packets, each due at its PCR time (PCR interpolated by packet position) and released by a
// 5 ms timer. Tap listeners get the TS bytes; destinations (and an RTP-output channel's own
// group) get RFC 2250 RTP (PT 33) from a UDP socket bound to rtpPort, one SSRC and sequence per
// channel, exactly as the daemon's pacing worker will send them.

import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { RtpWrapper, rtpTimestampFromPcr } from '../../../src/mpegts/rtp.js';
import type {
  DatagramListener,
  RtpDestination,
  RtpStreamState,
  RtspChannel,
  RtspChannelSource,
} from '../../../src/headend/rtsp/types.js';

const TS = 188;
const PER_DATAGRAM = 7;

interface ChannelState {
  ch: RtspChannel;
  wrapper: RtpWrapper;
  destinations: Map<string, RtpDestination>;
  taps: Set<DatagramListener>;
  packets: number;
  octets: number;
  rtpTime: number;
  atNs: number;
}

const nowNs = (): number => Number(process.hrtime.bigint());

/** PCR (27 MHz) of every packet of a TS file, interpolated between the PCRs of the first PCR PID. */
function packetPcrs(ts: Buffer): Float64Array {
  const n = Math.floor(ts.length / TS);
  const pcrs: Array<[number, number]> = [];
  let pcrPid = -1;
  for (let i = 0; i < n; i++) {
    const p = i * TS;
    const pid = ((ts[p + 1] & 0x1f) << 8) | ts[p + 2];
    const afc = (ts[p + 3] >> 4) & 3;
    if ((afc & 2) === 0 || ts[p + 4] < 7 || (ts[p + 5] & 0x10) === 0) continue;
    if (pcrPid < 0) pcrPid = pid;
    if (pid !== pcrPid) continue;
    const base =
      ts[p + 6] * 2 ** 25 +
      ts[p + 7] * 2 ** 17 +
      ts[p + 8] * 2 ** 9 +
      ts[p + 9] * 2 +
      (ts[p + 10] >> 7);
    const ext = ((ts[p + 10] & 1) << 8) | ts[p + 11];
    pcrs.push([i, base * 300 + ext]);
  }
  if (pcrs.length < 2) throw new Error('clip has fewer than two PCRs');
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    while (k < pcrs.length - 2 && pcrs[k + 1][0] <= i) k++;
    const [i0, c0] = pcrs[k];
    const [i1, c1] = pcrs[k + 1];
    out[i] = c0 + ((c1 - c0) * (i - i0)) / (i1 - i0);
  }
  return out;
}

export class FakeSource implements RtspChannelSource {
  readonly sentTo = new Map<string, number>();
  private readonly state = new Map<string, ChannelState>();
  private readonly clip: Buffer;
  private readonly pcrs: Float64Array;
  private readonly datagrams: number;
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private loop = 0;
  private t0 = 0;

  constructor(
    file: string,
    private readonly list: RtspChannel[],
    private readonly rtpPort: number,
  ) {
    this.clip = readFileSync(file);
    this.pcrs = packetPcrs(this.clip);
    this.datagrams = Math.floor(this.pcrs.length / PER_DATAGRAM);
    for (const ch of list) {
      this.state.set(ch.slug, {
        ch,
        wrapper: new RtpWrapper(),
        destinations: new Map(),
        taps: new Set(),
        packets: 0,
        octets: 0,
        rtpTime: 0,
        atNs: nowNs(),
      });
    }
  }

  async start(): Promise<void> {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.rtpPort, '127.0.0.1', () => resolve());
    });
    s.setMulticastInterface('127.0.0.1');
    s.setMulticastTTL(1);
    s.setMulticastLoopback(true);
    this.socket = s;
    this.t0 = nowNs();
    this.timer = setInterval(() => this.tick(), 5);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await new Promise<void>((r) => (this.socket ? this.socket.close(() => r()) : r()));
  }

  private dueNs(i: number): number {
    const span = this.pcrs[this.pcrs.length - 1] - this.pcrs[0];
    return this.t0 + ((this.pcrs[i * PER_DATAGRAM] - this.pcrs[0] + this.loop * span) * 1000) / 27;
  }

  private tick(): void {
    const now = nowNs();
    while (this.dueNs(this.next) <= now) {
      const i = this.next;
      const ts = this.clip.subarray(i * PER_DATAGRAM * TS, (i + 1) * PER_DATAGRAM * TS);
      const span = this.pcrs[this.pcrs.length - 1] - this.pcrs[0];
      const pcr27 = this.pcrs[i * PER_DATAGRAM] + this.loop * span;
      const due = this.dueNs(i);
      for (const st of this.state.values()) this.emit(st, ts, pcr27, due);
      this.next++;
      if (this.next >= this.datagrams) {
        this.next = 0;
        this.loop++;
      }
    }
  }

  private emit(st: ChannelState, ts: Buffer, pcr27: number, due: number): void {
    for (const l of st.taps) l(ts, pcr27, due);
    const rtpTime = rtpTimestampFromPcr(pcr27);
    const pkt = Buffer.from(st.wrapper.wrap(ts, rtpTime)); // dgram keeps the buffer until sent
    st.packets++;
    st.octets += ts.length;
    st.rtpTime = rtpTime;
    st.atNs = due;
    const out = st.ch.output;
    if (out.protocol === 'rtp') this.send(pkt, out.group, out.port);
    for (const d of st.destinations.values()) {
      this.send(pkt, d.address, d.port);
      this.sentTo.set(
        `${d.address}:${d.port}`,
        (this.sentTo.get(`${d.address}:${d.port}`) ?? 0) + 1,
      );
    }
  }

  private send(pkt: Buffer, address: string, port: number): void {
    this.socket?.send(pkt, port, address);
  }

  channels(): readonly RtspChannel[] {
    return this.list;
  }

  addDestination(slug: string, d: RtpDestination): Promise<void> {
    const st = this.state.get(slug);
    if (st === undefined) return Promise.reject(new Error(`no channel ${slug}`));
    st.destinations.set(d.id, d);
    return Promise.resolve();
  }

  removeDestination(slug: string, id: string): void {
    this.state.get(slug)?.destinations.delete(id);
  }

  destinations(slug: string): RtpDestination[] {
    return [...(this.state.get(slug)?.destinations.values() ?? [])];
  }

  rtpState(slug: string): RtpStreamState | undefined {
    const st = this.state.get(slug);
    if (st === undefined) return undefined;
    return {
      ssrc: st.wrapper.ssrc,
      nextSeq: st.wrapper.nextSequence,
      rtpTime: st.rtpTime,
      atNs: st.atNs,
      packets: st.packets,
      octets: st.octets,
    };
  }

  tap(slug: string, listener: DatagramListener): () => void {
    const st = this.state.get(slug);
    st?.taps.add(listener);
    return () => st?.taps.delete(listener);
  }
}
